package main

// An Internet of the test's own, with NATs: public hosts on one bridge, and
// hosts each behind a NAT router of its own, all network namespaces that
// the test makes. Needs root, iproute2 and nftables (.ci/run installs it).
//
// Addresses. The Internet side is IPv6 in 3fff::/20, the documentation
// prefix of RFC 9637: never routed, yet go-multiaddr's manet.IsPublicAddr
// counts it as public (it knows only 2001:db8::/32 as documentation).
// libp2p decides on public addresses alone whether to run AutoNAT,
// announce relay addresses and hole punch, so private or reserved ranges
// that manet knows (10/8, 198.18/15, 192.0.2/24) would exercise none of
// it. Each host or router there gets a /48 of its own (3fff:0:k::1), as
// different users' routers have on the Internet: go-libp2p rate-limits
// identify per /24 (IPv4) and per /56 and /48 (IPv6), and one shared
// prefix would throttle the relay's view of every NATed node (with IPv4
// the only candidate, 192.0.0.64/26, is a single /24). Behind NAT i is the
// ULA network fd00:214:i::/64: the router is ::1, the host ::2. No
// namespace has a link to the machine's own network, so nothing here
// reaches beyond it.
//
// NAT rules (nftables, in the router's namespace): masquerade (NAT66) on
// the public side, and new connections coming in from the public side
// dropped, as a home router does (ICMPv6 passes, for neighbour discovery).
// A "cone" NAT keeps a connection's source port where it can (Linux's
// masquerade), so one local port maps to one public port for every
// destination: hole punching gets through. A "symmetric" NAT (masquerade
// fully-random) maps every connection to a random port: the port a peer
// learns through identify is useless to another, and hole punching fails;
// only the relay connects.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/netns"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

type natKind int

const (
	coneNAT natKind = iota
	symmetricNAT
)

func (k natKind) String() string {
	if k == symmetricNAT {
		return "symmetric"
	}
	return "cone"
}

// internet is the test's own Internet: a bridge in a namespace of its own.
type internet struct {
	t      *testing.T
	prefix string // unique per test: namespace and link names
	sw     string // the switch namespace, holding the bridge
	next   int    // how many hosts and routers are on the bridge
	nats   int    // how many NATed hosts exist
}

// newInternet makes an empty Internet, or skips the test where it cannot.
func newInternet(t *testing.T) *internet {
	t.Helper()
	netns.Require(t, "nft")
	in := &internet{t: t, prefix: netns.Prefix("pn")}
	in.sw = in.prefix + "sw"
	netns.Bridge(t, in.sw)
	return in
}

// addNS makes a namespace that the test deletes when it ends (after the
// processes in it, which were started later, have stopped).
func (in *internet) addNS(ns string) {
	in.t.Helper()
	netns.Add(in.t, ns)
}

// ip runs iproute2 and fails the test on error.
func (in *internet) ip(args ...string) {
	in.t.Helper()
	netns.IP(in.t, args...)
}

// inNS runs a command inside namespace ns, with stdin.
func (in *internet) inNS(ns, stdin string, args ...string) {
	in.t.Helper()
	netns.Exec(in.t, ns, stdin, args...)
}

// wanListen is TCP and QUIC on every IPv6 interface: the test Internet's.
var wanListen = []string{"/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}

// plug connects namespace ns to the bridge as eth0 with the next public
// address, and returns that address.
func (in *internet) plug(ns string) string {
	in.t.Helper()
	in.next++
	addr := fmt.Sprintf("3fff:0:%x::1", in.next)
	netns.Plug(in.t, in.sw, ns, fmt.Sprintf("%sv%d", in.prefix, in.next), fmt.Sprintf("%sp%d", in.prefix, in.next), addr+"/20", "nodad")
	return addr
}

// publicHost is a host on the Internet with an address of its own.
func (in *internet) publicHost() (ns, addr string) {
	in.t.Helper()
	ns = fmt.Sprintf("%sh%d", in.prefix, in.next)
	in.addNS(ns)
	return ns, in.plug(ns)
}

// natHost is a host behind a NAT router of its own kind; natAddr is the
// router's public address, the one the host's peers see.
func (in *internet) natHost(kind natKind) (ns, natAddr string) {
	in.t.Helper()
	i := in.nats
	in.nats++
	router, ns := fmt.Sprintf("%sr%d", in.prefix, i), fmt.Sprintf("%sn%d", in.prefix, i)
	in.addNS(router)
	in.addNS(ns)
	natAddr = in.plug(router)
	lanIf, hostIf := fmt.Sprintf("%sl%d", in.prefix, i), fmt.Sprintf("%sm%d", in.prefix, i)
	in.ip("link", "add", lanIf, "type", "veth", "peer", "name", hostIf)
	in.ip("link", "set", lanIf, "netns", router)
	in.ip("link", "set", hostIf, "netns", ns)
	in.ip("-n", router, "link", "set", lanIf, "name", "eth1")
	in.ip("-n", router, "addr", "add", fmt.Sprintf("fd00:214:%x::1/64", i), "dev", "eth1", "nodad")
	in.ip("-n", router, "link", "set", "eth1", "up")
	in.ip("-n", ns, "link", "set", hostIf, "name", "eth0")
	in.ip("-n", ns, "addr", "add", fmt.Sprintf("fd00:214:%x::2/64", i), "dev", "eth0", "nodad")
	in.ip("-n", ns, "link", "set", "eth0", "up")
	in.ip("-n", ns, "-6", "route", "add", "default", "via", fmt.Sprintf("fd00:214:%x::1", i))
	in.inNS(router, "", "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
	mapping := "masquerade"
	if kind == symmetricNAT {
		mapping = "masquerade fully-random"
	}
	in.inNS(router, fmt.Sprintf(`
table ip6 nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" %s
	}
}
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		meta l4proto ipv6-icmp accept
		iifname "eth0" ct state new drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		meta l4proto ipv6-icmp accept
		iifname "eth0" ct state new drop
	}
}
`, mapping), "nft", "-f", "-")
	return ns, natAddr
}

// netStatus is the part of `parley status --json` these tests read.
type netStatus struct {
	Reachability string   `json:"reachability"`
	Relays       []string `json:"relays"`
	Observed     []string `json:"observed_addrs"`
	DHTMode      string   `json:"dht_mode"`
	DHTPeers     int      `json:"dht_peers"`
	Peers        []struct {
		PeerID    string   `json:"peer_id"`
		Transport string   `json:"transport"`
		Addrs     []string `json:"addrs"`
	} `json:"peers"`
}

func (p *nsProc) netStatus() netStatus {
	p.t.Helper()
	var st netStatus
	if err := json.Unmarshal([]byte(p.CLI("status", "--json")), &st); err != nil {
		p.t.Fatalf("%s: status --json: %v", p.Name, err)
	}
	return st
}

// transportTo is how p is connected to peer now ("" when it is not).
func (p *nsProc) transportTo(peerID string) (transport string, addrs []string) {
	p.t.Helper()
	for _, c := range p.netStatus().Peers {
		if c.PeerID == peerID {
			return c.Transport, c.Addrs
		}
	}
	return "", nil
}

// addrOn is p's announced address for bootstrapping: TCP on IPv6 ip.
func (p *nsProc) addrOn(ip string) string {
	p.t.Helper()
	var self struct{ Addrs []string }
	if err := json.Unmarshal([]byte(p.CLI("id", "--json")), &self); err != nil {
		p.t.Fatal(err)
	}
	for _, a := range self.Addrs {
		if strings.HasPrefix(a, "/ip6/"+ip+"/tcp/") {
			return a
		}
	}
	p.t.Fatalf("%s announces no TCP address on %s: %v", p.Name, ip, self.Addrs)
	return ""
}

// delivered reports whether p's message text to contact with is delivered.
func (p *nsProc) delivered(with, text string) bool {
	s := p.StatusOf(with, text)
	return s == "delivered" || s == "read"
}

// poll is parleytest.EventuallyWithin at a gentler pace, for conditions
// that take seconds (AutoNAT's verdict, hole punching) and cost a CLI call
// (in a namespace) to check.
func poll(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// natPair is two users, each behind a NAT of its own kind, who know each
// other by peer ID alone.
type natPair struct {
	kinds       [2]natKind
	procs       [2]*nsProc
	natAddrs    [2]string
	peerIDs     [2]string
	hiTexts     [2]string
	fileHash    string // of what sendFile sent
	startedAt   time.Time
	relayedAt   time.Time // both hold a relay reservation
	sentAt      time.Time
	deliveredAt time.Time // both first messages delivered
	directAt    time.Time // both connected directly
}

// startNATPair starts the two nodes behind their NATs. The bootstrap peer
// comes three ways, as users give it: a --bootstrap flag, a bootstrap file
// in the data dir, and a --bootstrap-file with a comment. Both run with
// the extra flags.
func startNATPair(t *testing.T, in *internet, name string, kinds [2]natKind, relayAddr string, extra ...string) *natPair {
	t.Helper()
	p := &natPair{kinds: kinds, startedAt: time.Now()}
	for i, who := range []string{name + "-a", name + "-b"} {
		ns, natAddr := in.natHost(kinds[i])
		dir := t.TempDir()
		flags := []string{"--bootstrap", relayAddr}
		if i == 1 && kinds[i] == coneNAT {
			flags = nil
			if err := os.WriteFile(filepath.Join(dir, node.BootstrapFile), []byte(relayAddr+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		} else if i == 1 {
			file := filepath.Join(t.TempDir(), "peers.txt")
			if err := os.WriteFile(file, []byte("# the community's relay\n"+relayAddr+" # always on\n\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			flags = []string{"--bootstrap-file", file}
		}
		p.procs[i] = startIn(t, ns, who, dir, wanListen, slices.Concat(flags, []string{"--no-mdns", "--log-level", "info"}, extra)...)
		p.natAddrs[i] = natAddr
		p.peerIDs[i] = p.procs[i].PeerID()
		p.hiTexts[i] = "hello from " + who
	}
	// By peer ID (and keys) only: no address in either invite.
	a, b := p.procs[0], p.procs[1]
	a.CLI("contact", "add", b.AddrlessInvite(), "--name", b.Name)
	b.CLI("contact", "add", a.AddrlessInvite(), "--name", a.Name)
	return p
}

// firstMessages has each of the pair send to the other at once, and
// returns the time from the pair's start until both messages show
// "delivered".
func (p *natPair) firstMessages(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	p.sentAt = time.Now()
	for i, n := range p.procs {
		n.CLI("send", p.procs[1-i].Name, p.hiTexts[i])
	}
	for i, n := range p.procs {
		parleytest.EventuallyWithin(t, limit, n.Name+"'s first message delivered", func() bool { return n.delivered(p.procs[1-i].Name, p.hiTexts[i]) })
	}
	p.deliveredAt = time.Now()
	return p.deliveredAt.Sub(p.startedAt)
}

// awaitRelayed waits until both nodes know they are behind a NAT (AutoNAT),
// run their DHT as clients, and hold a reservation on the relay.
func (p *natPair) awaitRelayed(t *testing.T, relayID string) {
	t.Helper()
	for i, n := range p.procs {
		var st netStatus
		// AutoNAT's verdict takes 15 s (the relay's dial-back timeout), or
		// up to 45 s when its first probe goes to the other of the pair,
		// already connected through the relay (a 30 s request timeout).
		poll(t, 90*time.Second, n.Name+" finding itself behind a NAT and reserving a relay slot", func() bool {
			st = n.netStatus()
			return st.Reachability == "private" && slices.ContainsFunc(st.Relays, func(r string) bool { return strings.HasSuffix(r, "/p2p/"+relayID) })
		})
		if st.DHTMode != "client" {
			t.Errorf("%s behind a NAT runs its DHT as a %s", n.Name, st.DHTMode)
		}
		// The relay saw it come from its NAT's public address.
		if !slices.ContainsFunc(st.Observed, func(a string) bool { return strings.HasPrefix(a, "/ip6/"+p.natAddrs[i]+"/") }) {
			t.Errorf("%s: observed addresses %v, want its NAT's %s among them", n.Name, st.Observed, p.natAddrs[i])
		}
	}
	p.relayedAt = time.Now()
}

// exchange sends a first message each way and waits for both.
func (p *natPair) exchange(t *testing.T) {
	t.Helper()
	p.sentAt = time.Now()
	for i, n := range p.procs {
		n.CLI("send", p.procs[1-i].Name, p.hiTexts[i])
	}
	// Well under the half minute that a DHT lookup reaching its target
	// through a relay would hold the first message (node.lookUp).
	for i, n := range p.procs {
		poll(t, 15*time.Second, n.Name+"'s first message delivered", func() bool { return n.delivered(p.procs[1-i].Name, p.hiTexts[i]) })
	}
	p.deliveredAt = time.Now()
}

// awaitDirect waits until a hole punch gives both sides a direct
// connection, to the other's NAT.
func (p *natPair) awaitDirect(t *testing.T, limit time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	for i, n := range p.procs {
		for {
			tr, addrs := n.transportTo(p.peerIDs[1-i])
			if tr != "" && tr != "relayed" {
				if !strings.Contains(addrs[0], "/ip6/"+p.natAddrs[1-i]+"/") {
					t.Errorf("%s is connected directly, but not to the other's NAT (%s): %v", n.Name, p.natAddrs[1-i], addrs)
				}
				break
			}
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	p.directAt = time.Now()
	return true
}

// groupChat makes a group of the pair and checks that group messages
// arrive live: five in a row, each within liveWithin of being sent.
func (p *natPair) groupChat(t *testing.T) {
	t.Helper()
	const liveWithin = 5 * time.Second
	a, b := p.procs[0], p.procs[1]
	a.CLI("group", "create", "across")
	a.CLI("group", "invite", "across", b.Name)
	poll(t, 30*time.Second, b.Name+" seeing the invitation", func() bool {
		return strings.Contains(b.CLI("group", "invites"), "across")
	})
	b.CLI("group", "accept", "across")
	holds := func(n *nsProc, text string) bool {
		var ms []parleytest.CLIMessage
		if err := json.Unmarshal([]byte(n.CLI("group", "messages", "across", "--json")), &ms); err != nil {
			t.Fatalf("%s: group messages: %v", n.Name, err)
		}
		return slices.ContainsFunc(ms, func(m parleytest.CLIMessage) bool { return m.Text == text })
	}
	// The first message may wait for the members' first sync, which
	// also tells b's node the group's history: not what is measured.
	a.CLI("group", "send", "across", "first")
	poll(t, 60*time.Second, b.Name+" holding the first group message", func() bool { return holds(b, "first") })
	var slowest time.Duration
	for i := range 5 {
		from, to := p.procs[i%2], p.procs[1-i%2]
		text := fmt.Sprintf("live %d from %s", i, from.Name)
		sent := time.Now()
		from.CLI("group", "send", "across", text)
		poll(t, 60*time.Second, to.Name+" holding "+text, func() bool { return holds(to, text) })
		took := time.Since(sent)
		if took > liveWithin {
			t.Errorf("%q took %v to arrive, over %v: not live over the relay", text, took.Round(time.Millisecond), liveWithin)
		}
		slowest = max(slowest, took)
	}
	t.Logf("%s pair: group messages over the relay arrive within %v (send → listed, through the CLI)", p.kinds, slowest.Round(time.Millisecond))
}

// sendFile offers a 256 KiB file from the first of the pair to the
// second, who takes it without asking (a contact's, under the auto-accept
// limit).
func (p *natPair) sendFile(t *testing.T) {
	t.Helper()
	var path string
	path, p.fileHash = parleytest.RandomFile(t, t.TempDir(), p.procs[0].Name+".bin", 256<<10)
	p.procs[0].CLI("file", "send", p.procs[1].Name, path, "--no-wait")
}

// awaitFile waits until the second of the pair lists the file so that ok
// holds; a complete file must hold what was sent.
func (p *natPair) awaitFile(t *testing.T, ok func(parleytest.CLIFile) bool) {
	t.Helper()
	b := p.procs[1]
	var last parleytest.CLIFile
	defer func() {
		if t.Failed() {
			t.Logf("%s's file, as last listed: %+v", b.Name, last)
		}
	}()
	poll(t, 60*time.Second, b.Name+"'s file", func() bool {
		var files []parleytest.CLIFile
		if err := json.Unmarshal([]byte(b.CLI("file", "list", "--json")), &files); err != nil {
			t.Fatalf("%s: file list --json: %v", b.Name, err)
		}
		for _, f := range files {
			if f.Name == p.procs[0].Name+".bin" {
				last = f
				return ok(f)
			}
		}
		return false
	})
	if last.State != "complete" {
		return
	}
	if parleytest.FileHash(t, last.Path) != p.fileHash {
		t.Errorf("%s's file at %s differs from what was sent", b.Name, last.Path)
	}
}

// awaitLog waits until one of the pair logs what.
func (p *natPair) awaitLog(t *testing.T, what string) {
	t.Helper()
	poll(t, 60*time.Second, "a log line: "+what, func() bool {
		return strings.Contains(p.procs[0].Output(), what) || strings.Contains(p.procs[1].Output(), what)
	})
}

// Two users behind NATs, who know each other by peer ID alone, find each
// other through the DHT of a public bootstrap node, connect through it as a
// circuit relay, and chat. Behind cone NATs, hole punching (DCUtR) then
// gives them a direct connection; with one symmetric NAT it cannot, and
// the relay carries their messages.
func TestNATTraversal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes in network namespaces")
	}
	in := newInternet(t)
	relayNS, relayIP := in.publicHost()
	relay := startIn(t, relayNS, "relay", t.TempDir(), wanListen, "--relay-service", "--no-mdns")
	relayAddr, relayID := relay.addrOn(relayIP), relay.PeerID()

	// A user with a public address of their own learns it from AutoNAT
	// (the relay answers dial-back requests), and serves the DHT.
	reachableNS, _ := in.publicHost()
	reachable := startIn(t, reachableNS, "reachable", t.TempDir(), wanListen, "--no-mdns", "--bootstrap", relayAddr)

	cone := startNATPair(t, in, "cone", [2]natKind{coneNAT, coneNAT}, relayAddr)
	sym := startNATPair(t, in, "sym", [2]natKind{coneNAT, symmetricNAT}, relayAddr)
	if st := relay.netStatus(); st.Reachability != "public" || st.DHTMode != "server" {
		t.Errorf("the relay node: reachability %q, DHT %q; want public and server", st.Reachability, st.DHTMode)
	}
	poll(t, 30*time.Second, "AutoNAT finding the reachable node public", func() bool {
		st := reachable.netStatus()
		return st.Reachability == "public" && st.DHTMode == "server" && len(st.Relays) == 0
	})
	for _, p := range []*natPair{cone, sym} {
		p.awaitRelayed(t, relayID)
	}
	for _, p := range []*natPair{cone, sym} {
		p.exchange(t)
	}
	if !cone.awaitDirect(t, 60*time.Second) {
		t.Fatal("behind two cone NATs, hole punching gave no direct connection")
	}
	cone.awaitLog(t, "hole punching succeeded")
	// Behind a symmetric NAT, the side that received the relayed connection
	// tries three times, then says so; the connection stays relayed.
	sym.awaitLog(t, "hole punching failed")
	for i, n := range sym.procs {
		if tr, addrs := n.transportTo(sym.peerIDs[1-i]); tr != "relayed" {
			t.Errorf("%s, behind a symmetric NAT pair, is connected by %q (%v); want relayed", n.Name, tr, addrs)
		}
	}
	// Direct messages flow both ways on either kind of connection.
	for _, p := range []*natPair{cone, sym} {
		a, b := p.procs[0], p.procs[1]
		b.CLI("send", a.Name, "and again")
		poll(t, 30*time.Second, b.Name+"'s second message delivered", func() bool { return b.delivered(a.Name, "and again") })
	}
	// A group chat is live over the relay too: each message arrives within
	// seconds, not at the next sync (every 30 s).
	sym.groupChat(t)

	// A file goes only over a direct connection: the cone pair's arrives
	// intact; the symmetric pair's waits, and says why.
	for _, p := range []*natPair{cone, sym} {
		p.sendFile(t)
	}
	cone.awaitFile(t, func(f parleytest.CLIFile) bool { return f.State == "complete" })
	sym.awaitFile(t, func(f parleytest.CLIFile) bool {
		return f.State == "transferring" && strings.Contains(f.Error, "waiting for a direct connection")
	})
	for _, p := range []*natPair{cone, sym} {
		t.Logf("%s pair: relay slots %v after start; first messages delivered %v after sending",
			p.kinds, p.relayedAt.Sub(p.startedAt).Round(time.Millisecond), p.deliveredAt.Sub(p.sentAt).Round(time.Millisecond))
	}
	t.Logf("cone pair: direct %v after sending", cone.directAt.Sub(cone.sentAt).Round(time.Millisecond))
}

// Two fresh users behind NATs (one symmetric, so only the relay connects
// them) write to each other as soon as their nodes start: both messages
// arrive through the relay before either node has AutoNAT's verdict (15 s
// at the least), because a node reserves a relay slot at once while its
// reachability is unknown.
func TestNATFirstMessageBeforeVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes in network namespaces")
	}
	in := newInternet(t)
	relayNS, relayIP := in.publicHost()
	relay := startIn(t, relayNS, "relay", t.TempDir(), wanListen, "--relay-service", "--no-mdns")
	p := startNATPair(t, in, "early", [2]natKind{coneNAT, symmetricNAT}, relay.addrOn(relayIP))
	took := p.firstMessages(t, time.Minute)
	for i, n := range p.procs {
		st := n.netStatus()
		if st.Reachability != "unknown" {
			t.Errorf("%s already had AutoNAT's verdict (%s) when the first messages arrived, %v after start", n.Name, st.Reachability, took)
		}
		if tr, addrs := n.transportTo(p.peerIDs[1-i]); tr != "relayed" {
			t.Errorf("%s reaches the other by %q (%v); want relayed", n.Name, tr, addrs)
		}
	}
	t.Logf("start → both first messages delivered: %v", took.Round(time.Millisecond))
}
