package files

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	fpb "github.com/parley-im/parley/node/files/pb"
	"github.com/parley-im/parley/pb"
)

func testSealer(t testing.TB) *mailSealer {
	t.Helper()
	key, id := make([]byte, 32), make([]byte, identity.FileIDSize)
	rand.Read(key)
	rand.Read(id)
	s, err := newMailSealer(key, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMailChunkItems: an item opens for its file and index only, carries
// its chunk padded to the envelopes' buckets (every full chunk's item has
// one size), and is never taken for an envelope, nor an envelope for one.
func TestMailChunkItems(t *testing.T) {
	s := testSealer(t)
	full := make([]byte, MailChunkSize)
	rand.Read(full)
	item := s.seal(3, full)
	if again := s.seal(3, full); !bytes.Equal(item, again) {
		t.Fatal("sealing the same chunk twice gave two items: a deposit made again would not be a no-op")
	}
	c, ok := ParseMailChunk(item)
	if !ok {
		t.Fatal("an item does not parse")
	}
	if loc := s.locator(3); !bytes.Equal(c.Locator, loc[:]) {
		t.Fatal("the item's locator is not chunk 3's")
	}
	got, err := s.open(3, c.Sealed, len(full))
	if err != nil || !bytes.Equal(got, full) {
		t.Fatalf("open: %v", err)
	}
	if _, err := s.open(4, c.Sealed, len(full)); err == nil {
		t.Fatal("chunk 3's item opened as chunk 4")
	}
	if _, err := testSealer(t).open(3, c.Sealed, len(full)); err == nil {
		t.Fatal("an item opened under another file's key")
	}
	tampered := bytes.Clone(c.Sealed)
	tampered[100] ^= 1
	if _, err := s.open(3, tampered, len(full)); err == nil {
		t.Fatal("a tampered item opened")
	}

	// A short last chunk is padded to its bucket: 20,000 bytes travel as 32 KiB.
	short := s.seal(9, full[:20000])
	if len(short) >= len(item) || len(short) < 32<<10 {
		t.Fatalf("a 20,000-byte chunk's item is %d bytes (a full one %d)", len(short), len(item))
	}
	cs, _ := ParseMailChunk(short)
	if _, err := s.open(9, cs.Sealed, 16000); err == nil {
		t.Fatal("a chunk opened with a length its padding does not have")
	}
	if len(item) != maxMailChunkItem || len(item) > identity.MaxEnvelopeSize {
		t.Fatalf("an item of %d bytes", len(item))
	}

	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	group := parley.ConversationID{1}
	body, err := proto.Marshal(&pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	env, _, err := id.SealEnvelope(group, identity.NewGroupKey(group), false, 1, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ParseMailChunk(env); ok {
		t.Fatal("an envelope parses as a chunk item")
	}
	if _, err := identity.ParseEnvelope(item); err == nil {
		t.Fatal("a chunk item parses as an envelope")
	}
}

// mailPeer is a recipient that fetches from no one but mailboxes.
func mailPeer(t *testing.T) *peerSvc {
	p := newPeer(t, newHost(t), t.TempDir(), func() []peer.ID { return nil })
	t.Cleanup(p.close)
	return p
}

// mailOffer prepares a random file of size bytes at the sender, cut for
// mailboxes, and returns the offer and the file's bytes.
func mailOffer(t *testing.T, from *peerSvc, size int) (*pb.FileOffer, []byte) {
	t.Helper()
	path := filepath.Join(from.dir, "photo.jpg")
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := Prepare(path, DefaultMailFile)
	if err != nil {
		t.Fatal(err)
	}
	if o.ChunkSize != MailChunkSize {
		t.Fatalf("a %d-byte file cut into chunks of %d", size, o.ChunkSize)
	}
	if _, err := from.svc.Offered(conv, parley.EnvelopeID{9}, o, path); err != nil {
		t.Fatal(err)
	}
	return o, data
}

func mailItems(t *testing.T, from *peerSvc, o *pb.FileOffer) []MailItem {
	t.Helper()
	mc, err := from.svc.OpenMailChunks(FileID(o), DefaultMailFile)
	if err != nil || mc == nil {
		t.Fatalf("OpenMailChunks: %v, %v", mc, err)
	}
	defer mc.Close()
	var out []MailItem
	for i := range mc.Len() {
		b, err := mc.Item(i)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := ParseMailChunk(b)
		if !ok {
			t.Fatalf("item %d does not parse", i)
		}
		out = append(out, MailItem{ID: parley.NewEnvelopeID(b), Chunk: c})
	}
	return out
}

// TestTakeMailChunks: chunks that come before their offer stay at the
// mailbox; with the offer there, every chunk is verified, written and
// taken, a tampered one is refused (taken, not written) and the file
// waits for its sender for that chunk; once the good one comes too, the
// file completes without the sender, byte for byte.
func TestTakeMailChunks(t *testing.T) {
	alice, bob := mailPeer(t), mailPeer(t)
	o, data := mailOffer(t, alice, 300_000) // 5 chunks, the last short
	items := mailItems(t, alice, o)
	if len(items) != 5 {
		t.Fatalf("%d items, want 5", len(items))
	}
	if take, err := bob.svc.TakeMailChunks(items); err != nil || len(take) != 0 {
		t.Fatalf("before the offer: took %d, %v; want none", len(take), err)
	}
	if err := bob.svc.OnOffer(conv, parley.EnvelopeID{9}, alice.h.ID(), o); err != nil {
		t.Fatal(err)
	}
	// As a mailbox would alter it: same locator, one bit flipped.
	sealed := bytes.Clone(items[2].Chunk.Sealed)
	sealed[7] ^= 0x80
	badItem := MailItem{ID: parley.EnvelopeID{0xba, 0xd}, Chunk: &fpb.MailChunk{Locator: items[2].Chunk.Locator, Sealed: sealed}}
	batch := []MailItem{items[0], items[1], badItem, items[3], items[4]}
	take, err := bob.svc.TakeMailChunks(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(take) != 5 {
		t.Fatalf("took %d of 5 (the tampered one is refused for good, so taken too)", len(take))
	}
	f, _ := bob.svc.File(FileID(o))
	if f.State == parley.FileComplete {
		t.Fatal("complete without chunk 2")
	}
	if st, err := os.Stat(bob.svc.partPath(FileID(o))); err != nil || st.Size() != int64(len(data)) {
		t.Fatalf("part file: %v, %v", st, err)
	}
	take, err = bob.svc.TakeMailChunks(items[2:3])
	if err != nil || len(take) != 1 {
		t.Fatalf("the good chunk 2: took %d, %v", len(take), err)
	}
	f = waitState(t, bob, FileID(o), parley.FileComplete)
	got, err := os.ReadFile(f.Path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the file from the mailbox differs (%v)", err)
	}
	// Complete here: more of its chunks are taken, to be deleted.
	if take, err := bob.svc.TakeMailChunks(items); err != nil || len(take) != len(items) {
		t.Fatalf("after completion: took %d, %v", len(take), err)
	}
	if _, err := os.Stat(bob.svc.partPath(FileID(o))); !os.IsNotExist(err) {
		t.Fatalf("a part file left or made again: %v", err)
	}
}

// TestMailChunksNotForLargeFiles: a file over the limit, or cut into
// larger chunks, has no mailbox items: it waits for its sender.
func TestMailChunksNotForLargeFiles(t *testing.T) {
	alice := mailPeer(t)
	o, _ := mailOffer(t, alice, 200_000)
	if mc, err := alice.svc.OpenMailChunks(FileID(o), 100_000); err != nil || mc != nil {
		t.Fatalf("a 200,000-byte file with a limit of 100,000: %v, %v", mc, err)
	}
	if cs := ChunkSizeFor(30<<20, DefaultMailFile); cs != identity.DefaultFileChunkSize {
		t.Fatalf("a 30 MiB file cut into chunks of %d", cs)
	}
}

// FuzzParseMailChunk: any bytes parse or not without panicking, and what
// parses opens (or not) without panicking either.
func FuzzParseMailChunk(f *testing.F) {
	s := testSealer(f)
	f.Add(s.seal(0, []byte("hello")))
	f.Add(s.seal(1, make([]byte, MailChunkSize)))
	f.Add([]byte{0x0a, 0x20})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := ParseMailChunk(b)
		if !ok {
			return
		}
		_, _ = s.open(0, c.Sealed, 5)
		_, _ = s.open(1, c.Sealed, MailChunkSize)
	})
}
