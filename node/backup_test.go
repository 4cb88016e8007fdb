package node_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// fastScrypt keeps each backup's key derivation to milliseconds.
func fastScrypt(c *node.Config) { c.ScryptWorkFactor = 10 }

var backupPass = []byte("correct horse battery staple")

func takeBackup(t *testing.T, n *parleytest.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := n.Messenger().Backup(context.Background(), &buf, backupPass); err != nil {
		t.Fatalf("backup of %s: %v", n.Name, err)
	}
	return buf.Bytes()
}

func restoreInto(dir string, archive, pass []byte) (node.BackupManifest, error) {
	return node.Restore(context.Background(), node.RestoreConfig{DataDir: dir, Archive: bytes.NewReader(archive), Passphrase: pass})
}

// A node restored from a backup onto a fresh data dir is the same person:
// same peer ID, contacts, DM history both ways, group membership and
// history, file records and settings; and a contact's new message reaches
// it.
func TestBackupRestoresTheSamePerson(t *testing.T) {
	ctx := context.Background()
	alice := parleytest.StartNode(t, "alice", fastScrypt)
	bob, carol := parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)

	toBob, err := alice.Messenger().Send(ctx, "bob", "hi bob", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	fromBob, err := bob.Messenger().Send(ctx, "alice", "hi alice", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "both DMs delivered", func() bool {
		return len(alice.Messages("bob")) == 2 && len(bob.Messages("alice")) == 2
	})
	g := parleytest.CreateGroup(t, "friends", alice, bob, carol)
	alice.SendToGroup(g, "group hello from alice")
	carol.SendToGroup(g, "group hello from carol")
	parleytest.Eventually(t, "alice holding both group messages", func() bool { return len(alice.GroupTexts(g)) == 2 })
	path, _ := parleytest.RandomFile(t, t.TempDir(), "notes.txt", 1000)
	file, err := alice.Messenger().SendFile(ctx, "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Messenger().SetAutoAccept(ctx, 12345); err != nil {
		t.Fatal(err)
	}

	wantDM := alice.Messages("bob")
	wantGroup := alice.GroupTexts(g)
	wantMembers := alice.MemberIDs(g)
	wantContacts := contactIDs(t, alice)
	archive := takeBackup(t, alice)
	if bytes.Contains(archive, []byte("hi bob")) || bytes.Contains(archive, []byte(alice.PeerID())) {
		t.Fatal("the backup holds text or the peer ID in clear")
	}
	alice.Stop()

	dir := filepath.Join(t.TempDir(), "restored")
	m, err := restoreInto(dir, archive, backupPass)
	if err != nil {
		t.Fatal(err)
	}
	if m.PeerID != alice.PeerID() {
		t.Fatalf("manifest names %s, want %s", m.PeerID, alice.PeerID())
	}
	again := parleytest.StartNode(t, "alice", parleytest.InDir(dir))
	if again.PeerID() != alice.PeerID() {
		t.Fatalf("restored node is %s, want %s", again.PeerID(), alice.PeerID())
	}
	if got := contactIDs(t, again); !slices.Equal(got, wantContacts) {
		t.Fatalf("contacts %v, want %v", got, wantContacts)
	}
	if got := again.Messages("bob"); !sameMessages(got, wantDM) {
		t.Fatalf("DM history %v, want %v", textList(got), textList(wantDM))
	}
	if got := again.GroupTexts(g); !slices.Equal(got, wantGroup) {
		t.Fatalf("group history %q, want %q", got, wantGroup)
	}
	if got := again.MemberIDs(g); !slices.Equal(got, wantMembers) {
		t.Fatalf("group members %v, want %v", got, wantMembers)
	}
	if st := again.GroupState(g); st != parley.GroupJoined {
		t.Fatalf("group state %v, want joined", st)
	}
	if f := again.File(file.ID); f.Name != "notes.txt" || !f.Outgoing {
		t.Fatalf("file record %+v", f)
	}
	if s := again.Messenger().Settings(ctx); s.AutoAcceptBytes != 12345 {
		t.Fatalf("auto-accept %d, want 12345", s.AutoAcceptBytes)
	}
	for _, id := range []parley.EnvelopeID{toBob.ID, fromBob.ID} {
		if !slices.ContainsFunc(again.Messages("bob"), func(m parley.Message) bool { return m.ID == id }) {
			t.Fatalf("message %s missing", id)
		}
	}

	// It is the same identity: what bob writes now reaches it, and what it
	// writes reaches bob and the group.
	if _, err := bob.Messenger().Send(ctx, "alice", "welcome back", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "the restored node receiving bob's DM", func() bool {
		return slices.Contains(textList(again.Messages("bob")), "welcome back")
	})
	again.SendToGroup(g, "restored and back")
	parleytest.Eventually(t, "carol receiving the restored node's group message", func() bool {
		return slices.Contains(carol.GroupTexts(g), "restored and back")
	})
}

// Restore refuses a wrong passphrase and a data dir that holds an identity,
// writing nothing; a damaged or truncated backup is refused and leaves
// nothing behind.
func TestRestoreRefusals(t *testing.T) {
	alice := parleytest.StartNode(t, "alice", fastScrypt)
	archive := takeBackup(t, alice)

	t.Run("wrong passphrase", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new")
		_, err := restoreInto(dir, archive, []byte("wrong"))
		if !errors.Is(err, parley.ErrWrongPassphrase) {
			t.Fatalf("got %v, want ErrWrongPassphrase", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the data dir was created: %v", err)
		}
	})
	t.Run("existing identity", func(t *testing.T) {
		other := parleytest.StartNode(t, "other")
		other.Stop()
		before := dirListing(t, other.Dir)
		_, err := restoreInto(other.Dir, archive, backupPass)
		if !errors.Is(err, node.ErrWouldOverwrite) {
			t.Fatalf("got %v, want ErrWouldOverwrite", err)
		}
		if after := dirListing(t, other.Dir); !slices.Equal(before, after) {
			t.Fatalf("the data dir changed: %v → %v", before, after)
		}
	})
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte {
			b = slices.Clone(b)
			b[len(b)*2/3] ^= 1
			return b
		}},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }},
		{"cut at the end", func(b []byte) []byte { return b[:len(b)-1] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				dir := filepath.Join(t.TempDir(), "new")
				if existing {
					if err := os.Mkdir(dir, 0o700); err != nil {
						t.Fatal(err)
					}
				}
				_, err := restoreInto(dir, c.damage(archive), backupPass)
				if !errors.Is(err, parley.ErrMalformed) {
					t.Fatalf("got %v, want ErrMalformed", err)
				}
				if existing {
					if got := dirListing(t, dir); len(got) != 0 {
						t.Fatalf("left behind: %v", got)
					}
				} else if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the data dir was left behind: %v", err)
				}
			}
		})
	}
	t.Run("empty passphrase", func(t *testing.T) {
		err := alice.Messenger().Backup(context.Background(), &bytes.Buffer{}, nil)
		if !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	})
}

func contactIDs(t *testing.T, n *parleytest.Node) []string {
	t.Helper()
	cs, err := n.Messenger().Contacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.PeerID+" "+c.Name)
	}
	slices.Sort(ids)
	return ids
}

func sameMessages(a, b []parley.Message) bool {
	return slices.EqualFunc(a, b, func(x, y parley.Message) bool {
		return x.ID == y.ID && x.Text == y.Text && x.Outgoing == y.Outgoing
	})
}

func textList(ms []parley.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
