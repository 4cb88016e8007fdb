package main

// End-to-end tests with the real binary: several parley processes on
// loopback (mDNS off), driven through the CLI as a user would.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// The README's quick start, end to end: two users add each other by
// invite, chat, see delivered and read; one stops, the other keeps writing;
// after a restart every message is there exactly once.
func TestQuickStartTwoUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)

	// send confirms with the status and the message's ID, not the text
	// back (it printed the whole message).
	out := alice.CLI("send", "bob", "hi bob")
	sent := regexp.MustCompile(`^queued for bob: message ([0-9a-f]{64})\n$`).FindStringSubmatch(out)
	if sent == nil {
		t.Fatalf("parley send printed %q, want its status and ID", out)
	}
	if ms := alice.Messages("bob"); len(ms) != 1 || ms[0].ID != sent[1] {
		t.Fatalf("parley send printed ID %s; alice holds %+v", sent[1], ms)
	}
	bob.CLI("send", "alice", "hi alice, how are you?")
	parleytest.Eventually(t, "alice sees delivered", func() bool { return alice.StatusOf("bob", "hi bob") != "queued" })
	// A GUI or bot following alice's event stream sees the read receipt.
	c, err := client.Open(alice.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	// Bob reads the conversation (messages marks it read): alice sees read.
	if got := bob.Messages("alice"); parleytest.Count(got, "hi bob") != 1 {
		t.Fatalf("bob's messages: %+v", got)
	}
	for {
		e, err := events.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for the read event: %v", err)
		}
		if e.Type == "status" && e.Message != nil && e.Message.Text == "hi bob" && e.Message.Status.String() == "read" {
			break
		}
	}
	if s := alice.StatusOf("bob", "hi bob"); s != "read" {
		t.Fatalf("after the read event, the message is %q", s)
	}

	bob.Stop()
	for i := range 3 {
		alice.CLI("send", "bob", fmt.Sprintf("while you were away %d", i))
	}
	if s := alice.StatusOf("bob", "while you were away 0"); s != "queued" {
		t.Fatalf("message to a stopped node is %q, want queued", s)
	}
	bob.Start()
	parleytest.Eventually(t, "queued messages delivered", func() bool {
		return alice.StatusOf("bob", "while you were away 2") != "queued"
	})
	got := bob.Messages("alice")
	for _, text := range []string{"hi bob", "hi alice, how are you?", "while you were away 0", "while you were away 1", "while you were away 2"} {
		if c := parleytest.Count(got, text); c != 1 {
			t.Errorf("bob holds %q %d times, want once", text, c)
		}
	}
	if len(got) != 5 {
		t.Errorf("bob holds %d messages, want 5", len(got))
	}
}

// A node killed with SIGKILL right after `parley send` returned still
// delivers that message after it restarts.
func TestCrashAfterSendLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)

	bob.Stop() // so the message cannot leave before the crash
	alice.CLI("send", "bob", "sent just before the crash")
	alice.Kill9()

	bob.Start()
	alice.Start()
	parleytest.Eventually(t, "bob has the message", func() bool { return parleytest.Count(bob.Messages("alice"), "sent just before the crash") == 1 })
	parleytest.Eventually(t, "alice sees it delivered", func() bool { return alice.StatusOf("bob", "sent just before the crash") != "queued" })

	// The other order: the recipient online, the sender killed at once.
	alice.CLI("send", "bob", "racing the kill")
	alice.Kill9()
	alice.Start()
	parleytest.Eventually(t, "racing message delivered", func() bool { return alice.StatusOf("bob", "racing the kill") != "queued" })
	if c := parleytest.Count(bob.Messages("alice"), "racing the kill"); c != 1 {
		t.Fatalf("bob holds the message %d times, want exactly once", c)
	}
}

// Two processes find each other through a third used as DHT bootstrap: the
// contact is known by peer ID (and keys) alone, with no address.
func TestFindByPeerIDThroughBootstrapNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	hub := parleytest.StartProcess(t, "hub")
	var self struct{ Addrs []string }
	if err := json.Unmarshal([]byte(hub.CLI("id", "--json")), &self); err != nil || len(self.Addrs) == 0 {
		t.Fatalf("hub addresses: %v %v", self.Addrs, err)
	}
	alice := parleytest.StartProcess(t, "alice", "--bootstrap", self.Addrs[0])
	bob := parleytest.StartProcess(t, "bob", "--bootstrap", self.Addrs[0])

	alice.CLI("contact", "add", bob.AddrlessInvite(), "--name", "bob")
	alice.CLI("send", "bob", "found you by your peer ID")
	parleytest.Eventually(t, "delivered through a DHT lookup", func() bool {
		return alice.StatusOf("bob", "found you by your peer ID") != "queued"
	})
	if c := parleytest.Count(bob.Messages(alice.PeerID()), "found you by your peer ID"); c != 1 {
		t.Fatalf("bob holds the message %d times", c)
	}
}

// A stranger's message waits in requests; accepting it lets us answer.
func TestRequestsAndAccept(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, carol := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "carol")
	carol.CLI("contact", "add", alice.Invite(), "--name", "alice") // only carol knows alice
	carol.CLI("send", "alice", "hello from a stranger")

	var reqs []struct {
		PeerID string `json:"peer_id"`
		Name   string `json:"name"`
	}
	parleytest.Eventually(t, "a request", func() bool {
		reqs = nil
		return json.Unmarshal([]byte(alice.CLI("requests", "--json")), &reqs) == nil && len(reqs) == 1
	})
	if reqs[0].Name != "carol" {
		t.Fatalf("request: %+v", reqs[0])
	}
	if out, code := alice.Try("send", reqs[0].PeerID, "hi?"); code != 1 || !strings.Contains(out, "accept") {
		t.Fatalf("answering before accepting: exit %d: %s", code, out)
	}
	alice.CLI("accept", reqs[0].PeerID)
	alice.CLI("send", "carol", "welcome")
	parleytest.Eventually(t, "carol has the answer", func() bool { return parleytest.Count(carol.Messages("alice"), "welcome") == 1 })
}

// With a passphrase the keystore is sealed; a wrong one is refused with one
// line, and the node then starts with the right one, its data intact.
func TestPassphraseProtectedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	t.Setenv("PARLEY_PASSPHRASE", "correct horse battery staple")
	alice := parleytest.StartProcess(t, "alice")
	id := alice.PeerID()
	alice.Stop()
	keystore := filepath.Join(alice.Dir, identity.KeystoreFile)
	before, err := os.ReadFile(keystore)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(parleytest.BuildParley(t), "run", "--data", alice.Dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	cmd.Env = append(os.Environ(), "PARLEY_PASSPHRASE=wrong")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "passphrase") {
		t.Fatalf("wrong passphrase: %v: %s", err, out)
	}
	if after, _ := os.ReadFile(keystore); string(after) != string(before) {
		t.Fatal("a wrong passphrase changed the keystore")
	}
	alice.Start()
	if got := alice.PeerID(); got != id {
		t.Fatalf("peer ID changed across restarts: %s → %s", id, got)
	}
}

// `parley status --json` against a real node: its addresses, the DHT, and
// a contact connected over one of the transports we listen on.
func TestStatusJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	alice.CLI("contact", "add", bob.Invite(), "--name", "bob")
	bobID := bob.PeerID()

	type peer struct {
		PeerID    string   `json:"peer_id"`
		Name      string   `json:"name"`
		Transport string   `json:"transport"`
		Direction string   `json:"direction"`
		Addrs     []string `json:"addrs"`
	}
	var st struct {
		Reachability   string   `json:"reachability"`
		ListenAddrs    []string `json:"listen_addrs"`
		AnnouncedAddrs []string `json:"announced_addrs"`
		Relays         []string `json:"relays"`
		Peers          []peer   `json:"peers"`
		DHTMode        string   `json:"dht_mode"`
		DHTPeers       int      `json:"dht_peers"`
		MDNS           bool     `json:"mdns"`
		RelayService   bool     `json:"relay_service"`
		PublicDHT      bool     `json:"public_dht"`
		PrivateNetwork bool     `json:"private_network"`
	}
	var bobSeen peer
	parleytest.Eventually(t, "alice's status lists bob", func() bool {
		st.Peers = nil
		if err := json.Unmarshal([]byte(alice.CLI("status", "--json")), &st); err != nil {
			t.Fatalf("status --json: %v", err)
		}
		for _, p := range st.Peers {
			if p.PeerID == bobID {
				bobSeen = p
				return true
			}
		}
		return false
	})
	if bobSeen.Name != "bob" || (bobSeen.Transport != "tcp" && bobSeen.Transport != "quic-v1") ||
		bobSeen.Direction != "outbound" || len(bobSeen.Addrs) == 0 {
		t.Errorf("bob as alice sees him: %+v", bobSeen)
	}
	if len(st.ListenAddrs) != 2 || len(st.AnnouncedAddrs) == 0 || st.Relays == nil || len(st.Relays) != 0 {
		t.Errorf("addresses: listen %v, announced %v, relays %#v", st.ListenAddrs, st.AnnouncedAddrs, st.Relays)
	}
	for _, a := range append(st.ListenAddrs, st.AnnouncedAddrs...) {
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/") {
			t.Errorf("address %q is not on loopback", a)
		}
	}
	if st.Reachability != "unknown" || st.DHTMode != "server" || st.MDNS || st.RelayService || st.PublicDHT || st.PrivateNetwork {
		t.Errorf("status: %+v", st)
	}
	if out := alice.CLI("status"); !strings.Contains(out, "Reachability:") || !strings.Contains(out, bobID) {
		t.Errorf("status as text:\n%s", out)
	}
}

// The README's private network: a key made with its command, two members
// who talk over TCP, and QUIC refused. (node's tests keep outsiders out.)
func TestPrivateNetworkFromTheREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	keyDir := t.TempDir()
	mkKey := exec.Command("sh", "-c", readmeLine(t, "printf '/key/swarm/psk/1.0.0/"))
	mkKey.Dir = keyDir
	if out, err := mkKey.CombinedOutput(); err != nil {
		t.Fatalf("the README's key command: %v: %s", err, out)
	}
	key := filepath.Join(keyDir, "swarm.key")
	member := func(name string) *parleytest.Process {
		p := parleytest.NewProcess(t, name)
		p.Args, p.Listen = []string{"--swarm-key", key}, []string{"/ip4/127.0.0.1/tcp/0"}
		p.Start()
		return p
	}
	alice, bob := member("alice"), member("bob")
	alice.CLI("contact", "add", bob.Invite(), "--name", "bob")
	alice.CLI("send", "bob", "members only")
	parleytest.Eventually(t, "delivered in the private network", func() bool { return alice.StatusOf("bob", "members only") != "queued" })

	var st struct {
		ListenAddrs    []string `json:"listen_addrs"`
		PrivateNetwork bool     `json:"private_network"`
	}
	if err := json.Unmarshal([]byte(alice.CLI("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if !st.PrivateNetwork || len(st.ListenAddrs) != 1 || !strings.Contains(st.ListenAddrs[0], "/tcp/") {
		t.Errorf("alice's status: %+v", st)
	}
	if out := alice.CLI("status"); !strings.Contains(out, "Private network:  yes") {
		t.Errorf("status as text:\n%s", out)
	}

	// The same key refuses QUIC, with one line and exit 1.
	out, err := exec.Command(parleytest.BuildParley(t), "run", "--data", t.TempDir(), "--no-mdns", "--swarm-key", key,
		"--listen", "/ip4/127.0.0.1/udp/0/quic-v1").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "QUIC cannot run in a private network") {
		t.Errorf("QUIC with a swarm key: %v: %s", err, out)
	}
}

// readmeLine is the line of the README that starts with prefix: the
// commands the README shows are the ones tests run.
func readmeLine(t *testing.T, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("README.md has no line starting with %q", prefix)
	return ""
}

// `parley open` gives a one-time login URL: it logs a browser in once, and
// the API token never appears in it. `parley logout --all` ends the
// session.
func TestOpenGivesOneTimeLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice := parleytest.StartProcess(t, "alice")
	u := strings.TrimSpace(alice.CLI("open", "--no-browser"))
	if !strings.HasPrefix(u, alice.GUIURL()+"?login=") {
		t.Fatalf("parley open printed %q; want %s?login=CODE", u, alice.GUIURL())
	}
	apiFile, err := os.ReadFile(filepath.Join(alice.Dir, "api.json"))
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ URL, Token string }
	if err := json.Unmarshal(apiFile, &api); err != nil || strings.Contains(u, api.Token) {
		t.Fatalf("the login URL carries the API token (%v)", err)
	}
	// A browser resolves NAME.localhost to loopback by itself; Go's
	// resolver need not, so this one dials the API's address.
	browser := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, strings.TrimPrefix(api.URL, "http://"))
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(u string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get(u)
	if first.StatusCode != http.StatusSeeOther || len(first.Cookies()) != 1 {
		t.Fatalf("first use: status %d, %d cookies; want 303 and a session cookie", first.StatusCode, len(first.Cookies()))
	}
	if resp := get(u); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("second use: status %d, %d cookies; want 401 and none", resp.StatusCode, len(resp.Cookies()))
	}
	contacts := alice.GUIURL() + "api/v1/contacts"
	if resp := get(contacts, first.Cookies()[0]); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session: %d", resp.StatusCode)
	}
	if out, code := alice.Try("logout"); code == 0 || !strings.Contains(out, "--all") {
		t.Errorf("parley logout without --all: exit %d, %q", code, out)
	}
	if resp := get(contacts, first.Cookies()[0]); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session after a refused parley logout: %d", resp.StatusCode)
	}
	if out := alice.CLI("logout", "--all"); !strings.Contains(out, "Every browser is logged out") {
		t.Errorf("parley logout --all printed %q", out)
	}
	if resp := get(contacts, first.Cookies()[0]); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the session after parley logout --all: %d, want 401", resp.StatusCode)
	}
}
