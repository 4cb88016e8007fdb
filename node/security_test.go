package node_test

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley/internal/parleytest"
)

// tcpAddrs is h's peer info with its TCP addresses only.
func tcpAddrs(h host.Host) peer.AddrInfo {
	ai := peer.AddrInfo{ID: h.ID()}
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			ai.Addrs = append(ai.Addrs, a)
		}
	}
	return ai
}

// Two nodes secure a TCP connection with TLS 1.3, their first choice; a
// peer that offers only Noise still connects.
func TestConnectionSecurity(t *testing.T) {
	ctx := context.Background()
	a, b := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	if err := a.Node.Host().Connect(ctx, tcpAddrs(b.Node.Host())); err != nil {
		t.Fatal(err)
	}
	conns := a.Node.Host().Network().ConnsToPeer(b.Node.Host().ID())
	if len(conns) == 0 || conns[0].ConnState().Security != libp2ptls.ID {
		t.Fatalf("node to node over TCP: %d connections, want one secured by %s", len(conns), libp2ptls.ID)
	}

	old, err := libp2p.New(libp2p.NoListenAddrs, libp2p.Security(noise.ID, noise.New), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Connect(ctx, tcpAddrs(a.Node.Host())); err != nil {
		t.Fatalf("a Noise-only peer cannot connect: %v", err)
	}
	conns = old.Network().ConnsToPeer(a.Node.Host().ID())
	if len(conns) == 0 || conns[0].ConnState().Security != noise.ID {
		t.Fatalf("Noise-only peer: %d connections, want one secured by %s", len(conns), noise.ID)
	}
}
