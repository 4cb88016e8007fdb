package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	circuitproto "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
)

// Reaching peers behind NATs. Every node:
//
//   - answers AutoNAT probes, so that Parley nodes learn whether they are
//     reachable with no public infrastructure of anyone's (go-libp2p only
//     asks peers that offer the service, and offers none by default);
//   - serves as a circuit relay v2 once AutoNAT finds it publicly reachable
//     (go-libp2p starts the relay service on that verdict and stops it on
//     any other);
//   - uses AutoRelay once AutoNAT finds it unreachable: it reserves a slot
//     on a relay among its bootstrap peers and connected peers, and
//     announces the relayed addresses instead of its public ones;
//   - hole punches (DCUtR) a relayed connection into a direct one where the
//     NATs allow it, and logs how that ended (holePunchLog).
//
// Config.RelayService skips the verdict: the node takes itself to be
// public, for a community's always-on node with a public address.

// Relay service limits, per relayed connection and direction. go-libp2p's
// default of 128 KiB is meant for hole punching only; Parley also sends
// direct messages over relays (a backlog can exceed 128 KiB), never files.
const (
	relayData     = 1 << 20
	relayDuration = 2 * time.Minute
)

// AutoRelay tuning for small communities, which may have a single
// always-on node: go-libp2p's defaults wait for four candidates, or three
// minutes, before reserving a slot, and back off an hour from a relay that
// refused one.
const (
	relayMinCandidates = 1
	relayBackoff       = 5 * time.Minute
)

// relayOptions are the libp2p options for AutoNAT, relaying, hole punching
// and port mapping.
func relayOptions(cfg hostConfig) []libp2p.Option {
	rc := relayv2.DefaultResources()
	rc.Limit = &relayv2.RelayLimit{Duration: relayDuration, Data: relayData}
	opts := []libp2p.Option{
		libp2p.EnableNATService(),
		libp2p.EnableRelayService(relayv2.WithResources(rc)),
		libp2p.EnableAutoRelayWithPeerSource(cfg.relays.candidates,
			autorelay.WithMinCandidates(relayMinCandidates),
			autorelay.WithBackoff(relayBackoff)),
		libp2p.EnableHolePunching(holepunch.WithMetricsTracer(holePunchLog{cfg.log})),
	}
	if cfg.relayService {
		opts = append(opts, libp2p.ForceReachabilityPublic())
	} else if cfg.earlyRelay != nil {
		opts = append(opts, libp2p.AddrsFactory(cfg.earlyRelay.addrsFactory))
	}
	if cfg.natPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	return opts
}

// relaySource feeds AutoRelay its candidates: bootstrap peers first (a
// community's always-on nodes), then connected peers that offer the relay
// protocol, which only publicly reachable nodes do.
type relaySource struct {
	bootstrap []peer.AddrInfo
	host      atomic.Pointer[host.Host] // nil until the host is built
}

// candidates is an autorelay.PeerSource: at most num peers on a closed
// channel. It never blocks.
func (s *relaySource) candidates(_ context.Context, num int) <-chan peer.AddrInfo {
	out := make(chan peer.AddrInfo, num)
	defer close(out)
	seen := make(map[peer.ID]bool)
	add := func(ai peer.AddrInfo) bool {
		if len(seen) == num {
			return false
		}
		if !seen[ai.ID] {
			seen[ai.ID] = true
			out <- ai
		}
		return true
	}
	for _, ai := range s.bootstrap {
		if !add(ai) {
			return out
		}
	}
	hp := s.host.Load()
	if hp == nil {
		return out
	}
	h := *hp
	for _, p := range h.Network().Peers() {
		if ok, err := h.Peerstore().SupportsProtocols(p, circuitproto.ProtoIDv2Hop); err != nil || len(ok) == 0 {
			continue
		}
		if !add(peer.AddrInfo{ID: p, Addrs: h.Peerstore().Addrs(p)}) {
			break
		}
	}
	return out
}

// relayedStreams lets a service open streams over a limited (relayed)
// connection, where go-libp2p would otherwise wait for a direct one: direct
// messages are small, and must flow between two peers behind NATs that hole
// punching cannot cross. (Files do not use it: they wait for a direct
// connection.)
type relayedStreams struct{ host.Host }

func (h relayedStreams) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	return h.Host.NewStream(network.WithAllowLimitedConn(ctx, "parley direct messages"), p, pids...)
}

// lookUp runs find (a DHT lookup of p) until it ends or p connects. A
// lookup that reaches p through a relay would otherwise go on to query p
// itself over that relayed connection, and go-libp2p holds such a query
// until hole punching gives a direct connection, or for half a minute
// when it cannot.
func (n *Node) lookUp(ctx context.Context, p peer.ID, find func(context.Context, peer.ID) (peer.AddrInfo, error)) (peer.AddrInfo, error) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reached := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == p {
			cancel()
		}
	}}
	n.host.Network().Notify(reached)
	defer n.host.Network().StopNotify(reached)
	ai, err := find(lctx, p)
	if err != nil && ctx.Err() == nil {
		if reachable(n.host.Network().Connectedness(p)) {
			return n.host.Peerstore().PeerInfo(p), nil
		}
	}
	return ai, err
}

// holePunchLog logs how hole punching ended: go-libp2p reports the outcome
// only to a metrics tracer. The side that starts hole punching (the one
// that received the relayed connection) reports once, after its last
// attempt; the other side after each attempt, at debug level.
type holePunchLog struct{ log *slog.Logger }

func (l holePunchLog) HolePunchFinished(side string, attempts int, theirAddrs, _ []ma.Multiaddr, direct network.ConnMultiaddrs) {
	level := slog.LevelInfo
	if side != "initiator" {
		level = slog.LevelDebug
	}
	if direct != nil {
		l.log.Log(context.Background(), level, "hole punching succeeded: direct connection", "remote", direct.RemoteMultiaddr(), "attempts", attempts)
		return
	}
	l.log.Log(context.Background(), level, "hole punching failed: the relay carries the connection", "their_addrs", theirAddrs, "attempts", attempts)
}

func (holePunchLog) DirectDialFinished(bool) {}

// Reserving a relay slot at once. AutoNAT v1 reaches its first verdict
// only after its dial-back times out (15 s on the serving side, not
// configurable), and go-libp2p starts AutoRelay, and announces relayed
// addresses, only on a verdict of "private": a node behind a NAT could not
// be reached for some 20 s after it started. So, until the first verdict,
// every node (but a --relay-service one, public by decree) reserves a slot
// and announces the relayed addresses beside its others: a peer that can
// dial a direct address does (go-libp2p ranks relayed addresses last), and
// one behind a NAT gets through the relay at once. On "public" AutoRelay
// stops and the relayed addresses go; on "private" go-libp2p announces
// them itself, as before.
//
// go-libp2p's address manager adds relayed addresses only on "private", so
// earlyRelay adds them through the host's AddrsFactory while the verdict is
// unknown. It learns them from AutoRelay's event, which the address manager
// may handle first; so after each change earlyRelay re-emits the addresses
// it holds, which makes the manager compute the host's addresses again.
type earlyRelay struct {
	// verdict: AutoNAT has spoken (or the node is public by decree).
	verdict atomic.Bool
	// punchReady: the host answers hole punching (DCUtR). go-libp2p's
	// hole punching service registers its handler only once it sees a
	// public address of the host's own, polling on a back-off; and the
	// side that receives a relayed connection tries hole punching once,
	// when it connects. So relayed addresses are announced, and relayed
	// dials made, only once this host can answer, or after
	// holePunchGrace (a host with no public address will never answer).
	punchReady atomic.Bool
	started    time.Time
	addrs      atomic.Pointer[[]ma.Multiaddr] // AutoRelay's latest
}

// holePunchGrace bounds how long a new node holds back relayed dials for
// its hole punching service to come up (within a second where the host
// has a public address; never where it has none).
const holePunchGrace = 2 * time.Second

func newEarlyRelay() *earlyRelay { return &earlyRelay{started: time.Now()} }

// addrsFactory is the host's AddrsFactory: addrs, and while reachability is
// unknown the relayed addresses not among them.
func (e *earlyRelay) addrsFactory(addrs []ma.Multiaddr) []ma.Multiaddr {
	if e.verdict.Load() || !e.punchReady.Load() {
		return addrs
	}
	relayed := e.addrs.Load()
	if relayed == nil {
		return addrs
	}
	out := slices.Clone(addrs)
	for _, a := range *relayed {
		if !slices.ContainsFunc(out, a.Equal) {
			out = append(out, a)
		}
	}
	return out
}

// start makes AutoRelay start now, and keeps addrsFactory current until
// ctx ends. AutoRelay starts its relay finder on an "unknown" reachability
// event too, which AutoNAT never sends (unknown is where it begins).
func (e *earlyRelay) start(ctx context.Context, wg *sync.WaitGroup, h host.Host, log *slog.Logger) error {
	sub, err := h.EventBus().Subscribe([]any{new(event.EvtLocalReachabilityChanged), new(event.EvtAutoRelayAddrsUpdated), new(event.EvtLocalProtocolsUpdated)},
		eventbus.Name("parley early relay"))
	if err != nil {
		return fmt.Errorf("subscribing to reachability: %w", err)
	}
	relayAddrs, err := h.EventBus().Emitter(new(event.EvtAutoRelayAddrsUpdated), eventbus.Stateful)
	if err != nil {
		sub.Close()
		return fmt.Errorf("relay address emitter: %w", err)
	}
	reach, err := h.EventBus().Emitter(new(event.EvtLocalReachabilityChanged), eventbus.Stateful)
	if err != nil {
		sub.Close()
		relayAddrs.Close()
		return fmt.Errorf("reachability emitter: %w", err)
	}
	// A stateful subscription delivers an earlier verdict first; the
	// "unknown" is sent only when there was none (AutoNAT waits 15 s
	// before its first probe, so none can come in between).
	prior, err := h.EventBus().Subscribe(new(event.EvtLocalReachabilityChanged), eventbus.Name("parley early relay: prior verdict"))
	if err != nil {
		sub.Close()
		relayAddrs.Close()
		reach.Close()
		return fmt.Errorf("subscribing to reachability: %w", err)
	}
	select {
	case <-prior.Out():
	default:
		if err := reach.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityUnknown}); err != nil {
			log.Warn("starting AutoRelay before AutoNAT's verdict", "err", err)
		}
	}
	prior.Close()
	reach.Close()
	if slices.Contains(h.Mux().Protocols(), holepunch.Protocol) {
		e.handle(event.EvtLocalProtocolsUpdated{Added: []protocol.ID{holepunch.Protocol}}, relayAddrs, log)
	}
	wg.Go(func() {
		defer relayAddrs.Close()
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-sub.Out():
				e.handle(ev, relayAddrs, log)
			}
		}
	})
	return nil
}

// handle takes one event. After any change it re-emits the relayed
// addresses it holds, the latest it has seen, so the address manager
// computes the host's addresses again with the factory's new view (and,
// events coming in order, ends on AutoRelay's latest list).
func (e *earlyRelay) handle(ev any, relayAddrs event.Emitter, log *slog.Logger) {
	switch ev := ev.(type) {
	case event.EvtLocalReachabilityChanged:
		known := ev.Reachability != network.ReachabilityUnknown
		if e.verdict.Swap(known) == known {
			return
		}
	case event.EvtLocalProtocolsUpdated:
		if !slices.Contains(ev.Added, holepunch.Protocol) || e.punchReady.Swap(true) {
			return
		}
		log.Debug("hole punching ready", "after", time.Since(e.started))
	case event.EvtAutoRelayAddrsUpdated:
		if held := e.addrs.Load(); held != nil && slices.EqualFunc(*held, ev.RelayAddrs, ma.Multiaddr.Equal) {
			return // our own re-emission, or no change
		}
		addrs := slices.Clone(ev.RelayAddrs)
		e.addrs.Store(&addrs)
		if !e.verdict.Load() {
			log.Debug("relay slot reserved before AutoNAT's verdict", "addrs", addrs)
		}
	}
	held := e.addrs.Load()
	if held == nil {
		return
	}
	if err := relayAddrs.Emit(event.EvtAutoRelayAddrsUpdated{RelayAddrs: slices.Clone(*held)}); err != nil {
		log.Warn("updating the host's addresses", "err", err)
	}
}

// dialGate holds back relayed dials until the host answers hole punching
// (earlyRelay.punchReady): the peer that receives a relayed connection
// tries hole punching at once, and only once.
type dialGate struct {
	connmgr.ConnectionGater // nil: every peer may connect
	early                   *earlyRelay
}

func (g dialGate) InterceptPeerDial(p peer.ID) bool {
	return g.ConnectionGater == nil || g.ConnectionGater.InterceptPeerDial(p)
}

func (g dialGate) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	if !g.early.punchReady.Load() && time.Since(g.early.started) < holePunchGrace && isRelayed(a) {
		return false
	}
	return g.ConnectionGater == nil || g.ConnectionGater.InterceptAddrDial(p, a)
}

func (g dialGate) InterceptAccept(c network.ConnMultiaddrs) bool {
	return g.ConnectionGater == nil || g.ConnectionGater.InterceptAccept(c)
}

func (g dialGate) InterceptSecured(d network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	return g.ConnectionGater == nil || g.ConnectionGater.InterceptSecured(d, p, c)
}

func (g dialGate) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if g.ConnectionGater == nil {
		return true, 0
	}
	return g.ConnectionGater.InterceptUpgraded(c)
}

// DHT filters: a peer that announces a relayed address (one behind a NAT,
// or one that does not know yet, earlyRelay) is neither queried nor kept in
// the routing table. Reached through the relay, a DHT query waits for hole
// punching; and while reachability is unknown such peers serve the DHT,
// so lookups would otherwise connect every node behind a NAT to every
// other through the relay and punch holes between them, which also feeds
// AutoNAT wrong verdicts (a dial-back through a punched hole succeeds).
// kad-dht still dials the peer a lookup looks for, whatever the filter.
func dhtQueryFilter(_ any, ai peer.AddrInfo) bool {
	return !slices.ContainsFunc(ai.Addrs, isRelayed)
}

// dhtTableFilter is dhtQueryFilter for the routing table, which gives peer
// IDs alone: their addresses come from the host's peerstore.
func dhtTableFilter(h host.Host) func(any, peer.ID) bool {
	return func(_ any, p peer.ID) bool {
		return !slices.ContainsFunc(h.Peerstore().Addrs(p), isRelayed)
	}
}
