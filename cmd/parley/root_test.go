package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestNotRunningIsOneLine(t *testing.T) {
	dir := t.TempDir()
	want := "parley: parley is not running for data dir " + dir + " (start it with: parley --data " + dir + ")\n"
	// --data works before and after the subcommand and its arguments.
	for _, args := range [][]string{
		{"send", "--data", dir, "bob", "hi"},
		{"--data", dir, "send", "bob", "hi", "there"},
		{"send", "bob", "hi", "--data", dir},
		{"messages", "bob", "--data=" + dir, "--json", "--limit", "5"},
		{"contact", "list", "--data", dir},
		{"contact", "add", "INVITE", "--name", "bob", "--data", dir},
		{"id", "--data", dir, "--json"},
		{"requests", "--data", dir},
		{"accept", "12D3KooWX", "--data", dir},
		{"peers", "--data", dir},
		{"status", "--json", "--data", dir},
		{"conversations", "--data", dir, "--json"},
		{"group", "create", "book club", "--data", dir, "--json"},
		{"group", "list", "--data", dir},
		{"group", "invites", "--json", "--data", dir},
		{"group", "invite", "team", "bob", "--data", dir},
		{"group", "accept", "team", "--data", dir},
		{"group", "decline", "team", "--data", dir},
		{"group", "members", "team", "--data", dir, "--json"},
		{"group", "remove", "team", "bob", "--data", dir},
		{"group", "role", "team", "bob", "admin", "--data", dir},
		{"--data", dir, "group", "role", "team", "bob", "member"},
		{"group", "rename", "team", "book club", "--data", dir},
		{"group", "leave", "team", "--data", dir},
		{"group", "send", "team", "hi", "all", "--data", dir},
		{"--data", dir, "group", "send", "team", "hi"},
		{"group", "messages", "team", "--data", dir, "--json", "--limit", "5"},
		{"file", "send", "bob", "photo.jpg", "--data", dir},
		{"file", "send", "--data", dir, "team", "/tmp/x", "--no-wait", "--json"},
		{"file", "list", "--data", dir, "--json"},
		{"file", "get", "0123abcd", "--data", dir},
		{"--data", dir, "file", "get", "0123abcd", "--no-wait", "--json"},
		{"file", "cancel", "0123abcd", "--data", dir},
		{"settings", "--data", dir},
		{"settings", "--auto-accept", "10MB", "--data", dir, "--json"},
		{"settings", "--public-dht", "on", "--data", dir},
		{"mailbox", "add", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWX", "--data", dir},
		{"mailbox", "list", "--data", dir, "--json"},
		{"mailbox", "remove", "12D3KooWX", "--data", dir},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitError || stderr != want || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, stdout, stderr, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"send", "bob"},                  // TEXT missing
		{"messages"},                     // CONTACT missing
		{"messages", "a", "b"},           // one too many
		{"accept"},                       //
		{"contact"},                      // subcommand missing
		{"contact", "frob"},              // unknown subcommand
		{"frob"},                         // unknown command
		{"id", "--bogus"},                // unknown flag
		{"messages", "bob", "--limit=x"}, // bad flag value
		{"messages", "bob", "--limit=-1"},
		{"group"},                     // subcommand missing
		{"group", "frob"},             // unknown subcommand
		{"group", "create"},           // NAME missing
		{"group", "create", "a", "b"}, // quote a name with spaces
		{"group", "list", "x"},        //
		{"group", "invites", "x"},     //
		{"group", "invite", "team"},   // CONTACT missing
		{"group", "invite", "t", "a", "b"},
		{"group", "accept"},
		{"group", "accept", "a", "b"},
		{"group", "decline"},
		{"group", "members"},
		{"group", "members", "a", "b"},
		{"group", "remove", "team"}, // MEMBER missing
		{"group", "remove", "t", "a", "b"},
		{"group", "role", "team", "bob"}, // role missing
		{"group", "role", "t", "a", "admin", "b"},
		{"group", "role", "team", "bob", "owner"}, // only admin or member
		{"group", "role", "team", "bob", "Admin"},
		{"group", "role", "team", "bob", "admin", "--json"}, // no --json here
		{"group", "rename", "team"},                         // NAME missing
		{"group", "rename", "team", "book", "club"},         // quote a name with spaces
		{"group", "leave"},
		{"group", "leave", "a", "b"},
		{"group", "send", "team"}, // TEXT missing
		{"group", "messages"},
		{"group", "messages", "a", "b"},
		{"group", "messages", "team", "--limit=-1"},
		{"group", "invite", "team", "bob", "--json"}, // no --json here
		{"file"},                                      // subcommand missing
		{"file", "frob"},                              //
		{"file", "send", "bob"},                       // PATH missing
		{"file", "send", "bob", "a", "b"},             //
		{"file", "list", "x"},                         //
		{"file", "get"},                               // ID missing
		{"file", "get", "a", "b"},                     //
		{"file", "get", "a", "--out", "/nonexistent"}, // not a folder
		{"file", "get", "a", "--out", ".", "--no-wait"},
		{"file", "cancel"},
		{"file", "cancel", "a", "--json"},     // no --json here
		{"settings", "x"},                     //
		{"settings", "--auto-accept", "12XB"}, // not a size
		{"settings", "--auto-accept", "-5MB"},
		{"settings", "--public-dht", "yes"}, // on or off
		{"settings", "--public-dht", "on", "--auto-accept", "5XB"},
		{"run", "--api", "0.0.0.0:0"}, // refused before a node starts
		{"run", "--log-level", "loud"},
	} {
		dir := t.TempDir()
		code, _, stderr := runCLI(t, append(args, "--data", dir)...)
		if code != exitUsage || !strings.HasPrefix(stderr, "parley: ") || !strings.Contains(stderr, "Usage:") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 with the usage", args, code, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%q: a usage error touched the data dir", args)
		}
	}
}

func TestPassphrase(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pass")
	if err := os.WriteFile(file, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(passphraseEnv, "from env")

	got, err := (&runOptions{passphraseFile: file}).passphrase()
	if err != nil || string(got) != "correct horse" {
		t.Errorf("file: %q, %v", got, err)
	}
	got, err = (&runOptions{}).passphrase()
	if err != nil || string(got) != "from env" {
		t.Errorf("env: %q, %v", got, err)
	}
	t.Setenv(passphraseEnv, "")
	got, err = (&runOptions{}).passphrase()
	if err != nil || got != nil {
		t.Errorf("none: %q, %v", got, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := (&runOptions{passphraseFile: empty}).passphrase(); err == nil {
		t.Error("an empty passphrase file was accepted")
	}
	if _, err := (&runOptions{passphraseFile: filepath.Join(dir, "missing")}).passphrase(); err == nil {
		t.Error("a missing passphrase file was accepted")
	}
}

func TestSwarmKeyFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "swarm.key")
	key := "/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("0f", 32) + "\n"
	os.WriteFile(file, []byte(key), 0o600)
	if got, err := (&runOptions{swarmKeyFile: file}).swarmKey(); err != nil || string(got) != key {
		t.Errorf("file: %q, %v", got, err)
	}
	if got, err := (&runOptions{}).swarmKey(); err != nil || got != nil {
		t.Errorf("none: %q, %v", got, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := (&runOptions{swarmKeyFile: empty}).swarmKey(); err == nil {
		t.Error("an empty swarm key file was accepted")
	}
	if _, err := (&runOptions{swarmKeyFile: filepath.Join(dir, "missing")}).swarmKey(); err == nil {
		t.Error("a missing swarm key file was accepted")
	}
	// A malformed key is the node's to refuse, before it touches the data dir.
	os.WriteFile(file, []byte("not a key\n"), 0o600)
	data := filepath.Join(dir, "data")
	code, _, stderr := runCLI(t, "run", "--data", data, "--no-mdns", "--swarm-key", file, "--listen", "/ip4/127.0.0.1/tcp/0")
	if code != exitError || !strings.Contains(stderr, "malformed data: swarm key") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("malformed key: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a malformed key touched the data dir: %v", err)
	}
}

// A look-alike warning from the node is printed after the safety number.
func TestPrintAddedContactWarning(t *testing.T) {
	var buf bytes.Buffer
	err := printAdded(&buf, "Added", client.ContactView{PeerID: "12D3KooWB0b", Name: "Bob", SafetyNumber: "12345",
		Warning: `"Bob" looks like your contact "bob"`})
	if err != nil {
		t.Fatal(err)
	}
	want := "Added Bob (12D3KooWB0b)\nSafety number: 12345\nWarning: \"Bob\" looks like your contact \"bob\"\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestPrintMessages(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 15, 4, 0, time.UTC)
	var buf bytes.Buffer
	err := printMessages(&buf, []client.MessageView{
		{From: "A", FromName: "alice", To: "ME", ToName: "me", Text: "hello", SentAt: at, Status: parley.StatusRead},
		{From: "ME", FromName: "me", To: "A", ToName: "alice", Outgoing: true, Text: "hi", SentAt: at, Status: parley.StatusDelivered},
		{From: "12D3KooWStranger", To: "ME", Text: "who?", SentAt: at, Status: parley.StatusDelivered},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := at.Local().Format(timeLayout)
	want := ts + "  alice → you: hello  [read]\n" +
		ts + "  you → alice: hi  [delivered]\n" +
		ts + "  12D3KooWStranger → you: who?  [delivered]\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestPrintGroupMessages(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 15, 4, 0, time.UTC)
	var buf bytes.Buffer
	err := printMessages(&buf, []client.MessageView{
		{From: "A", FromName: "alice", Text: "hello all", SentAt: at, Status: parley.StatusRead},
		{From: "ME", FromName: "me", Outgoing: true, Text: "hi", SentAt: at, Status: parley.StatusQueued},
		{From: "12D3KooWCarol", Text: "who?", SentAt: at, Status: parley.StatusDelivered},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := at.Local().Format(timeLayout)
	want := ts + "  alice: hello all  [read]\n" +
		ts + "  you: hi  [queued]\n" +
		ts + "  12D3KooWCarol: who?  [delivered]\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestPrintGroups(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 15, 4, 0, time.UTC)
	id1, id2 := parley.ConversationID{1}, parley.ConversationID{2}
	var buf bytes.Buffer
	err := printGroups(&buf, []client.GroupView{
		{ID: id1, Name: "book club", State: parley.GroupJoined, Role: parley.RoleAdmin, Members: 3, Unread: 2,
			LastMessageAt: at, History: parley.HistoryHidden},
		{ID: id2, Name: "hikers", State: parley.GroupLeft, Members: 5, History: parley.HistoryShared},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := at.Local().Format(timeLayout)
	want := "NAME       STATE   ROLE   MEMBERS  HISTORY  UNREAD  LAST MESSAGE         ID\n" +
		"book club  joined  admin  3        hidden   2       " + ts + "  " + id1.String() + "\n" +
		"hikers     left    -      5        shared   0       -                    " + id2.String() + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	err = printGroupInvites(&buf, []client.GroupView{
		{ID: id2, Name: "hikers", State: parley.GroupInvited, Members: 5, InvitedBy: "12D3KooWAlice",
			InvitedByName: "alice", History: parley.HistoryHidden},
	})
	if err != nil {
		t.Fatal(err)
	}
	want = "NAME    INVITED BY  MEMBERS  HISTORY  ID\n" +
		"hikers  alice       5        hidden   " + id2.String() + "\n" +
		"Answer with: parley group accept GROUP, or parley group decline GROUP\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	err = printGroupMembers(&buf, []client.GroupMemberView{
		{PeerID: "12D3KooWMe", Name: "me", Role: parley.RoleAdmin, Self: true, Online: true, Mailboxes: 1},
		{PeerID: "12D3KooWAlice", Name: "alice", Role: parley.RoleMember, Online: true, Mailboxes: 2},
		{PeerID: "12D3KooWCarol", Role: parley.RoleMember},
	})
	if err != nil {
		t.Fatal(err)
	}
	want = `NAME      ROLE    ONLINE  MAILBOXES  PEER ID
me (you)  admin   yes     1          12D3KooWMe
alice     member  yes     2          12D3KooWAlice
-         member  no      0          12D3KooWCarol
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	printGroups(&buf, nil)
	printGroupInvites(&buf, nil)
	if want := "No groups yet. Start one with: parley group create NAME\nNo group invitations.\n"; buf.String() != want {
		t.Errorf("empty lists: %q", buf.String())
	}
}

func TestPrintStatus(t *testing.T) {
	var buf bytes.Buffer
	err := printStatus(&buf, client.NetworkStatusView{
		Reachability:   parley.ReachabilityPrivate,
		ListenAddrs:    []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"},
		AnnouncedAddrs: []string{"/ip4/192.168.1.2/tcp/4001"},
		ObservedAddrs:  []string{"/ip4/203.0.113.7/tcp/4001"},
		Relays:         []string{},
		Peers: []client.ConnectedPeerView{
			{PeerID: "12D3KooWAlice", Name: "alice", Transport: "tcp", Direction: "inbound", Addrs: []string{"/ip4/192.168.1.3/tcp/4001"}},
			{PeerID: "12D3KooWStranger", Transport: "quic-v1", Direction: "outbound", Addrs: []string{"/ip4/1.2.3.4/udp/4001/quic-v1"}},
		},
		DHTMode:        "client",
		DHTPeers:       2,
		MDNS:           true,
		RelayService:   true,
		MailboxService: true,
		Mailbox:        &apitype.MailboxLoadView{Owners: 2, MaxOwners: 1000, Envelopes: 3, Bytes: 4096, Deposits: 5, Refused: 6, Delivered: 2},
		PublicDHT:      true,
		PublicDHTPeers: 17,
		PrivateNetwork: false,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `Reachability:     private
Private network:  no
mDNS:             on
DHT:              client mode, 2 peers in the routing table
Public DHT:       on, 17 peers in the routing table
Relay service:    on
Mailbox service:  on, 2 of 1000 owners, 3 envelopes, 4 KB held
                  since start: 5 deposits stored, 6 refused, 2 delivered
Listening on:     /ip4/0.0.0.0/tcp/4001
                  /ip4/0.0.0.0/udp/4001/quic-v1
Announcing:       /ip4/192.168.1.2/tcp/4001
Observed as:      /ip4/203.0.113.7/tcp/4001
Relays:           (none)

PEER ID           NAME   TRANSPORT  DIRECTION  ADDRESSES
12D3KooWAlice     alice  tcp        inbound    /ip4/192.168.1.3/tcp/4001
12D3KooWStranger  -      quic-v1    outbound   /ip4/1.2.3.4/udp/4001/quic-v1
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	printStatus(&buf, client.NetworkStatusView{Reachability: parley.ReachabilityUnknown, DHTMode: "server"})
	if !strings.HasSuffix(buf.String(), "\nNo peers connected.\n") ||
		!strings.Contains(buf.String(), "\nPublic DHT:       off\nRelay service:    off\nMailbox service:  off\n") {
		t.Errorf("no peers, public DHT and relay service off:\n%s", buf.String())
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine(errors.New("a\nb\r\nc  d\n")); got != "a b c  d" {
		t.Errorf("oneLine = %q", got)
	}
}

// TestRunAndTalk runs a real node in-process: "parley run" until its
// context ends, with client commands against it. The lead's binary tests
// cover signals and two nodes.
func TestRunAndTalk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a libp2p node")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &parleytest.SyncBuffer{}
	var errOut parleytest.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"--data", dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--name", "tester"}, out, &errOut)
	}()

	apiFile := filepath.Join(dir, "api.json")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Peer ID: ") {
		select {
		case code := <-done:
			t.Fatalf("run exited %d: %s", code, errOut.String())
		case <-time.After(20 * time.Millisecond): // polling the output, with a deadline
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not start: %s %s", out.String(), errOut.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// The GUI's address is the install's own name under .localhost (the
	// session cookie is bound to it), not 127.0.0.1.
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Parley is running. Open http://parley-") ||
		!strings.Contains(lines[0], ".localhost:") || !strings.Contains(lines[0], "/?login=") ||
		!strings.HasPrefix(lines[1], "Peer ID: 12D3KooW") {
		t.Fatalf("run printed %q", lines)
	}

	code, stdout, stderr := runCLI(t, "id", "--data", dir)
	if code != 0 || !strings.Contains(stdout, "Name:         tester") || stderr != "" {
		t.Errorf("id: %d %q %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "send", "--data", dir, "bob", "hi")
	if code != exitError || stderr != "parley: unknown contact \"bob\"\n" {
		t.Errorf("send to unknown: %d %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "contact", "add", "not-an-invite", "--data", dir)
	if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "invalid invite") {
		t.Errorf("bad invite: %d %q", code, stderr)
	}
	code, stdout, _ = runCLI(t, "contact", "list", "--json", "--data", dir)
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("contact list --json: %d %q", code, stdout)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := os.Stat(apiFile); !os.IsNotExist(err) {
		t.Errorf("api.json left behind: %v", err)
	}
}
