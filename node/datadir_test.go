package node_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
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
	// Linked devices: a data dir from before is a person of one device,
	// whose person ID is its peer ID.
	if devices, err := am.Devices(ctx); err != nil || len(devices) != 1 || devices[0].PeerID != facts.Alice || !devices[0].This || devices[0].Name == "" {
		t.Errorf("alice's devices: %+v, %v; want her node alone, named", devices, err)
	}
	contacts, err := am.Contacts(ctx)
	if err != nil || len(contacts) != 1 || contacts[0].PeerID != facts.Bob || contacts[0].Name != "bob" {
		t.Errorf("alice's contacts: %+v, %v; want bob only", contacts, err)
	}
	requests, err := am.Requests(ctx)
	if err != nil || len(requests) != 1 || requests[0].PeerID != facts.Carol {
		t.Errorf("alice's requests: %+v, %v; want carol's", requests, err)
	}
	msgs, err := am.Messages(ctx, facts.Bob, parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	read := []string{fixtureDMs[0] + " read", fixtureDMs[1] + " read", fixtureDMs[2] + " read", fixtureFileName + " read"}
	want := append(slices.Clone(read), fixtureQueued+" queued")
	if got := textsAndStatus(msgs); !slices.Equal(got, want) {
		t.Errorf("alice's conversation with bob: %q, want %q", got, want)
	}
	fromCarol, err := am.Messages(ctx, facts.Carol, parley.Page{}, false)
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
	msgs, err = bm.Messages(ctx, facts.Alice, parley.Page{}, false)
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
	msgs, err := m.GroupMessages(ctx, facts.Group, parley.Page{}, false)
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
func openFixture(t *testing.T, user string) *parleytest.Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), user)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(dataDirFixture, user))); err != nil {
		t.Fatal(err)
	}
	// git keeps no file modes but the executable bit; the keystore was 0600.
	if err := os.Chmod(filepath.Join(dir, "keystore"), 0o600); err != nil {
		t.Fatal(err)
	}
	return parleytest.StartNode(t, "", parleytest.InDir(dir))
}

// TestWriteDataDirFixture writes the fixture with this build; it runs only
// with -write-datadir-fixture.
func TestWriteDataDirFixture(t *testing.T) {
	if !*writeDataDirFixture {
		t.Skip("writes testdata/datadir-v1 only with -write-datadir-fixture")
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	am, cm := alice.Messenger(), carol.Messenger()
	facts := dataDirFacts{Alice: alice.PeerID(), Bob: bob.PeerID(), Carol: carol.PeerID()}
	parleytest.Befriend(t, alice, bob)
	_, _, err := cm.AddContact(ctx, am.Self().InviteLong, "alice")
	must(err)

	// DMs both ways, each delivered before the next, so the order is fixed.
	for i, text := range fixtureDMs {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		sent, err := from.Messenger().Send(ctx, to.PeerID(), text, parley.ClientID{})
		must(err)
		parleytest.Eventually(t, "delivery of "+text, func() bool { return from.StatusOf(to.PeerID(), sent.ID) >= parley.StatusDelivered })
	}
	_, err = cm.Send(ctx, facts.Alice, fixtureRequest, parley.ClientID{})
	must(err)
	parleytest.Eventually(t, "carol's request", func() bool { r, _ := am.Requests(ctx); return len(r) == 1 })

	g := parleytest.CreateGroup(t, fixtureGroupName, alice, bob)
	facts.Group = g.String()
	for i, text := range fixtureGroupTexts {
		[]*parleytest.Node{alice, bob}[i%2].SendToGroup(g, text)
		parleytest.Eventually(t, "group message "+text, func() bool {
			return len(alice.GroupTexts(g)) == i+1 && len(bob.GroupTexts(g)) == i+1
		})
	}

	path := filepath.Join(t.TempDir(), fixtureFileName)
	must(os.WriteFile(path, []byte("Notes from the fixture: every release must read these.\n"), 0o600))
	f, err := am.SendFile(ctx, "bob", path)
	must(err)
	facts.FileID, facts.FileSize = f.ID, f.Size
	bob.WaitComplete(f.ID)

	// Both read everything: read receipts travel both ways.
	for _, n := range []*parleytest.Node{alice, bob} {
		_, err = n.Messenger().Messages(ctx, map[*parleytest.Node]string{alice: facts.Bob, bob: facts.Alice}[n], parley.Page{}, true)
		must(err)
		_, err = n.Messenger().GroupMessages(ctx, facts.Group, parley.Page{}, true)
		must(err)
	}
	parleytest.Eventually(t, "read receipts", func() bool {
		a, b := alice.Messages(facts.Bob), bob.Messages(facts.Alice)
		return slices.Equal(textsAndStatus(a), textsAndStatus(b)) &&
			!slices.ContainsFunc(a, func(m parley.Message) bool { return m.Status != parley.StatusRead })
	})

	carol.Stop()
	bob.Stop()
	_, err = am.Send(ctx, facts.Bob, fixtureQueued, parley.ClientID{}) // stays in alice's outbox
	must(err)
	alice.Stop()

	must(os.RemoveAll(dataDirFixture))
	for _, n := range []*parleytest.Node{alice, bob} {
		must(os.CopyFS(filepath.Join(dataDirFixture, n.Name), os.DirFS(n.Dir)))
	}
	b, err := json.MarshalIndent(facts, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(dataDirFixture, "facts.json"), append(b, '\n'), 0o644))
}
