package node

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	circuitproto "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
)

// dhtProtocol is the DHT's protocol ID (go-libp2p-kad-dht does not export
// it): the DHT handles it only while in server mode.
const dhtProtocol = DHTPrefix + "/kad/1.0.0"

// Status reports the node's network state: reachability, addresses,
// relays, connections, DHTs and discovery. It is cheap enough to poll.
func (m *Messenger) Status() parley.NetworkStatus {
	n := m.node()
	announced := n.host.Addrs()
	protocols := n.host.Mux().Protocols()
	st := parley.NetworkStatus{
		Reachability:   n.currentReachability(),
		ListenAddrs:    addrStrings(sockets(n.host.Network().ListenAddresses())),
		AnnouncedAddrs: addrStrings(announced),
		ObservedAddrs:  n.observedAddrs(),
		Relays:         relaysIn(announced),
		Peers:          m.connectedPeers(),
		DHTMode:        dhtMode(protocols),
		DHTPeers:       n.dht.RoutingTable().Size(),
		MDNS:           n.mdns != nil,
		// go-libp2p registers the hop protocol while the relay service
		// runs (relay.go says when) and removes it when it stops.
		RelayService:   slices.Contains(protocols, circuitproto.ProtoIDv2Hop),
		PrivateNetwork: n.psk != nil,
		Disk:           diskStatus(n.store.Space()),
	}
	if svc := n.mailbox.Load(); svc != nil {
		st.MailboxService = true
		if l, err := n.store.MailboxLoad(); err != nil {
			n.log.Warn("reading the mailbox's load", "err", err)
		} else {
			s := svc.Stats()
			st.Mailbox = parley.MailboxLoad{
				Owners: l.Owners, Envelopes: l.Count, Bytes: l.Bytes, MaxOwners: svc.MaxAccounts(),
				Deposits: int64(s.Deposits), Refused: int64(s.DepositsRefused), Delivered: int64(s.Acked),
			}
		}
	}
	if pub := n.pub.Load(); pub != nil {
		st.PublicDHT, st.PublicDHTPeers = true, pub.dht.RoutingTable().Size()
	}
	return st
}

// noteObserved keeps the address a peer saw our connection come from.
// Relayed connections are skipped: their peer sees the relay's circuit,
// not us.
func (n *Node) noteObserved(ev event.EvtPeerIdentificationCompleted) {
	if ev.ObservedAddr == nil || ev.Conn == nil || ev.Conn.Stat().Limited || isRelayed(ev.ObservedAddr) ||
		n.host.Network().Connectedness(ev.Peer) != network.Connected {
		return
	}
	n.netMu.Lock()
	defer n.netMu.Unlock()
	if n.observed == nil {
		n.observed = make(map[peer.ID]string)
	}
	// Bounded by the connected peers: an entry goes when its peer does.
	n.observed[ev.Peer] = ev.ObservedAddr.String()
}

// observedAddrs lists the distinct observed addresses, the most reported
// first.
func (n *Node) observedAddrs() []string {
	n.netMu.Lock()
	count := make(map[string]int)
	for _, a := range n.observed {
		count[a]++
	}
	n.netMu.Unlock()
	out := slices.AppendSeq(make([]string, 0, len(count)), maps.Keys(count))
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(count[b]-count[a], strings.Compare(a, b))
	})
	return out
}

func (n *Node) currentReachability() parley.Reachability {
	n.netMu.Lock()
	r := n.reachability
	n.netMu.Unlock()
	switch r {
	case network.ReachabilityPublic:
		return parley.ReachabilityPublic
	case network.ReachabilityPrivate:
		return parley.ReachabilityPrivate
	default:
		return parley.ReachabilityUnknown
	}
}

// dhtMode is the mode Parley's DHT is in now, from the host's protocols.
// dht.Mode() only returns the mode we configured (auto-server); the DHT's
// stream handler, registered in server mode and removed in client mode,
// tells the current one.
func dhtMode(protocols []protocol.ID) string {
	if slices.Contains(protocols, dhtProtocol) {
		return "server"
	}
	return "client"
}

// connectedPeers lists connected peers by peer ID, each described by its
// best connection: direct before relayed, as libp2p picks for new streams.
func (m *Messenger) connectedPeers() []parley.ConnectedPeer {
	net := m.node().host.Network()
	out := []parley.ConnectedPeer{}
	for _, p := range net.Peers() {
		conns := net.ConnsToPeer(p)
		if len(conns) == 0 {
			continue // disconnected since Peers()
		}
		slices.SortStableFunc(conns, func(a, b network.Conn) int { return connRank(a) - connRank(b) })
		info := parley.ConnectedPeer{
			PeerID:    p.String(),
			Name:      m.contactName(p),
			Transport: transportOf(conns[0].RemoteMultiaddr()),
			Direction: directionOf(conns[0].Stat().Direction),
		}
		info.Addrs = remoteAddrs(conns)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b parley.ConnectedPeer) int { return strings.Compare(a.PeerID, b.PeerID) })
	return out
}

// remoteAddrs lists the connections' remote addresses, each once: two
// connections may share one (both sides dialled at once after mDNS found
// them, and QUIC's inbound connection comes from the peer's listen port).
func remoteAddrs(conns []network.Conn) []string {
	var out []string
	for _, c := range conns {
		if a := c.RemoteMultiaddr().String(); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// connRank orders connections as the swarm does for a new stream:
// unlimited before limited, direct before relayed. (Among equals the swarm
// takes the busiest; we keep the oldest, which is stable.)
func connRank(c network.Conn) int {
	rank := 0
	if c.Stat().Limited {
		rank += 2
	}
	if isRelayed(c.RemoteMultiaddr()) {
		rank++
	}
	return rank
}

func (m *Messenger) contactName(p peer.ID) string {
	if c, err := m.node().store.Contact(p.String()); err == nil {
		return c.Name
	}
	return ""
}

// transportOf names a connection's transport from its remote address:
// "relayed" for a circuit through a relay, else the innermost transport
// protocol (QUIC, WebTransport and WebRTC run over UDP; WebSocket over TCP).
func transportOf(a ma.Multiaddr) string {
	if isRelayed(a) {
		return "relayed"
	}
	codes := make(map[int]bool)
	for _, c := range a {
		codes[c.Code()] = true
	}
	for _, t := range []struct {
		code int
		name string
	}{
		{ma.P_WEBTRANSPORT, "webtransport"},
		{ma.P_WEBRTC_DIRECT, "webrtc-direct"},
		{ma.P_QUIC_V1, "quic-v1"},
		{ma.P_QUIC, "quic"},
		{ma.P_WSS, "websocket"},
		{ma.P_WS, "websocket"},
		{ma.P_TCP, "tcp"},
	} {
		if codes[t.code] {
			return t.name
		}
	}
	return "unknown"
}

func isRelayed(a ma.Multiaddr) bool {
	for _, c := range a {
		if c.Code() == ma.P_CIRCUIT {
			return true
		}
	}
	return false
}

func directionOf(d network.Direction) string {
	switch d {
	case network.DirInbound:
		return "inbound"
	case network.DirOutbound:
		return "outbound"
	default:
		return "unknown"
	}
}

// relaysIn lists the relays behind our circuit addresses: the part of each
// address before /p2p-circuit, once each.
func relaysIn(addrs []ma.Multiaddr) []string {
	out := []string{}
	for _, a := range addrs {
		relay, circuit := ma.SplitFunc(a, func(c ma.Component) bool { return c.Code() == ma.P_CIRCUIT })
		if len(circuit) == 0 || len(relay) == 0 {
			continue
		}
		if s := relay.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// sockets leaves out the relay transport's bare /p2p-circuit listener: no
// one can dial it, and Relays shows the relays in use.
func sockets(listen []ma.Multiaddr) []ma.Multiaddr {
	return slices.DeleteFunc(slices.Clone(listen), func(a ma.Multiaddr) bool {
		return len(a) == 1 && a[0].Code() == ma.P_CIRCUIT
	})
}

// addrStrings renders addresses sorted, so that output is stable.
func addrStrings(addrs []ma.Multiaddr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	slices.Sort(out)
	return out
}
