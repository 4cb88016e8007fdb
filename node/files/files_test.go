package files

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	fpb "github.com/parley-im/parley/node/files/pb"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
	)
}

var conv = parley.ConversationID{7}

func newHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// peerSvc is a files service on its own host and store.
type peerSvc struct {
	h       host.Host
	store   *storage.DB
	dir     string
	svc     *Service
	sources func() []peer.ID
}

func newPeer(t testing.TB, h host.Host, dir string, sources func() []peer.ID) *peerSvc {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	key := id.StoreKey
	if b, err := os.ReadFile(filepath.Join(dir, "key")); err == nil {
		key = b
	} else if err := os.WriteFile(filepath.Join(dir, "key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.Options{Dir: filepath.Join(dir, "db"), EncryptionKey: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p := &peerSvc{h: h, store: db, dir: dir, sources: sources}
	p.svc, err = New(Config{
		Host: h, Store: db, Downloads: filepath.Join(dir, "downloads"),
		Notify:    func(parley.Event) {},
		MayFetch:  func(parley.ConversationID, peer.ID) bool { return true },
		Sources:   func(parley.File) []peer.ID { return p.sources() },
		Connect:   func(context.Context, peer.ID) error { return nil },
		IsContact: func(peer.ID) bool { return true },
		Known:     func(peer.ID) bool { return true },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.svc.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *peerSvc) close() {
	p.svc.Close()
	p.store.Close()
}

func connect(t testing.TB, a, b host.Host) {
	t.Helper()
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// offer prepares a random file of size bytes at the sender, as SendFile
// does, and hands the offer to the receiver as the DM path would.
func offer(t testing.TB, from, to *peerSvc, size int64) (*pb.FileOffer, [32]byte) {
	t.Helper()
	path := filepath.Join(from.dir, "data.bin")
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := Prepare(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	msg := parley.EnvelopeID{byte(size)}
	if _, err := from.svc.Offered(conv, msg, o, path); err != nil {
		t.Fatal(err)
	}
	if to != nil {
		if err := to.svc.OnOffer(conv, msg, from.h.ID(), o); err != nil {
			t.Fatal(err)
		}
	}
	return o, sha256.Sum256(data)
}

func waitState(t testing.TB, p *peerSvc, id string, want parley.FileState) parley.File {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		f, err := p.svc.File(id)
		if err != nil {
			t.Fatal(err)
		}
		if f.State == want {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("file is %s (%s), want %s", f.State, f.Error, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hashFile(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// evil serves every chunk it is asked for on proto with the wrong
// content: plain on PlainID, sealed properly under the file's key on ID.
func evil(t testing.TB, h host.Host, proto protocol.ID, o *pb.FileOffer, served *atomic.Int64) {
	c, err := identity.NewFileCipher(o.Key, o.FileId)
	if err != nil {
		t.Fatal(err)
	}
	h.SetStreamHandler(proto, func(st network.Stream) {
		defer st.Close()
		r, w := pbio.NewDelimitedReader(st, maxRequestFrame), pbio.NewDelimitedWriter(st)
		for {
			var req fpb.Request
			if r.ReadMsg(&req) != nil {
				return
			}
			for _, i := range req.Chunks {
				junk := make([]byte, o.ChunkSize)
				rand.Read(junk)
				sealed := junk[:min(int(o.ChunkSize), int(o.Size)-int(i)*int(o.ChunkSize))]
				if proto == ID {
					sealed = c.Seal(nil, i, sealed)
				}
				if w.WriteMsg(&fpb.Chunk{Index: i, Length: uint32(len(sealed))}) != nil {
					return
				}
				if _, err := st.Write(sealed); err != nil {
					return
				}
				served.Add(1)
			}
		}
	})
}

// A holder that serves corrupted chunks is caught: its chunks are
// discarded, fetched again from an honest holder, and the file is intact,
// whether they come plain (2.0.0) or sealed (1.0.0).
func TestCorruptedChunksAreRefetched(t *testing.T) {
	for _, proto := range []protocol.ID{PlainID, ID} {
		t.Run(string(proto), func(t *testing.T) { corruptedChunksAreRefetched(t, proto) })
	}
}

func corruptedChunksAreRefetched(t *testing.T, proto protocol.ID) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	mallory := newHost(t)
	var bobSources []peer.ID
	bob := newPeer(t, newHost(t), t.TempDir(), func() []peer.ID { return bobSources })
	defer bob.close()
	connect(t, bob.h, alice.h)
	connect(t, bob.h, mallory)
	bob.svc.SetAutoAccept(-1)
	o, sum := offer(t, alice, bob, 5<<20+3)
	var junk atomic.Int64
	evil(t, mallory, proto, o, &junk)
	bobSources = []peer.ID{mallory.ID(), alice.h.ID()}
	if _, err := bob.svc.Accept(FileID(o)); err != nil {
		t.Fatal(err)
	}
	f := waitState(t, bob, FileID(o), parley.FileComplete)
	if hashFile(t, f.Path) != sum {
		t.Fatal("the file is not intact")
	}
	if junk.Load() == 0 {
		t.Fatal("the test is broken: mallory served nothing")
	}
}

// A download cut short resumes from what the part file holds: the sender
// serves little more than one copy in all.
func TestDownloadResumes(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	bobDir := t.TempDir()
	bobHost := newHost(t)
	sources := func() []peer.ID { return []peer.ID{alice.h.ID()} }
	bob := newPeer(t, bobHost, bobDir, sources)
	connect(t, bob.h, alice.h)
	const size = 64 << 20
	o, sum := offer(t, alice, bob, size)
	if _, err := bob.svc.Accept(FileID(o)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		f, _ := bob.svc.File(FileID(o))
		if f.BytesDone >= size/3 {
			break
		}
		if f.State == parley.FileComplete || time.Now().After(deadline) {
			t.Fatalf("could not stop the transfer half way: %+v", f)
		}
		time.Sleep(time.Millisecond)
	}
	bob.close()
	bob = newPeer(t, bobHost, bobDir, sources)
	defer bob.close()
	f := waitState(t, bob, FileID(o), parley.FileComplete)
	if hashFile(t, f.Path) != sum {
		t.Fatal("the resumed file is not intact")
	}
	if up := alice.svc.Served(FileID(o)); up > size*3/2 {
		t.Fatalf("the sender served %d bytes for a %d-byte file: the resume fetched more than the missing chunks", up, size)
	}
}

// rawRequest sends frames to a holder and reads one answer.
func rawRequest(t *testing.T, from host.Host, to peer.ID, frames ...[]byte) (*fpb.Chunk, error) {
	t.Helper()
	st, err := from.NewStream(context.Background(), to, ID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	for _, f := range frames {
		if _, err := st.Write(f); err != nil {
			return nil, err
		}
	}
	var h fpb.Chunk
	if err := pbio.NewDelimitedReader(st, 64).ReadMsg(&h); err != nil {
		return nil, err
	}
	return &h, nil
}

func encodeFrame(t *testing.T, m proto.Message) []byte {
	var b bytes.Buffer
	if err := pbio.NewDelimitedWriter(&b).WriteMsg(m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Requests for unknown files, out-of-range chunks and malformed frames
// are refused, and the holder keeps serving.
func TestBadRequests(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	o, _ := offer(t, alice, nil, 100<<10)
	eve := newHost(t)
	connect(t, eve, alice.h)

	h, err := rawRequest(t, eve, alice.h.ID(), encodeFrame(t, &fpb.Request{FileId: make([]byte, 16), Chunks: []uint32{0}}))
	if err != nil || h.Status != fpb.Chunk_STATUS_UNKNOWN_FILE {
		t.Fatalf("unknown file: %v, %v", h, err)
	}
	h, err = rawRequest(t, eve, alice.h.ID(), encodeFrame(t, &fpb.Request{FileId: o.FileId, Chunks: []uint32{1 << 30}}))
	if err != nil || h.Status != fpb.Chunk_STATUS_NOT_AVAILABLE || h.Index != 1<<30 {
		t.Fatalf("out of range: %v, %v", h, err)
	}
	for name, f := range map[string][]byte{
		"no chunks":  encodeFrame(t, &fpb.Request{FileId: o.FileId}),
		"short ID":   encodeFrame(t, &fpb.Request{FileId: o.FileId[:4], Chunks: []uint32{0}}),
		"65 chunks":  encodeFrame(t, &fpb.Request{FileId: o.FileId, Chunks: make([]uint32, 65)}),
		"garbage":    []byte("\x05hello"),
		"huge frame": append([]byte{0xff, 0xff, 0x03}, make([]byte, 100)...),
	} {
		if h, err := rawRequest(t, eve, alice.h.ID(), f); !errors.Is(err, network.ErrReset) && !errors.Is(err, io.EOF) {
			t.Errorf("%s: answered %v, %v; want a reset", name, h, err)
		}
	}
	h, err = rawRequest(t, eve, alice.h.ID(), encodeFrame(t, &fpb.Request{FileId: o.FileId, Chunks: []uint32{0}}))
	if err != nil || h.Status != fpb.Chunk_STATUS_OK {
		t.Fatalf("a good request after the bad ones: %v, %v", h, err)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":                   "passwd",
		`..\..\windows\win.ini`:              "win.ini",
		"..":                                 "file",
		".bashrc":                            "bashrc",
		"a\x00b\nc.txt":                      "abc.txt",
		"what?.txt":                          "what_.txt",
		"\u202egnp.exe":                      "gnp.exe",
		"":                                   "file",
		"photo.jpg":                          "photo.jpg",
		strings.Repeat("x", 300) + ".tar.gz": strings.Repeat("x", 197) + ".gz",
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeName: whatever a peer calls a file, the name stays inside the
// downloads folder.
func FuzzSafeName(f *testing.F) {
	f.Add("../../etc/passwd")
	f.Add(`C:\x\..\y`)
	f.Fuzz(func(t *testing.T, name string) {
		got := SafeName(name)
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, `/\`) || strings.HasPrefix(got, ".") || len(got) > 200+4 {
			t.Fatalf("SafeName(%q) = %q", name, got)
		}
		if filepath.Dir(filepath.Join("/downloads", got)) != "/downloads" {
			t.Fatalf("SafeName(%q) = %q escapes", name, got)
		}
	})
}

// FuzzRequest: any frame a peer sends decodes and is checked without
// panicking.
func FuzzRequest(f *testing.F) {
	f.Add(frameBytes(&fpb.Request{FileId: make([]byte, 16), Chunks: []uint32{0, 1, 2}}))
	f.Add([]byte{0x02, 0x0a, 0x00})
	f.Add(frameBytes(&fpb.Request{FileId: make([]byte, 16), Hashes: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req fpb.Request
		if err := pbio.NewDelimitedReader(bytes.NewReader(b), maxRequestFrame).ReadMsg(&req); err != nil {
			return
		}
		for _, proto := range []protocol.ID{ID, PlainID, StreamID} {
			if checkRequest(&req, proto) != nil {
				continue
			}
			chunks := len(req.Chunks) > 0 && len(req.Chunks) <= maxRequestChunks && !req.Hashes
			hashes := req.Hashes && len(req.Chunks) == 0 && proto == StreamID
			if len(req.FileId) != 16 || !chunks && !hashes {
				t.Fatalf("accepted on %s: %v", proto, &req)
			}
		}
	})
}

// FuzzChunk: any chunk header a holder sends decodes and is checked
// without panicking; accepted lengths are ones a sealed chunk can have.
func FuzzChunk(f *testing.F) {
	f.Add(frameBytes(&fpb.Chunk{Index: 3, Length: 1 << 20}), uint32(3))
	f.Add(frameBytes(&fpb.Chunk{Index: 3, Status: fpb.Chunk_STATUS_NOT_AVAILABLE}), uint32(3))
	f.Fuzz(func(t *testing.T, b []byte, want uint32) {
		var h fpb.Chunk
		if err := pbio.NewDelimitedReader(bytes.NewReader(b), 64).ReadMsg(&h); err != nil {
			return
		}
		const overhead, maxLen = 16, 1<<20 + 16
		if checkChunk(&h, want, overhead, maxLen) == nil && h.Status == fpb.Chunk_STATUS_OK && (h.Length < overhead || h.Length > maxLen) {
			t.Fatalf("accepted %v", &h)
		}
	})
}

func frameBytes(m proto.Message) []byte {
	var b bytes.Buffer
	_ = pbio.NewDelimitedWriter(&b).WriteMsg(m)
	return b.Bytes()
}

// An empty file is complete on both sides at once.
func TestEmptyFile(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	bob := newPeer(t, newHost(t), t.TempDir(), func() []peer.ID { return nil })
	defer bob.close()
	o, sum := offer(t, alice, bob, 0)
	f := waitState(t, bob, FileID(o), parley.FileComplete)
	if hashFile(t, f.Path) != sum {
		t.Fatal("not empty")
	}
	if f, _ := alice.svc.File(FileID(o)); f.State != parley.FileComplete {
		t.Fatalf("sender's empty file is %s", f.State)
	}
}

// An offer the auto-accept rule takes but cannot fetch at once (here its
// downloads folder cannot be made; a full disk or a stop right after the
// offer was stored do the same) is fetched on the next start. Before, it
// stayed "offered" for good: only accepted transfers were resumed.
func TestAutoAcceptedOfferStartsAfterARestart(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	bobDir, bobHost := t.TempDir(), newHost(t)
	sources := func() []peer.ID { return []peer.ID{alice.h.ID()} }
	downloads := filepath.Join(bobDir, "downloads")
	if err := os.WriteFile(downloads, nil, 0o600); err != nil { // a file where the folder goes
		t.Fatal(err)
	}
	bob := newPeer(t, bobHost, bobDir, sources)
	bob.svc.SetAutoAccept(1 << 20)
	connect(t, bob.h, alice.h)
	o, sum := offer(t, alice, bob, 256<<10)
	if f, _ := bob.svc.File(FileID(o)); f.State != parley.FileOffered {
		t.Fatalf("with no downloads folder the offer is %v, want offered", f.State)
	}
	bob.close()

	if err := os.Remove(downloads); err != nil {
		t.Fatal(err)
	}
	bob = newPeer(t, bobHost, bobDir, sources)
	defer bob.close()
	f := waitState(t, bob, FileID(o), parley.FileComplete)
	if hashFile(t, f.Path) != sum {
		t.Fatal("the file is not intact")
	}
}

// A sender's cancel stops a stream that is already being served: the
// rest of the file is answered "cancelled", and the uploads that were
// under way cannot turn the transfer back into "complete" (issue 14,
// bug 1).
func TestCancelStopsAStreamInProgress(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	o, _ := offer(t, alice, nil, 6<<20)
	id := FileID(o)
	chunks := uint32(identity.FileChunks(int64(o.Size), o.ChunkSize))
	if chunks < 4 {
		t.Fatalf("the test needs several chunks, the offer has %d", chunks)
	}
	bob := newHost(t)
	connect(t, bob, alice.h)
	st, err := bob.NewStream(context.Background(), alice.h.ID(), ID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(st)
	w, r := pbio.NewDelimitedWriter(st), pbio.NewDelimitedReader(br, 64)
	ask := func(from, to uint32) (statuses []fpb.Chunk_Status) {
		t.Helper()
		var want []uint32
		for i := from; i < to; i++ {
			want = append(want, i)
		}
		if err := w.WriteMsg(&fpb.Request{FileId: o.FileId, Chunks: want}); err != nil {
			t.Fatal(err)
		}
		for range want {
			var h fpb.Chunk
			if err := r.ReadMsg(&h); err != nil {
				t.Fatal(err)
			}
			if h.Status == fpb.Chunk_STATUS_OK {
				if _, err := io.CopyN(io.Discard, br, int64(h.Length)); err != nil {
					t.Fatal(err)
				}
			}
			statuses = append(statuses, h.Status)
		}
		return statuses
	}
	if got := ask(0, 1); got[0] != fpb.Chunk_STATUS_OK {
		t.Fatalf("before the cancel, chunk 0 is %v", got[0])
	}
	if _, err := alice.svc.Cancel(id); err != nil {
		t.Fatal(err)
	}
	for i, s := range ask(1, chunks) {
		if s != fpb.Chunk_STATUS_CANCELLED {
			t.Fatalf("after the cancel, chunk %d was answered %v on the same stream", i+1, s)
		}
	}
	if f, _ := alice.svc.File(id); f.State != parley.FileCanceled {
		t.Fatalf("the sender's transfer is %s after its cancel", f.State)
	}
}

// Chunks whose upload was under way when the sender cancelled still get
// counted as they finish; reaching the last one must not mark the
// cancelled transfer complete (issue 14, bug 1: "cancelled" came back as
// "complete").
func TestCancelledStaysCancelled(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	o, _ := offer(t, alice, nil, 3<<20)
	if _, err := alice.svc.Cancel(FileID(o)); err != nil {
		t.Fatal(err)
	}
	rec, err := alice.store.File(FileID(o))
	if err != nil {
		t.Fatal(err)
	}
	for i := range identity.FileChunks(rec.Size, rec.ChunkSize) {
		alice.svc.countServed(rec, i, chunkLen(rec, i))
	}
	if f, _ := alice.svc.File(FileID(o)); f.State != parley.FileCanceled {
		t.Fatalf("uploads that finished after the cancel made the transfer %s", f.State)
	}
}

// chunkOn asks holder for chunk i of o on protocol proto and returns the
// bytes that follow the answer's frame.
func chunkOn(t *testing.T, from host.Host, holder peer.ID, proto protocol.ID, o *pb.FileOffer, i uint32) []byte {
	t.Helper()
	st, err := from.NewStream(context.Background(), holder, proto)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := st.Write(encodeFrame(t, &fpb.Request{FileId: o.FileId, Chunks: []uint32{i}})); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(st)
	var h fpb.Chunk
	if err := pbio.NewDelimitedReader(br, 64).ReadMsg(&h); err != nil || h.Status != fpb.Chunk_STATUS_OK {
		t.Fatalf("%s: %v, %v", proto, &h, err)
	}
	b := make([]byte, h.Length)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Both versions of the protocol are served: /parley/file/2.0.0 sends a
// chunk as it is (the connection's encryption is end to end), 1.0.0
// sealed under the file key, as older nodes expect.
func TestChunksPlainOnVersion2SealedOnVersion1(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	o, _ := offer(t, alice, nil, 3<<20+5)
	data, err := os.ReadFile(filepath.Join(alice.dir, "data.bin"))
	if err != nil {
		t.Fatal(err)
	}
	bob := newHost(t)
	connect(t, bob, alice.h)
	last := uint32(len(o.ChunkHashes)/identity.ChunkHashSize - 1)
	want := data[int(last)*int(o.ChunkSize):]
	if got := chunkOn(t, bob, alice.h.ID(), PlainID, o, last); !bytes.Equal(got, want) {
		t.Fatalf("%s: chunk of %d bytes, not the file's %d", PlainID, len(got), len(want))
	}
	c, err := identity.NewFileCipher(o.Key, o.FileId)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := c.Open(nil, last, chunkOn(t, bob, alice.h.ID(), ID, o, last))
	if err != nil || !bytes.Equal(opened, want) {
		t.Fatalf("%s: the sealed chunk does not open to the file's: %v", ID, err)
	}
}

// A download from a node that speaks only /parley/file/1.0.0 (before
// version 2) gets its sealed chunks, opens them and completes.
func TestDownloadFromAnOlderNode(t *testing.T) {
	alice := newPeer(t, newHost(t), t.TempDir(), nil)
	defer alice.close()
	alice.h.RemoveStreamHandler(StreamID) // as an older node
	alice.h.RemoveStreamHandler(PlainID)
	bob := newPeer(t, newHost(t), t.TempDir(), func() []peer.ID { return []peer.ID{alice.h.ID()} })
	defer bob.close()
	connect(t, bob.h, alice.h)
	const size = 5<<20 + 3
	o, sum := offer(t, alice, bob, size)
	if _, err := bob.svc.Accept(FileID(o)); err != nil {
		t.Fatal(err)
	}
	f := waitState(t, bob, FileID(o), parley.FileComplete)
	if hashFile(t, f.Path) != sum {
		t.Fatal("the file is not intact")
	}
	// Sealed chunks carry a tag each: more bytes than the file.
	if up := alice.svc.Served(FileID(o)); up <= size {
		t.Fatalf("the older node served %d bytes for a %d-byte file: not sealed chunks", up, size)
	}
}
