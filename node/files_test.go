package node_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

// randomFile writes size random bytes under dir and returns its path and
// SHA-256.
func randomFile(t testing.TB, dir, name string, size int64) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, [32]byte(h.Sum(nil))
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// fileOf is n's record of a file, by ID.
func (n *testNode) fileOf(id string) parley.File {
	n.t.Helper()
	f, err := n.m.File(context.Background(), id)
	if err != nil {
		n.t.Fatalf("%s: file %s: %v", n.name, id, err)
	}
	return f
}

// waitFile waits until n holds the offer of file id.
func (n *testNode) waitFile(id string) {
	n.t.Helper()
	eventually(n.t, n.name+" seeing the offer", func() bool {
		_, err := n.m.File(context.Background(), id)
		return err == nil
	})
}

func (n *testNode) waitComplete(id string) parley.File {
	n.t.Helper()
	var f parley.File
	eventuallyWithin(n.t, 2*time.Minute, n.name+" completing the file", func() bool {
		var err error
		if f, err = n.m.File(context.Background(), id); err != nil {
			return false // the offer is still on its way
		}
		if f.State == parley.FileFailed {
			n.t.Fatalf("%s: transfer failed: %s", n.name, f.Error)
		}
		return f.State == parley.FileComplete
	})
	return f
}

// A 200 MiB file reaches a contact intact; above the auto-accept limit, it
// waits for the recipient to accept it.
func TestLargeFileToContact(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MiB")
	}
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	path, sum := randomFile(t, t.TempDir(), "holiday video.mp4", 200<<20)
	sent, err := alice.m.SendFile(context.Background(), "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Name != "holiday video.mp4" || sent.Size != 200<<20 || !sent.Outgoing || sent.MediaType != "video/mp4" {
		t.Fatalf("offer: %+v", sent)
	}
	bob.waitFile(sent.ID)
	if f := bob.fileOf(sent.ID); f.State != parley.FileOffered {
		t.Fatalf("a 200 MiB file was fetched without asking: %+v", f)
	}
	msgs := bob.messages(alice.peerID())
	if len(msgs) != 1 || msgs[0].Kind != parley.KindFile || msgs[0].FileID != sent.ID || msgs[0].Text != "holiday video.mp4" {
		t.Fatalf("bob's conversation: %+v", msgs)
	}
	start := time.Now()
	if _, err := bob.m.AcceptFile(context.Background(), sent.ID); err != nil {
		t.Fatal(err)
	}
	got := bob.waitComplete(sent.ID)
	t.Logf("200 MiB in %v", time.Since(start))
	if fileHash(t, got.Path) != sum {
		t.Fatal("the received file differs from the sent one")
	}
	if filepath.Dir(got.Path) != filepath.Join(bob.dir, "downloads") || filepath.Base(got.Path) != "holiday video.mp4" {
		t.Fatalf("saved as %s", got.Path)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(bob.dir, "downloads", ".parley-*")); len(leftovers) != 0 {
		t.Fatalf("partial files left: %v", leftovers)
	}
	eventually(t, "alice seeing every chunk uploaded", func() bool { return alice.fileOf(sent.ID).State == parley.FileComplete })
}

// A small file from a contact is fetched without asking; the same name
// twice never overwrites; a cancelled offer is not served.
func TestSmallFilesAndCancel(t *testing.T) {
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	dir := t.TempDir()
	path, sum := randomFile(t, dir, "notes.txt", 3<<20+17)
	first, err := alice.m.SendFile(context.Background(), "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := alice.m.SendFile(context.Background(), "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := bob.waitComplete(first.ID), bob.waitComplete(second.ID)
	if a.Path == b.Path || fileHash(t, a.Path) != sum || fileHash(t, b.Path) != sum {
		t.Fatalf("two copies: %s and %s", a.Path, b.Path)
	}
	if !strings.HasSuffix(a.Path+b.Path, "notes (1).txt") && !strings.HasSuffix(a.Path, "notes (1).txt") {
		t.Fatalf("names: %s, %s", a.Path, b.Path)
	}

	// Over the limit, then withdrawn by the sender before bob accepts.
	big, _ := randomFile(t, dir, "big.bin", 30<<20)
	third, err := alice.m.SendFile(context.Background(), "bob", big)
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFile(third.ID)
	if _, err := alice.m.CancelFile(context.Background(), third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.AcceptFile(context.Background(), third.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob seeing it cancelled", func() bool { return bob.fileOf(third.ID).State == parley.FileCanceled })
}

// A file offered to a group of five reaches every member, and the members
// serve each other: the sender uploads fewer than four copies.
func TestGroupFileSpreads(t *testing.T) {
	if testing.Short() {
		t.Skip("five nodes")
	}
	nodes := []*testNode{startNode(t, "n0")}
	for i := 1; i < 5; i++ {
		n := startNode(t, fmt.Sprintf("n%d", i))
		befriend(t, nodes[0], n)
		nodes = append(nodes, n)
	}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			linkNodes(t, a, b)
		}
	}
	g := createGroup(t, "photos", nodes[0], nodes[1:]...)
	const size = 24 << 20
	path, sum := randomFile(t, t.TempDir(), "album.zip", size)
	sent, err := nodes[0].m.SendFile(context.Background(), g.String(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		n.waitFile(sent.ID)
	}
	for _, n := range nodes[1:] {
		if got := n.waitComplete(sent.ID); fileHash(t, got.Path) != sum {
			t.Fatalf("%s holds a different file", n.name)
		}
	}
	up := nodes[0].Served(sent.ID)
	t.Logf("the sender uploaded %.2f copies for 4 members", float64(up)/size)
	if up >= 4*size {
		t.Fatalf("the sender uploaded %d bytes: members did not share", up)
	}
}
