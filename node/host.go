package node

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	cmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-im/parley/internal/inbound"
)

// DefaultListen is where a node listens when Config.Listen is empty: TCP and
// QUIC on every interface, ports chosen by the OS.
var DefaultListen = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip6/::/tcp/0",
	"/ip6/::/udp/0/quic-v1",
}

// DefaultPrivateListen replaces DefaultListen in a private network (a swarm
// key): TCP only, because go-libp2p's QUIC cannot use a pre-shared key.
var DefaultPrivateListen = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip6/::/tcp/0",
}

// Limits sized for a desktop messenger, not a public server.
const (
	connLow        = 64
	connHigh       = 128
	connGrace      = time.Minute
	connSilence    = 10 * time.Second // go-libp2p's default: trims at most this often
	resourceMemory = 256 << 20
	resourceFDs    = 512
	// Per Parley protocol, all peers together, each way: inbound and
	// outbound have their own budgets, so strangers filling the inbound
	// side never stop our own deliveries.
	protocolStreams  = 256
	protocolPerPeer  = 2 // per Parley protocol and peer, each way: one courier stream and a spare
	protocolMemory   = 32 << 20
	protocolPeerMem  = 8 << 20
	protocolMemScale = 0 // no growth with system memory
)

// Connections at once from one address or network: a host behind one
// address gets a few (go-libp2p's default, matching its concurrent
// dials), and a whole network not many more, so that throwaway identities
// from one machine or one provider's range cannot take every connection.
// Loopback stays unlimited (go-libp2p's default network-prefix limit), so
// that local tests and a node's own tools are not counted.
var (
	subnetLimitsV4 = []rcmgr.ConnLimitPerSubnet{
		{PrefixLength: 32, ConnCount: 8},
		{PrefixLength: 24, ConnCount: 32},
	}
	subnetLimitsV6 = []rcmgr.ConnLimitPerSubnet{
		{PrefixLength: 64, ConnCount: 8},
		{PrefixLength: 56, ConnCount: 16},
		{PrefixLength: 48, ConnCount: 32},
	}
)

// ConnLimits are the connection manager's watermarks: past High
// connections it closes the least valuable unprotected ones, older than
// Grace, down to Low. Zero fields take the defaults (64, 128, 1 min).
type ConnLimits struct {
	Low, High int
	Grace     time.Duration
}

func (l ConnLimits) orDefaults() ConnLimits {
	if l.Low <= 0 {
		l.Low = connLow
	}
	if l.High <= 0 {
		l.High = connHigh
	}
	if l.Grace <= 0 {
		l.Grace = connGrace
	}
	return l
}

// hostConfig is what newHost builds a host from.
type hostConfig struct {
	key       crypto.PrivKey
	listen    []string                // from listenAddrs: never empty
	psk       pnet.PSK                // nil outside a private network
	protocols []protocol.ID           // Parley's own, for resource limits
	gater     connmgr.ConnectionGater // nil: every peer may connect
	// relays feeds AutoRelay (relay.go); never nil.
	relays *relaySource
	// relayService: take the node to be publicly reachable and serve as
	// a relay (Config.RelayService).
	relayService bool
	// earlyRelay, unless nil, announces relayed addresses while AutoNAT's
	// verdict is unknown (relay.go); Node starts it once the host is built.
	earlyRelay *earlyRelay
	natPortMap bool // ask the LAN's gateway for a port mapping
	conns      ConnLimits
	bandwidth  metrics.Reporter // nil: not counted
	// metrics is where go-libp2p registers its collectors; nil: it keeps
	// none (Prometheus's global registry is shared state).
	metrics *prometheus.Registry
	log     *slog.Logger // never nil
}

// listenAddrs is the listen list a node uses: the configured one, else the
// default for its kind of network. A private network refuses QUIC
// addresses rather than silently dropping them.
func listenAddrs(configured []string, private bool) ([]string, error) {
	switch {
	case len(configured) == 0 && private:
		return DefaultPrivateListen, nil
	case len(configured) == 0:
		return DefaultListen, nil
	case !private:
		return configured, nil
	}
	for _, s := range configured {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", s, err)
		}
		if slices.ContainsFunc(a, func(c ma.Component) bool { return c.Code() == ma.P_QUIC_V1 || c.Code() == ma.P_QUIC }) {
			return nil, fmt.Errorf("listen address %s: QUIC cannot run in a private network (swarm key); listen on TCP only", s)
		}
	}
	return configured, nil
}

// securityOptions are the connection security protocols, preferred first.
// TLS 1.3 leads because Go's TLS picks AES-GCM where the CPU accelerates
// it (here twice as fast as Noise's ChaCha20-Poly1305, which bounds a
// file transfer) and ChaCha20 where it does not; Noise stays for peers
// that offer only Noise. The dialer's order decides.
func securityOptions() libp2p.Option {
	return libp2p.ChainOptions(
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
	)
}

// newHost builds the libp2p host: TCP and QUIC (TCP only in a private
// network), TLS 1.3 or Noise, yamux, identify, ping, AutoNAT, relays and hole punching
// (relay.go), a resource manager and a connection manager. Options are
// explicit so that no default changes under us on an upgrade.
func newHost(cfg hostConfig) (host.Host, error) {
	rm, err := newResourceManager(cfg.protocols, cfg.metrics != nil)
	if err != nil {
		return nil, err
	}
	lim := cfg.conns.orDefaults()
	cm, err := cmgr.NewConnManager(lim.Low, lim.High, cmgr.WithGracePeriod(lim.Grace), cmgr.WithSilencePeriod(min(lim.Grace, connSilence)))
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	opts := []libp2p.Option{libp2p.Transport(tcp.NewTCPTransport)}
	if cfg.psk != nil {
		opts = append(opts, libp2p.PrivateNetwork(cfg.psk))
	} else {
		// go-libp2p's QUIC transport refuses to start with a pre-shared key.
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	if cfg.earlyRelay != nil && !cfg.relayService {
		opts = append(opts, libp2p.ConnectionGater(dialGate{cfg.gater, cfg.earlyRelay}))
	} else if cfg.gater != nil {
		opts = append(opts, libp2p.ConnectionGater(cfg.gater))
	}
	opts = append(opts, relayOptions(cfg)...)
	if cfg.bandwidth != nil {
		opts = append(opts, libp2p.BandwidthReporter(cfg.bandwidth))
	}
	if cfg.metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.metrics))
	} else {
		// Prometheus registration is global state by default; several
		// nodes share a process in tests, and a desktop app has no scraper.
		opts = append(opts, libp2p.DisableMetrics())
	}
	h, err := libp2p.New(append(opts,
		libp2p.Identity(cfg.key),
		libp2p.ListenAddrStrings(cfg.listen...),
		securityOptions(),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.Ping(true),
		libp2p.UserAgent("parley"),
	)...)
	if err != nil {
		cm.Close()
		rm.Close()
		return nil, fmt.Errorf("libp2p host (listen %v): %w", cfg.listen, err)
	}
	return h, nil
}

// newResourceManager builds the resource manager; with metrics, it reports
// to go-libp2p's collectors (which libp2p.PrometheusRegisterer registers).
func newResourceManager(protocols []protocol.ID, metrics bool) (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits // a copy: never mutate the package's value
	libp2p.SetDefaultServiceLimits(&limits)
	for _, p := range protocols {
		limits.AddProtocolLimit(p,
			rcmgr.BaseLimit{Streams: 2 * protocolStreams, StreamsInbound: protocolStreams, StreamsOutbound: protocolStreams, Memory: protocolMemory},
			rcmgr.BaseLimitIncrease{Memory: protocolMemScale})
		limits.AddProtocolPeerLimit(p,
			rcmgr.BaseLimit{Streams: 2 * protocolPerPeer, StreamsInbound: protocolPerPeer, StreamsOutbound: protocolPerPeer, Memory: protocolPeerMem},
			rcmgr.BaseLimitIncrease{})
	}
	opts := []rcmgr.Option{rcmgr.WithLimitPerSubnet(subnetLimitsV4, subnetLimitsV6)}
	if metrics {
		str, err := rcmgr.NewStatsTraceReporter()
		if err != nil {
			return nil, fmt.Errorf("resource manager metrics: %w", err)
		}
		opts = append(opts, rcmgr.WithTraceReporter(str))
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.Scale(resourceMemory, resourceFDs)), opts...)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}

// strangerTimeouts are the time limits of a stranger's inbound stream
// (Config.StrangerTimeout): d to start a frame and d to finish it, six
// times d in all; zero takes each service's default (10 s, a minute).
func strangerTimeouts(d time.Duration) inbound.Timeouts {
	if d <= 0 {
		return inbound.Timeouts{}
	}
	return inbound.Timeouts{Idle: d, Frame: d, Stream: 6 * d}
}
