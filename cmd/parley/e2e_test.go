package main

// End-to-end tests with the real binary: several parley processes on
// loopback (mDNS off), driven through the CLI as a user would.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/identity"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// parleyBinary builds cmd/parley once per test run.
func parleyBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is one parley process and its data dir.
type proc struct {
	t    testing.TB
	name string
	dir  string
	args []string
	// listen replaces the default loopback TCP and QUIC listen addresses.
	listen []string
	cmd    *exec.Cmd
	out    *syncBuffer
}

// startProc runs `parley run` for a user named name in a fresh data dir.
func startProc(t testing.TB, name string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, dir: t.TempDir(), args: extra}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) start() {
	p.t.Helper()
	listen := p.listen
	if listen == nil {
		listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	}
	args := []string{"run", "--data", p.dir, "--no-mdns", "--name", p.name}
	for _, a := range listen {
		args = append(args, "--listen", a)
	}
	args = append(args, p.args...)
	p.out = &syncBuffer{}
	p.cmd = exec.Command(parleyBinary(p.t), args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	waitUntil(p.t, p.name+" serving its API", func() bool {
		if p.cmd.ProcessState != nil {
			p.t.Fatalf("%s exited: %s", p.name, p.out.String())
		}
		return strings.Contains(p.out.String(), "Peer ID: ")
	})
}

// stop ends the process with SIGTERM and expects a clean exit.
func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.cmd.Wait()
	p.cmd = nil
	if err != nil {
		p.t.Errorf("%s did not shut down cleanly: %v\n%s", p.name, err, p.out.String())
	}
}

// kill9 ends the process the hard way, as a crash or power cut would.
func (p *proc) kill9() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
	p.cmd = nil
}

// cli runs a subcommand against this node and fails the test on error.
func (p *proc) cli(args ...string) string {
	p.t.Helper()
	out, code := p.try(args...)
	if code != 0 {
		p.t.Fatalf("%s: parley %s: exit %d: %s", p.name, strings.Join(args, " "), code, out)
	}
	return out
}

// try runs a subcommand with --data after it, as the README shows.
func (p *proc) try(args ...string) (string, int) {
	p.t.Helper()
	full := append(args[:1:1], append([]string{"--data", p.dir}, args[1:]...)...)
	if args[0] == "contact" || args[0] == "group" || args[0] == "file" {
		full = append([]string{args[0], args[1], "--data", p.dir}, args[2:]...)
	}
	out, err := exec.Command(parleyBinary(p.t), full...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return string(out), 0
}

type jsonMessage struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	Text   string `json:"text"`
	SentAt string `json:"sent_at"`
	Status string `json:"status"`
}

// messages lists the conversation (which marks it read, as viewing does).
func (p *proc) messages(with string) []jsonMessage {
	p.t.Helper()
	var ms []jsonMessage
	if err := json.Unmarshal([]byte(p.cli("messages", with, "--json", "--limit", "0")), &ms); err != nil {
		p.t.Fatalf("messages --json: %v", err)
	}
	return ms
}

func (p *proc) invite() string {
	p.t.Helper()
	var self struct{ Invite string }
	if err := json.Unmarshal([]byte(p.cli("id", "--json")), &self); err != nil {
		p.t.Fatal(err)
	}
	return self.Invite
}

func (p *proc) peerID() string {
	p.t.Helper()
	var self struct {
		PeerID string `json:"peer_id"`
		Addrs  []string
	}
	if err := json.Unmarshal([]byte(p.cli("id", "--json")), &self); err != nil {
		p.t.Fatal(err)
	}
	return self.PeerID
}

// statusOf finds a message by text in p's conversation with peer.
func (p *proc) statusOf(with, text string) string {
	p.t.Helper()
	for _, m := range p.messages(with) {
		if m.Text == text {
			return m.Status
		}
	}
	return ""
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func count(ms []jsonMessage, text string) int {
	n := 0
	for _, m := range ms {
		if m.Text == text {
			n++
		}
	}
	return n
}

// The README's quick start, end to end: two users add each other by
// invite, chat, see delivered and read; one stops, the other keeps writing;
// after a restart every message is there exactly once.
func TestQuickStartTwoUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := startProc(t, "alice"), startProc(t, "bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	bob.cli("contact", "add", alice.invite(), "--name", "alice")

	alice.cli("send", "bob", "hi bob")
	bob.cli("send", "alice", "hi alice, how are you?")
	waitUntil(t, "alice sees delivered", func() bool { return alice.statusOf("bob", "hi bob") != "queued" })
	// A GUI or bot following alice's event stream sees the read receipt.
	c, err := client.Open(alice.dir)
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
	if got := bob.messages("alice"); count(got, "hi bob") != 1 {
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
	if s := alice.statusOf("bob", "hi bob"); s != "read" {
		t.Fatalf("after the read event, the message is %q", s)
	}

	bob.stop()
	for i := range 3 {
		alice.cli("send", "bob", fmt.Sprintf("while you were away %d", i))
	}
	if s := alice.statusOf("bob", "while you were away 0"); s != "queued" {
		t.Fatalf("message to a stopped node is %q, want queued", s)
	}
	bob.start()
	waitUntil(t, "queued messages delivered", func() bool {
		return alice.statusOf("bob", "while you were away 2") != "queued"
	})
	got := bob.messages("alice")
	for _, text := range []string{"hi bob", "hi alice, how are you?", "while you were away 0", "while you were away 1", "while you were away 2"} {
		if c := count(got, text); c != 1 {
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
	alice, bob := startProc(t, "alice"), startProc(t, "bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	bob.cli("contact", "add", alice.invite(), "--name", "alice")

	bob.stop() // so the message cannot leave before the crash
	alice.cli("send", "bob", "sent just before the crash")
	alice.kill9()

	bob.start()
	alice.start()
	waitUntil(t, "bob has the message", func() bool { return count(bob.messages("alice"), "sent just before the crash") == 1 })
	waitUntil(t, "alice sees it delivered", func() bool { return alice.statusOf("bob", "sent just before the crash") != "queued" })

	// The other order: the recipient online, the sender killed at once.
	alice.cli("send", "bob", "racing the kill")
	alice.kill9()
	alice.start()
	waitUntil(t, "racing message delivered", func() bool { return alice.statusOf("bob", "racing the kill") != "queued" })
	if c := count(bob.messages("alice"), "racing the kill"); c != 1 {
		t.Fatalf("bob holds the message %d times, want exactly once", c)
	}
}

// Two processes find each other through a third used as DHT bootstrap: the
// contact is known by peer ID (and keys) alone, with no address.
func TestFindByPeerIDThroughBootstrapNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	hub := startProc(t, "hub")
	var self struct{ Addrs []string }
	if err := json.Unmarshal([]byte(hub.cli("id", "--json")), &self); err != nil || len(self.Addrs) == 0 {
		t.Fatalf("hub addresses: %v %v", self.Addrs, err)
	}
	alice := startProc(t, "alice", "--bootstrap", self.Addrs[0])
	bob := startProc(t, "bob", "--bootstrap", self.Addrs[0])

	alice.cli("contact", "add", addrlessInvite(t, bob), "--name", "bob")
	alice.cli("send", "bob", "found you by your peer ID")
	waitUntil(t, "delivered through a DHT lookup", func() bool {
		return alice.statusOf("bob", "found you by your peer ID") != "queued"
	})
	if c := count(bob.messages(alice.peerID()), "found you by your peer ID"); c != 1 {
		t.Fatalf("bob holds the message %d times", c)
	}
}

// addrlessInvite is p's invite with every address left out.
func addrlessInvite(t *testing.T, p *proc) string {
	t.Helper()
	id, _, err := identity.LoadOrCreate(p.dir, identity.KeystoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := id.SignCard(identity.Card{PeerID: id.PeerID, Name: p.name, HPKEKey: id.HPKEPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	return identity.EncodeInvite(signed)
}

// A stranger's message waits in requests; accepting it lets us answer.
func TestRequestsAndAccept(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, carol := startProc(t, "alice"), startProc(t, "carol")
	carol.cli("contact", "add", alice.invite(), "--name", "alice") // only carol knows alice
	carol.cli("send", "alice", "hello from a stranger")

	var reqs []struct {
		PeerID string `json:"peer_id"`
		Name   string `json:"name"`
	}
	waitUntil(t, "a request", func() bool {
		reqs = nil
		return json.Unmarshal([]byte(alice.cli("requests", "--json")), &reqs) == nil && len(reqs) == 1
	})
	if reqs[0].Name != "carol" {
		t.Fatalf("request: %+v", reqs[0])
	}
	if out, code := alice.try("send", reqs[0].PeerID, "hi?"); code != 1 || !strings.Contains(out, "accept") {
		t.Fatalf("answering before accepting: exit %d: %s", code, out)
	}
	alice.cli("accept", reqs[0].PeerID)
	alice.cli("send", "carol", "welcome")
	waitUntil(t, "carol has the answer", func() bool { return count(carol.messages("alice"), "welcome") == 1 })
}

// With a passphrase the keystore is sealed; a wrong one is refused with one
// line, and the node then starts with the right one, its data intact.
func TestPassphraseProtectedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	t.Setenv("PARLEY_PASSPHRASE", "correct horse battery staple")
	alice := startProc(t, "alice")
	id := alice.peerID()
	alice.stop()
	keystore := filepath.Join(alice.dir, identity.KeystoreFile)
	before, err := os.ReadFile(keystore)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(parleyBinary(t), "run", "--data", alice.dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	cmd.Env = append(os.Environ(), "PARLEY_PASSPHRASE=wrong")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "passphrase") {
		t.Fatalf("wrong passphrase: %v: %s", err, out)
	}
	if after, _ := os.ReadFile(keystore); string(after) != string(before) {
		t.Fatal("a wrong passphrase changed the keystore")
	}
	alice.start()
	if got := alice.peerID(); got != id {
		t.Fatalf("peer ID changed across restarts: %s → %s", id, got)
	}
}

// `parley status --json` against a real node: its addresses, the DHT, and
// a contact connected over one of the transports we listen on.
func TestStatusJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := startProc(t, "alice"), startProc(t, "bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	bobID := bob.peerID()

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
	waitUntil(t, "alice's status lists bob", func() bool {
		st.Peers = nil
		if err := json.Unmarshal([]byte(alice.cli("status", "--json")), &st); err != nil {
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
	if out := alice.cli("status"); !strings.Contains(out, "Reachability:") || !strings.Contains(out, bobID) {
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
	member := func(name string) *proc {
		p := &proc{t: t, name: name, dir: t.TempDir(), args: []string{"--swarm-key", key},
			listen: []string{"/ip4/127.0.0.1/tcp/0"}}
		p.start()
		t.Cleanup(p.stop)
		return p
	}
	alice, bob := member("alice"), member("bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	alice.cli("send", "bob", "members only")
	waitUntil(t, "delivered in the private network", func() bool { return alice.statusOf("bob", "members only") != "queued" })

	var st struct {
		ListenAddrs    []string `json:"listen_addrs"`
		PrivateNetwork bool     `json:"private_network"`
	}
	if err := json.Unmarshal([]byte(alice.cli("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if !st.PrivateNetwork || len(st.ListenAddrs) != 1 || !strings.Contains(st.ListenAddrs[0], "/tcp/") {
		t.Errorf("alice's status: %+v", st)
	}
	if out := alice.cli("status"); !strings.Contains(out, "Private network:  yes") {
		t.Errorf("status as text:\n%s", out)
	}

	// The same key refuses QUIC, with one line and exit 1.
	out, err := exec.Command(parleyBinary(t), "run", "--data", t.TempDir(), "--no-mdns", "--swarm-key", key,
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
// the API token never appears in it.
func TestOpenGivesOneTimeLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice := startProc(t, "alice")
	u := strings.TrimSpace(alice.cli("open", "--no-browser"))
	if !strings.Contains(u, "/?login=") {
		t.Fatalf("parley open printed %q", u)
	}
	apiFile, err := os.ReadFile(filepath.Join(alice.dir, "api.json"))
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ Token string }
	if err := json.Unmarshal(apiFile, &api); err != nil || strings.Contains(u, api.Token) {
		t.Fatalf("the login URL carries the API token (%v)", err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func() *http.Response {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("first use: status %d, %d cookies; want 303 and a session cookie", resp.StatusCode, len(resp.Cookies()))
	}
	if resp := get(); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("second use: status %d, %d cookies; want 401 and none", resp.StatusCode, len(resp.Cookies()))
	}
}
