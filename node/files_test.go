package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// A 200 MiB file reaches a contact intact; above the auto-accept limit, it
// waits for the recipient to accept it.
func TestLargeFileToContact(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MiB")
	}
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	path, sum := parleytest.RandomFile(t, t.TempDir(), "holiday video.mp4", 200<<20)
	sent, err := alice.Messenger().SendFile(context.Background(), "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Name != "holiday video.mp4" || sent.Size != 200<<20 || !sent.Outgoing || sent.MediaType != "video/mp4" {
		t.Fatalf("offer: %+v", sent)
	}
	bob.WaitFile(sent.ID)
	if f := bob.File(sent.ID); f.State != parley.FileOffered {
		t.Fatalf("a 200 MiB file was fetched without asking: %+v", f)
	}
	msgs := bob.Messages(alice.PeerID())
	if len(msgs) != 1 || msgs[0].Kind != parley.KindFile || msgs[0].FileID != sent.ID || msgs[0].Text != "holiday video.mp4" {
		t.Fatalf("bob's conversation: %+v", msgs)
	}
	start := time.Now()
	if _, err := bob.Messenger().AcceptFile(context.Background(), sent.ID); err != nil {
		t.Fatal(err)
	}
	got := bob.WaitComplete(sent.ID)
	t.Logf("200 MiB in %v", time.Since(start))
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the received file differs from the sent one")
	}
	if filepath.Dir(got.Path) != filepath.Join(bob.Dir, "downloads") || filepath.Base(got.Path) != "holiday video.mp4" {
		t.Fatalf("saved as %s", got.Path)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(bob.Dir, "downloads", ".parley-*")); len(leftovers) != 0 {
		t.Fatalf("partial files left: %v", leftovers)
	}
	parleytest.Eventually(t, "alice seeing every chunk uploaded", func() bool { return alice.File(sent.ID).State == parley.FileComplete })
}

// A small file from a contact is fetched without asking; the same name
// twice never overwrites; a cancelled offer is not served.
func TestSmallFilesAndCancel(t *testing.T) {
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	dir := t.TempDir()
	path, sum := parleytest.RandomFile(t, dir, "notes.txt", 3<<20+17)
	first, err := alice.Messenger().SendFile(context.Background(), "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := alice.Messenger().SendFile(context.Background(), "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := bob.WaitComplete(first.ID), bob.WaitComplete(second.ID)
	if a.Path == b.Path || parleytest.FileHash(t, a.Path) != sum || parleytest.FileHash(t, b.Path) != sum {
		t.Fatalf("two copies: %s and %s", a.Path, b.Path)
	}
	if !strings.HasSuffix(a.Path+b.Path, "notes (1).txt") && !strings.HasSuffix(a.Path, "notes (1).txt") {
		t.Fatalf("names: %s, %s", a.Path, b.Path)
	}

	// Over the limit, then withdrawn by the sender before bob accepts.
	big, _ := parleytest.RandomFile(t, dir, "big.bin", 30<<20)
	third, err := alice.Messenger().SendFile(context.Background(), "bob", big)
	if err != nil {
		t.Fatal(err)
	}
	bob.WaitFile(third.ID)
	if _, err := alice.Messenger().CancelFile(context.Background(), third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Messenger().AcceptFile(context.Background(), third.ID); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob seeing it cancelled", func() bool { return bob.File(third.ID).State == parley.FileCanceled })
}

// A file offered to a group of five reaches every member, and the members
// serve each other: the sender uploads fewer than four copies.
func TestGroupFileSpreads(t *testing.T) {
	if testing.Short() {
		t.Skip("five nodes")
	}
	nodes := []*parleytest.Node{parleytest.StartNode(t, "n0")}
	for i := 1; i < 5; i++ {
		n := parleytest.StartNode(t, fmt.Sprintf("n%d", i))
		parleytest.Befriend(t, nodes[0], n)
		nodes = append(nodes, n)
	}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			parleytest.Connect(t, a, b)
		}
	}
	g := parleytest.CreateGroup(t, "photos", nodes[0], nodes[1:]...)
	const size = 24 << 20
	path, sum := parleytest.RandomFile(t, t.TempDir(), "album.zip", size)
	sent, err := nodes[0].Messenger().SendFile(context.Background(), g.String(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		n.WaitFile(sent.ID)
	}
	for _, n := range nodes[1:] {
		if got := n.WaitComplete(sent.ID); parleytest.FileHash(t, got.Path) != sum {
			t.Fatalf("%s holds a different file", n.Name)
		}
	}
	up := nodes[0].Served(sent.ID)
	t.Logf("the sender uploaded %.2f copies for 4 members", float64(up)/size)
	if up >= 4*size {
		t.Fatalf("the sender uploaded %d bytes: members did not share", up)
	}
}

// A stranger's file is never fetched by itself, however small: only the
// offer is stored (within the strangers' quota, like any message), and the
// file comes once the user asks for it.
func TestStrangersFileWaitsForTheUser(t *testing.T) {
	ctx := context.Background()
	bob, mallory := parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "mallory")
	if _, _, err := mallory.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "bob"); err != nil {
		t.Fatal(err)
	}
	path, sum := parleytest.RandomFile(t, t.TempDir(), "tiny.txt", 1<<10)
	f, err := mallory.Messenger().SendFile(ctx, "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	// Bob acks the offer only after deciding whether to fetch it.
	parleytest.Eventually(t, "the offer delivered", func() bool { return mallory.StatusOf("bob", f.Message) == parley.StatusDelivered })
	if got := bob.File(f.ID); got.State != parley.FileOffered {
		t.Fatalf("a stranger's file is %v at bob, want offered (not fetched)", got.State)
	}
	if _, err := bob.Messenger().AcceptFile(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if got := bob.WaitComplete(f.ID); parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the file bob fetched differs")
	}
}

// A cancel reaches the DM's other side: the recipient declining an offer
// ends it on the sender's side too (issue 14, bug 2: it stayed
// "transferring"), and the sender withdrawing one ends it on the
// recipient's side before the recipient ever asks for it (bug 1).
func TestFileCancelReachesTheOtherSide(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	dir := t.TempDir()
	// Over the auto-accept limit: nothing moves until someone acts.
	declined, _ := parleytest.RandomFile(t, dir, "declined.bin", 30<<20)
	withdrawn, _ := parleytest.RandomFile(t, dir, "withdrawn.bin", 30<<20)

	first, err := alice.Messenger().SendFile(ctx, "bob", declined)
	if err != nil {
		t.Fatal(err)
	}
	bob.WaitFile(first.ID)
	if _, err := bob.Messenger().CancelFile(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice seeing bob's cancel", func() bool { return alice.File(first.ID).State == parley.FileCanceled })
	if f := alice.File(first.ID); f.Error != "the recipient cancelled it" {
		t.Fatalf("alice's file says %q", f.Error)
	}

	second, err := alice.Messenger().SendFile(ctx, "bob", withdrawn)
	if err != nil {
		t.Fatal(err)
	}
	bob.WaitFile(second.ID)
	if _, err := alice.Messenger().CancelFile(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob seeing alice's cancel", func() bool { return bob.File(second.ID).State == parley.FileCanceled })
	if f := bob.File(second.ID); f.Error != "the sender cancelled it" {
		t.Fatalf("bob's file says %q", f.Error)
	}
	if _, err := bob.Messenger().AcceptFile(ctx, second.ID); err == nil {
		t.Fatal("bob could accept a withdrawn file")
	}
	// Neither cancel is a message anyone sees.
	for _, v := range []struct{ n, other *parleytest.Node }{{alice, bob}, {bob, alice}} {
		for _, m := range v.n.Messages(v.other.PeerID()) {
			if m.Kind != parley.KindFile {
				t.Fatalf("%s sees a %s message", v.n.Name, m.Kind)
			}
		}
	}
}
