package main

// Connectivity figures for docs/benchmarks.md: time to a first message
// between fresh nodes on a LAN (mDNS), through the DHT by peer ID, and
// through a relay, and the share of NAT pairs that end on a direct
// connection. Real processes in network namespaces, as in the NAT test;
// root only, and only when asked:
//
//	PARLEY_CONNECTIVITY_FIGURES=5 go test -run TestConnectivityFigures -v -timeout 25m ./cmd/parley/

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/parleytest"
)

// firstMessage starts two fresh nodes with the flags, has a add b by peer
// ID alone, sends as soon as both serve their API, and times it.
func firstMessage(t *testing.T, nsA, nsB string, listen []string, flags ...string) (fromStart, fromSend time.Duration) {
	t.Helper()
	start := time.Now()
	a := startIn(t, nsA, "alice", t.TempDir(), listen, flags...)
	b := startIn(t, nsB, "bob", t.TempDir(), listen, flags...)
	defer a.Stop()
	defer b.Stop()
	a.CLI("contact", "add", b.AddrlessInvite(), "--name", "bob")
	sent := time.Now()
	a.CLI("send", "bob", "first")
	parleytest.Eventually(t, "the first message delivered", func() bool { return a.delivered("bob", "first") })
	return time.Since(start), time.Since(sent)
}

// span summarises durations: median, and the range.
func span(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	return fmt.Sprintf("%s (%s–%s, n=%d)", r(s[len(s)/2]), r(s[0]), r(s[len(s)-1]), len(s))
}

func TestConnectivityFigures(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("PARLEY_CONNECTIVITY_FIGURES"))
	if rounds <= 0 {
		t.Skip("set PARLEY_CONNECTIVITY_FIGURES=N (rounds) to measure the figures of docs/benchmarks.md")
	}
	var report []string
	add := func(format string, args ...any) {
		report = append(report, fmt.Sprintf(format, args...))
	}

	// LAN: two hosts on one bridge, mDNS only.
	var lanStart, lanSend []time.Duration
	for r := range rounds {
		l := newLAN(t, 2, 100+r)
		s, d := firstMessage(t, l.hosts[0], l.hosts[1], ipv4Listen)
		lanStart, lanSend = append(lanStart, s), append(lanSend, d)
	}
	add("LAN (mDNS): start → delivered %s; send → delivered %s", span(lanStart), span(lanSend))

	// DHT: two public hosts and a bootstrap node, no mDNS.
	in := newInternet(t)
	bootNS, bootIP := in.publicHost()
	boot := startIn(t, bootNS, "boot", t.TempDir(), wanListen, "--relay-service", "--no-mdns")
	bootAddr, bootID := boot.addrOn(bootIP), boot.PeerID()
	hostA, _ := in.publicHost()
	hostB, _ := in.publicHost()
	var dhtStart, dhtSend []time.Duration
	for range rounds {
		s, d := firstMessage(t, hostA, hostB, wanListen, "--no-mdns", "--bootstrap", bootAddr)
		dhtStart, dhtSend = append(dhtStart, s), append(dhtSend, d)
	}
	add("DHT by peer ID: start → delivered %s; send → delivered %s", span(dhtStart), span(dhtSend))

	// Relay: pairs behind NATs, one of them symmetric so that the relay
	// carries everything, all at once. Each sends as soon as both nodes
	// serve their API, before either knows it is behind a NAT: the message
	// waits in the outbox, retried on a back-off, until the recipient holds
	// a relay slot and the sender's lookup finds it.
	sym := make([]*natPair, rounds)
	for i := range rounds {
		sym[i] = startNATPair(t, in, fmt.Sprintf("s%d", i), [2]natKind{coneNAT, symmetricNAT}, bootAddr)
		sym[i].sentAt = time.Now()
		sym[i].procs[0].CLI("send", sym[i].procs[1].Name, sym[i].hiTexts[0])
	}
	// Poll every pair in turn: each reading costs a CLI call, so these
	// times are good to about half a second.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		pending := 0
		for _, p := range sym {
			if p.deliveredAt.IsZero() {
				if p.procs[0].delivered(p.procs[1].Name, p.hiTexts[0]) {
					p.deliveredAt = time.Now()
				} else {
					pending++
				}
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d symmetric pairs got no first message through", pending)
		}
	}
	var relayFresh, relayWarm []time.Duration
	for _, p := range sym {
		relayFresh = append(relayFresh, p.deliveredAt.Sub(p.startedAt))
		a, b := p.procs[0], p.procs[1]
		if tr, _ := a.transportTo(p.peerIDs[1]); tr != "relayed" {
			t.Errorf("%s reaches %s by %q", a.Name, b.Name, tr)
		}
		sent := time.Now()
		a.CLI("send", b.Name, "second")
		parleytest.Eventually(t, "the second message delivered", func() bool { return a.delivered(b.Name, "second") })
		relayWarm = append(relayWarm, time.Since(sent))
	}
	add("relay (one symmetric NAT): start → first delivered %s; a later message over the relayed connection, send → delivered %s",
		span(relayFresh), span(relayWarm))

	// Hole punching: pairs behind cone NATs, all at once; each waits for
	// its relay slots, sends both ways, then waits for a direct connection.
	cone := make([]*natPair, rounds)
	for i := range rounds {
		cone[i] = startNATPair(t, in, fmt.Sprintf("c%d", i), [2]natKind{coneNAT, coneNAT}, bootAddr)
	}
	var slots []time.Duration
	direct := 0
	for _, p := range cone {
		p.awaitRelayed(t, bootID)
		slots = append(slots, p.relayedAt.Sub(p.startedAt))
		p.exchange(t)
		if p.awaitDirect(t, 30*time.Second) {
			direct++
		}
	}
	symDirect := 0
	for _, p := range sym {
		if tr, _ := p.procs[0].transportTo(p.peerIDs[1]); tr != "relayed" && tr != "" {
			symDirect++
		}
	}
	add("behind NATs: start → AutoNAT verdict and relay slot %s", span(slots))
	add("direct connection after hole punching: %d of %d cone/cone pairs, %d of %d cone/symmetric pairs", direct, rounds, symDirect, rounds)
	t.Log("\n" + strings.Join(report, "\n"))
}

// First message across NATs (issue 16), before and after reserving a relay
// slot at once: a pair behind a cone and a symmetric NAT, fresh, each
// sending to the other as soon as both serve their API; timed from
// launching the first of the two until both messages show "delivered".
// Rounds alternate the old behaviour (--relay-after-verdict: a relay slot
// only once AutoNAT finds the node unreachable) and the new, in one run.
// Root only, and only when asked:
//
//	PARLEY_NAT_FIRST_FIGURES=5 go test -run TestNATFirstMessageFigures -v -timeout 25m ./cmd/parley/
func TestNATFirstMessageFigures(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("PARLEY_NAT_FIRST_FIGURES"))
	if rounds <= 0 {
		t.Skip("set PARLEY_NAT_FIRST_FIGURES=N (rounds) to measure the figures of docs/benchmarks.md")
	}
	in := newInternet(t)
	relayNS, relayIP := in.publicHost()
	relay := startIn(t, relayNS, "relay", t.TempDir(), wanListen, "--relay-service", "--no-mdns")
	relayAddr := relay.addrOn(relayIP)
	var early, late []time.Duration
	for r := range 2 * rounds {
		old := r%2 == 1
		var flags []string
		if old {
			flags = []string{"--relay-after-verdict"}
		}
		p := startNATPair(t, in, fmt.Sprintf("f%d", r), [2]natKind{coneNAT, symmetricNAT}, relayAddr, flags...)
		took := p.firstMessages(t, 2*time.Minute)
		if old {
			late = append(late, took)
		} else {
			early = append(early, took)
		}
		for _, n := range p.procs {
			n.Stop()
		}
	}
	t.Logf("\ncone/symmetric pair via the relay, start → both first messages delivered:\n"+
		"  relay slot at once: %s\n  relay slot after AutoNAT's verdict (before): %s", span(early), span(late))
}
