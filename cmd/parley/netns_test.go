package main

// Tests across hosts: each host is a network namespace that the test makes
// itself, joined to the others by a bridge, so traffic (mDNS multicast
// included) stays inside the test's own network. They need root and
// iproute2 (package internal/netns builds the network); elsewhere they
// are skipped, saying why.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/netns"
	"github.com/parley-im/parley/internal/parleytest"
)

// lan is a set of network namespaces on one bridge: a LAN of test hosts.
type lan struct {
	t      *testing.T
	prefix string   // unique per test, keeps names apart across runs
	hosts  []string // namespace names
	addrs  []string // each host's IPv4 address on the LAN
}

// newLAN makes n hosts on the subnet 10.213.<subnet>.0/24.
func newLAN(t *testing.T, n, subnet int) *lan {
	t.Helper()
	netns.Require(t)
	l := &lan{t: t, prefix: netns.Prefix("pl")}
	sw := l.prefix + "sw"
	netns.Bridge(t, sw)
	for i := range n {
		ns := fmt.Sprintf("%sh%d", l.prefix, i)
		addr := fmt.Sprintf("10.213.%d.%d", subnet, i+1)
		netns.Add(t, ns)
		netns.Plug(t, sw, ns, fmt.Sprintf("%sv%d", l.prefix, i), fmt.Sprintf("%sp%d", l.prefix, i), addr+"/24")
		l.hosts = append(l.hosts, ns)
		l.addrs = append(l.addrs, addr)
	}
	return l
}

// nsProc is a parley process in a network namespace: `parley run` and its
// CLI both run there (ip netns exec), where its API is.
type nsProc struct {
	*parleytest.Process
	t *testing.T
}

// startOn runs `parley run` on host i, listening on all of its interfaces,
// with mDNS on (the default).
func (l *lan) startOn(i int, name string) *nsProc {
	l.t.Helper()
	return startIn(l.t, l.hosts[i], name, l.t.TempDir(), ipv4Listen)
}

// ipv4Listen is TCP and QUIC on every IPv4 interface.
var ipv4Listen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// startIn runs `parley run` in namespace ns on data dir dir, listening on
// listen, with the extra flags.
func startIn(t *testing.T, ns, name, dir string, listen []string, extra ...string) *nsProc {
	t.Helper()
	p := parleytest.NewProcess(t, name)
	p.Dir, p.Listen, p.Args = dir, listen, extra
	p.Prefix = []string{"ip", "netns", "exec", ns}
	p.MDNS = true // unless extra turns it off: the namespace's LAN is the test's own
	p.Start()
	return &nsProc{Process: p, t: t}
}

// Two hosts on one LAN, no bootstrap peer and no address in the invite:
// they find each other by mDNS alone, and chat.
func TestLANDiscoveryByMDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes in network namespaces")
	}
	l := newLAN(t, 2, 1)
	alice, bob := l.startOn(0, "alice"), l.startOn(1, "bob")
	alice.CLI("contact", "add", bob.AddrlessInvite(), "--name", "bob")
	alice.CLI("send", "bob", "hello across the LAN")
	parleytest.Eventually(t, "delivered over mDNS discovery", func() bool {
		s := alice.StatusOf("bob", "hello across the LAN")
		return s == "delivered" || s == "read"
	})
	var peers []struct {
		PeerID string   `json:"peer_id"`
		Addrs  []string `json:"addrs"`
	}
	if err := json.Unmarshal([]byte(alice.CLI("peers", "--json")), &peers); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range peers {
		for _, a := range p.Addrs {
			found = found || strings.Contains(a, "/ip4/"+l.addrs[1]+"/")
		}
	}
	if !found {
		t.Fatalf("alice is not connected to bob over the LAN: %+v", peers)
	}
}

// Three hosts on one LAN, mDNS only: a group of three chats, though two of
// its members are not each other's contacts and no one has an address.
func TestLANGroupChatByMDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes in network namespaces")
	}
	l := newLAN(t, 3, 3)
	alice, bob, carol := l.startOn(0, "alice"), l.startOn(1, "bob"), l.startOn(2, "carol")
	for _, p := range []*nsProc{bob, carol} {
		alice.CLI("contact", "add", p.AddrlessInvite(), "--name", p.Name)
		p.CLI("contact", "add", alice.AddrlessInvite(), "--name", "alice")
	}
	alice.CLI("group", "create", "lan party")
	for _, p := range []*nsProc{bob, carol} {
		alice.CLI("group", "invite", "lan party", p.Name)
		parleytest.Eventually(t, p.Name+" seeing the invite", func() bool {
			return strings.Contains(p.CLI("group", "invites"), "lan party")
		})
		p.CLI("group", "accept", "lan party")
	}
	for _, p := range []*nsProc{alice, bob, carol} {
		p.CLI("group", "send", "lan party", "hello from "+p.Name)
	}
	var first []string
	for _, p := range []*nsProc{alice, bob, carol} {
		var ms []parleytest.CLIMessage
		parleytest.Eventually(t, p.Name+" holding the three messages", func() bool {
			ms = nil
			if err := json.Unmarshal([]byte(p.CLI("group", "messages", "lan party", "--json")), &ms); err != nil {
				t.Fatal(err)
			}
			return len(ms) == 3
		})
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if first == nil {
			first = ids
		} else if strings.Join(ids, ",") != strings.Join(first, ",") {
			t.Fatalf("%s holds another order: %v vs %v", p.Name, ids, first)
		}
	}
}

// cut takes host i off the LAN (its bridge port goes down); heal puts it
// back. Packets in flight are lost, as on a real network.
func (l *lan) cut(i int) {
	netns.IP(l.t, "-n", l.prefix+"sw", "link", "set", fmt.Sprintf("%sp%d", l.prefix, i), "down")
}
func (l *lan) heal(i int) {
	netns.IP(l.t, "-n", l.prefix+"sw", "link", "set", fmt.Sprintf("%sp%d", l.prefix, i), "up")
}

func (p *nsProc) invite() string {
	p.t.Helper()
	return strings.TrimSpace(p.CLI("invite"))
}

func (p *nsProc) count(with, text string) int {
	p.t.Helper()
	return parleytest.Count(p.Messages(with), text)
}

// A link between two users goes down while both keep writing; when it comes
// back, every message arrives, exactly once, with no one restarting anything.
func TestPartitionHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes in network namespaces")
	}
	l := newLAN(t, 2, 2)
	alice, bob := l.startOn(0, "alice"), l.startOn(1, "bob")
	alice.CLI("contact", "add", bob.invite(), "--name", "bob")
	bob.CLI("contact", "add", alice.invite(), "--name", "alice")
	alice.CLI("send", "bob", "before the cut")
	parleytest.Eventually(t, "first message delivered", func() bool { return alice.StatusOf("bob", "before the cut") != "queued" })

	l.cut(1)
	var fromAlice, fromBob []string
	for i := range 3 {
		fromAlice = append(fromAlice, fmt.Sprintf("alice during the cut %d", i))
		alice.CLI("send", "bob", fromAlice[i])
	}
	for i := range 2 {
		fromBob = append(fromBob, fmt.Sprintf("bob during the cut %d", i))
		bob.CLI("send", "alice", fromBob[i])
	}
	if s := alice.StatusOf("bob", fromAlice[0]); s == "delivered" || s == "read" {
		t.Fatalf("delivered across a cut link: %s", s)
	}
	l.heal(1)

	delivered := func(p *nsProc, with string, texts []string) func() bool {
		return func() bool {
			for _, text := range texts {
				if s := p.StatusOf(with, text); s != "delivered" && s != "read" {
					return false
				}
			}
			return true
		}
	}
	parleytest.Eventually(t, "alice's messages delivered after the heal", delivered(alice, "bob", fromAlice))
	parleytest.Eventually(t, "bob's messages delivered after the heal", delivered(bob, "alice", fromBob))
	for _, text := range append([]string{"before the cut"}, fromAlice...) {
		if c := bob.count("alice", text); c != 1 {
			t.Errorf("bob holds %q %d times, want once", text, c)
		}
	}
	for _, text := range fromBob {
		if c := alice.count("bob", text); c != 1 {
			t.Errorf("alice holds %q %d times, want once", text, c)
		}
	}
}
