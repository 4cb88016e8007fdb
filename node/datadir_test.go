package node_test

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node"
)

// The fixture under testdata/datadir-v1 holds the data dirs of two users,
// alice and bob, as the release of December 2026 wrote them (keystore,
// settings, remembered ports and an encrypted badger store): DMs both
// ways, a stranger's request, a group with messages, a file sent and
// received, and a message still waiting in alice's outbox. Every later
// release must open them and show the same conversation. Regenerate only
// when the fixture itself must change, never to make a failing test pass:
//
//	go test ./node -run TestWriteDataDirFixture -write-datadir-fixture
var writeDataDirFixture = flag.Bool("write-datadir-fixture", false, "rewrite testdata/datadir-v1 with this build")

const dataDirFixture = "testdata/datadir-v1"

// dataDirFacts are the fixture's identities, which the test cannot know
// in advance; everything else it checks is written out in the test.
type dataDirFacts struct {
	Alice    string `json:"alice"`
	Bob      string `json:"bob"`
	Carol    string `json:"carol"`
	Group    string `json:"group"`
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size"`
}

// The fixture's conversation, in display order.
var (
	fixtureDMs        = []string{"hello bob", "hi alice", "how are you?"}
	fixtureQueued     = "while you were away"
	fixtureGroupName  = "fixture friends"
	fixtureGroupTexts = []string{"welcome to the group", "glad to be here"}
	fixtureRequest    = "hello, we have not met"
	fixtureFileName   = "notes.txt"
)

func TestOldDataDirOpens(t *testing.T) {
	var facts dataDirFacts
	b, err := os.ReadFile(filepath.Join(dataDirFixture, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &facts); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	alice := openFixture(t, "alice")
	am := alice.Messenger()
	if self := am.Self(); self.PeerID != facts.Alice || self.Name != "alice" {
		t.Errorf("alice's identity: %s %q, want %s \"alice\"", self.PeerID, self.Name, facts.Alice)
	}
	contacts, err := am.Contacts(ctx)
	if err != nil || len(contacts) != 1 || contacts[0].PeerID != facts.Bob || contacts[0].Name != "bob" {
		t.Errorf("alice's contacts: %+v, %v; want bob only", contacts, err)
	}
	requests, err := am.Requests(ctx)
	if err != nil || len(requests) != 1 || requests[0].PeerID != facts.Carol {
		t.Errorf("alice's requests: %+v, %v; want carol's", requests, err)
	}
	msgs, err := am.Messages(ctx, facts.Bob, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	read := []string{fixtureDMs[0] + " read", fixtureDMs[1] + " read", fixtureDMs[2] + " read", fixtureFileName + " read"}
	want := append(slices.Clone(read), fixtureQueued+" queued")
	if got := textsAndStatus(msgs); !slices.Equal(got, want) {
		t.Errorf("alice's conversation with bob: %q, want %q", got, want)
	}
	fromCarol, err := am.Messages(ctx, facts.Carol, 0, false)
	if err != nil || len(fromCarol) != 1 || fromCarol[0].Text != fixtureRequest {
		t.Errorf("carol's request: %+v, %v", fromCarol, err)
	}
	checkFixtureGroup(t, am, facts, parley.RoleAdmin)
	files, err := am.Files(ctx)
	if err != nil || len(files) != 1 {
		t.Fatalf("alice's files: %+v, %v", files, err)
	}
	if f := files[0]; f.ID != facts.FileID || f.Name != fixtureFileName || f.Size != facts.FileSize || !f.Outgoing {
		t.Errorf("alice's offer: %+v", f)
	}

	bob := openFixture(t, "bob")
	bm := bob.Messenger()
	if self := bm.Self(); self.PeerID != facts.Bob || self.Name != "bob" {
		t.Errorf("bob's identity: %s %q", self.PeerID, self.Name)
	}
	msgs, err = bm.Messages(ctx, facts.Alice, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := textsAndStatus(msgs); !slices.Equal(got, read) {
		t.Errorf("bob's conversation with alice: %q, want %q", got, read)
	}
	checkFixtureGroup(t, bm, facts, parley.RoleMember)
	files, err = bm.Files(ctx)
	if err != nil || len(files) != 1 {
		t.Fatalf("bob's files: %+v, %v", files, err)
	}
	if f := files[0]; f.ID != facts.FileID || f.State != parley.FileComplete || f.Outgoing || f.BytesDone != facts.FileSize {
		t.Errorf("bob's download: %+v", f)
	}
}

func checkFixtureGroup(t *testing.T, m *node.Messenger, facts dataDirFacts, role parley.Role) {
	t.Helper()
	ctx := context.Background()
	groups, err := m.Groups(ctx)
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups: %+v, %v", groups, err)
	}
	g := groups[0]
	if g.ID.String() != facts.Group || g.Name != fixtureGroupName || g.State != parley.GroupJoined || g.Role != role || g.Members != 2 {
		t.Errorf("group: %+v", g)
	}
	msgs, err := m.GroupMessages(ctx, facts.Group, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, msg := range msgs {
		texts = append(texts, msg.Text)
	}
	if !slices.Equal(texts, fixtureGroupTexts) {
		t.Errorf("group messages: %q, want %q", texts, fixtureGroupTexts)
	}
}

func textsAndStatus(msgs []parley.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text+" "+m.Status.String())
	}
	return out
}

// openFixture starts a node on a copy of one user's fixture data dir.
func openFixture(t *testing.T, user string) *node.Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), user)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(dataDirFixture, user))); err != nil {
		t.Fatal(err)
	}
	// git keeps no file modes but the executable bit; the keystore was 0600.
	if err := os.Chmod(filepath.Join(dir, "keystore"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := node.New(context.Background(), node.Config{
		DataDir: dir,
		Listen:  []string{"/ip4/127.0.0.1/tcp/0"},
		Logger:  slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("opening %s's data dir from the fixture: %v", user, err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("closing %s: %v", user, err)
		}
	})
	return n
}

// TestWriteDataDirFixture writes the fixture with this build; it runs only
// with -write-datadir-fixture.
func TestWriteDataDirFixture(t *testing.T) {
	if !*writeDataDirFixture {
		t.Skip("writes testdata/datadir-v1 only with -write-datadir-fixture")
	}
	ctx := context.Background()
	root := t.TempDir()
	start := func(name string) *node.Node {
		n, err := node.New(ctx, node.Config{
			DataDir:  filepath.Join(root, name),
			Listen:   []string{"/ip4/127.0.0.1/tcp/0"},
			Name:     name,
			RetryMin: 20 * time.Millisecond,
			RetryMax: 200 * time.Millisecond,
			Logger:   slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	alice, bob, carol := start("alice"), start("bob"), start("carol")
	am, bm, cm := alice.Messenger(), bob.Messenger(), carol.Messenger()
	facts := dataDirFacts{Alice: am.Self().PeerID, Bob: bm.Self().PeerID, Carol: cm.Self().PeerID}
	_, err := am.AddContact(ctx, bm.Self().Invite, "bob")
	must(err)
	_, err = bm.AddContact(ctx, am.Self().Invite, "alice")
	must(err)
	_, err = cm.AddContact(ctx, am.Self().Invite, "alice")
	must(err)

	// DMs both ways, each delivered before the next, so the order is fixed.
	for i, text := range fixtureDMs {
		from, to := am, facts.Bob
		if i%2 == 1 {
			from, to = bm, facts.Alice
		}
		sent, err := from.Send(ctx, to, text)
		must(err)
		until("delivery of "+text, func() bool {
			ms, err := from.Messages(ctx, to, 0, false)
			return err == nil && len(ms) > 0 && ms[len(ms)-1].ID == sent.ID && ms[len(ms)-1].Status >= parley.StatusDelivered
		})
	}
	_, err = am.Messages(ctx, facts.Bob, 0, true) // read receipts both ways
	must(err)
	_, err = bm.Messages(ctx, facts.Alice, 0, true)
	must(err)
	until("read receipts", func() bool {
		a, _ := am.Messages(ctx, facts.Bob, 0, false)
		b, _ := bm.Messages(ctx, facts.Alice, 0, false)
		return slices.Equal(textsAndStatus(a), textsAndStatus(b)) &&
			!slices.ContainsFunc(a, func(m parley.Message) bool { return m.Status != parley.StatusRead })
	})
	_, err = cm.Send(ctx, facts.Alice, fixtureRequest)
	must(err)
	until("carol's request", func() bool { r, _ := am.Requests(ctx); return len(r) == 1 })

	g, err := am.CreateGroup(ctx, fixtureGroupName)
	must(err)
	facts.Group = g.ID.String()
	_, err = am.InviteToGroup(ctx, facts.Group, "bob")
	must(err)
	until("bob's invitation", func() bool { inv, _ := bm.GroupInvites(ctx); return len(inv) == 1 })
	_, err = bm.AcceptGroup(ctx, facts.Group)
	must(err)
	for i, text := range fixtureGroupTexts {
		from := []*node.Messenger{am, bm}[i%2]
		_, err := from.SendToGroup(ctx, facts.Group, text)
		must(err)
		until("group message "+text, func() bool {
			a, _ := am.GroupMessages(ctx, facts.Group, 0, false)
			b, _ := bm.GroupMessages(ctx, facts.Group, 0, false)
			return len(a) == i+1 && len(b) == i+1
		})
	}
	_, err = am.GroupMessages(ctx, facts.Group, 0, true)
	must(err)
	_, err = bm.GroupMessages(ctx, facts.Group, 0, true)
	must(err)

	path := filepath.Join(root, fixtureFileName)
	must(os.WriteFile(path, []byte("Notes from the fixture: every release must read these.\n"), 0o600))
	f, err := am.SendFile(ctx, "bob", path)
	must(err)
	facts.FileID, facts.FileSize = f.ID, f.Size
	until("bob's download", func() bool {
		got, err := bm.File(ctx, f.ID)
		return err == nil && got.State == parley.FileComplete
	})
	// The offer shows in the DM conversation as a file message: read it too.
	_, err = am.Messages(ctx, facts.Bob, 0, true)
	must(err)
	_, err = bm.Messages(ctx, facts.Alice, 0, true)
	must(err)

	must(carol.Close())
	must(bob.Close())
	_, err = am.Send(ctx, facts.Bob, fixtureQueued) // stays in alice's outbox
	must(err)
	must(alice.Close())

	must(os.RemoveAll(dataDirFixture))
	for _, user := range []string{"alice", "bob"} {
		must(os.CopyFS(filepath.Join(dataDirFixture, user), os.DirFS(filepath.Join(root, user))))
	}
	b, err := json.MarshalIndent(facts, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(dataDirFixture, "facts.json"), append(b, '\n'), 0o644))
}
