package node

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
)

// AutoRelay gets bootstrap peers first, at most as many as it asks for,
// each once, on a channel that is already closed.
func TestRelayCandidatesFromBootstrap(t *testing.T) {
	var boot []peer.AddrInfo
	for _, s := range []string{bootA, bootB, bootA} {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		boot = append(boot, *ai)
	}
	src := &relaySource{bootstrap: boot}
	for _, tc := range []struct {
		num  int
		want []peer.ID
	}{
		{1, []peer.ID{boot[0].ID}},
		{5, []peer.ID{boot[0].ID, boot[1].ID}},
	} {
		var got []peer.ID
		for ai := range src.candidates(context.Background(), tc.num) {
			got = append(got, ai.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("num %d: got %v, want %v", tc.num, got, tc.want)
		}
	}
}

// Until AutoNAT's verdict, and once hole punching can answer, the host
// announces its relayed addresses beside its others; each change makes the
// address manager compute the host's addresses again (a re-emitted
// relay-address event).
func TestEarlyRelayAddrs(t *testing.T) {
	bus := eventbus.NewBus()
	em, err := bus.Emitter(new(event.EvtAutoRelayAddrsUpdated))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	recomputes, err := bus.Subscribe(new(event.EvtAutoRelayAddrsUpdated), eventbus.BufSize(16))
	if err != nil {
		t.Fatal(err)
	}
	defer recomputes.Close()
	direct := []ma.Multiaddr{ma.StringCast("/ip6/3fff:0:2::1/tcp/4001")}
	relayed := []ma.Multiaddr{ma.StringCast("/ip6/3fff:0:1::1/tcp/4001/p2p/" + mustAddrInfo(t, bootA).ID.String() + "/p2p-circuit")}
	e := newEarlyRelay()
	log := slog.New(slog.DiscardHandler)
	steps := []struct {
		what string
		ev   any
		want []ma.Multiaddr
	}{
		{"a relay slot, hole punching not ready", event.EvtAutoRelayAddrsUpdated{RelayAddrs: relayed}, direct},
		{"hole punching ready", event.EvtLocalProtocolsUpdated{Added: []protocol.ID{holepunch.Protocol}}, slices.Concat(direct, relayed)},
		{"public", event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPublic}, direct},
		{"unknown again", event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityUnknown}, slices.Concat(direct, relayed)},
	}
	for _, s := range steps {
		e.handle(s.ev, em, log)
		if got := e.addrsFactory(direct); !slices.EqualFunc(got, s.want, ma.Multiaddr.Equal) {
			t.Errorf("%s: addresses %v, want %v", s.what, got, s.want)
		}
		select {
		case <-recomputes.Out():
		default:
			t.Errorf("%s: the host's addresses were not computed again", s.what)
		}
	}
}

// A new node holds back relayed dials until hole punching can answer, for
// at most holePunchGrace; direct dials go at once.
func TestDialGateHoldsRelayedDials(t *testing.T) {
	relay := mustAddrInfo(t, bootA)
	relayed := ma.StringCast("/ip6/3fff:0:1::1/tcp/4001/p2p/" + relay.ID.String() + "/p2p-circuit")
	direct := ma.StringCast("/ip6/3fff:0:2::1/tcp/4001")
	e := newEarlyRelay()
	g := dialGate{early: e}
	if !g.InterceptAddrDial(relay.ID, direct) {
		t.Error("a direct dial was held back")
	}
	if g.InterceptAddrDial(relay.ID, relayed) {
		t.Error("a relayed dial went before hole punching was ready")
	}
	e.punchReady.Store(true)
	if !g.InterceptAddrDial(relay.ID, relayed) {
		t.Error("a relayed dial was held back once hole punching was ready")
	}
	late := &earlyRelay{started: time.Now().Add(-holePunchGrace)}
	if !(dialGate{early: late}).InterceptAddrDial(relay.ID, relayed) {
		t.Error("a relayed dial was held back past holePunchGrace")
	}
}

func mustAddrInfo(t *testing.T, s string) *peer.AddrInfo {
	t.Helper()
	ai, err := peer.AddrInfoFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return ai
}
