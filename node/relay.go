package node

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
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
