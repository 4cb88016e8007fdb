package files

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parallel"
	fpb "github.com/parley-im/parley/node/files/pb"
	"github.com/parley-im/parley/storage"
)

// Streamed offers (PROTOCOL.md §8): the offer leaves before the sender has
// read the file; the sender hashes each chunk as it serves it the first
// time, and answers a request for the hashes (StreamID) with the whole
// list and its root, signed with its peer key. The receiver hashes each
// chunk as it arrives, as it always did, and keeps the sums until the list
// comes; a chunk whose sum is not in the list is fetched again. The file
// is complete only once every chunk matches a list its sender signed.

// rootSignPrefix separates the signature over a streamed offer's root from
// every other signature made with a peer key.
const rootSignPrefix = "parley/file/root\x00"

// rootMessage is what a streamed offer's sender signs: the file ID and the
// root of its chunk hashes.
func rootMessage(fileID, root []byte) []byte {
	return append(append([]byte(rootSignPrefix), fileID...), root...)
}

// maxHashesFrame bounds a Hashes frame: every chunk's hash, a signature
// (an Ed25519 one is 64 bytes; RSA keys sign longer) and the fields' tags.
const maxHashesFrame = identity.MaxFileChunks*identity.ChunkHashSize + 1<<10

// checkHashes checks a Hashes answer for streamed offer rec from its
// sender: one hash per chunk, and the sender's signature over their root.
// It returns the hashes and root.
func checkHashes(h *fpb.Hashes, rec storage.FileRecord, fileID []byte) (hashes, root []byte, err error) {
	n := identity.FileChunks(rec.Size, rec.ChunkSize)
	if len(h.ChunkHashes) != n*identity.ChunkHashSize {
		return nil, nil, fmt.Errorf("%w: %d bytes of chunk hashes for %d chunks", parley.ErrMalformed, len(h.ChunkHashes), n)
	}
	from, err := peer.Decode(rec.From)
	if err != nil {
		return nil, nil, err
	}
	pub, err := from.ExtractPublicKey()
	if err != nil {
		return nil, nil, fmt.Errorf("the sender's key: %w", err)
	}
	root = identity.FileRoot(uint64(rec.Size), rec.ChunkSize, h.ChunkHashes)
	if ok, err := pub.Verify(rootMessage(fileID, root), h.Signature); err != nil || !ok {
		return nil, nil, fmt.Errorf("%w: chunk hashes not signed by the file's sender", parley.ErrMalformed)
	}
	return h.ChunkHashes, root, nil
}

// rootBuilder gathers the chunk hashes of a streamed offer of ours as its
// chunks are served: the first sum of each chunk is the one kept.
type rootBuilder struct {
	mu    sync.Mutex
	sums  []byte
	have  []bool
	count int
}

func (b *rootBuilder) sum(i int) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.have[i] {
		return nil, false
	}
	return b.sums[i*identity.ChunkHashSize : (i+1)*identity.ChunkHashSize], true
}

// add keeps sum as chunk i's unless it has one; it returns the whole list
// once it is complete (to the one call that completed it).
func (b *rootBuilder) add(i int, sum [identity.ChunkHashSize]byte) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.have[i] {
		return nil
	}
	b.have[i] = true
	b.count++
	copy(b.sums[i*identity.ChunkHashSize:], sum[:])
	if b.count < len(b.have) {
		return nil
	}
	return bytes.Clone(b.sums)
}

// builderFor is the builder of our streamed offer rec, made on first use.
func (s *Service) builderFor(rec storage.FileRecord) *rootBuilder {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.building[rec.ID]
	if b == nil {
		n := identity.FileChunks(rec.Size, rec.ChunkSize)
		b = &rootBuilder{sums: make([]byte, n*identity.ChunkHashSize), have: make([]bool, n)}
		s.building[rec.ID] = b
	}
	return b
}

// saveHashes records the finished hash list of our streamed offer id (the
// first list saved stays), and drops its builder.
func (s *Service) saveHashes(id string, hashes []byte) {
	_, err := s.cfg.Store.UpdateFile(id, func(f *storage.FileRecord, found bool) (bool, error) {
		if !found || len(f.ChunkHashes) != 0 {
			return false, nil
		}
		f.ChunkHashes, f.Root = hashes, identity.FileRoot(uint64(f.Size), f.ChunkSize, hashes)
		return true, nil
	})
	if err != nil {
		s.log.Warn("recording a file's chunk hashes", "file", id, "err", err)
		return
	}
	s.mu.Lock()
	delete(s.building, id)
	s.mu.Unlock()
}

// hasher hashes the chunks one stream serves of a streamed offer beside
// the stream's writes: the stream reads a chunk into a free buffer, sends
// it, and hands it here. Its goroutine is the stream's, stopped by stop.
type hasher struct {
	jobs chan hashJob
	free chan *[]byte
	done chan struct{}
}

type hashJob struct {
	index   int
	buf     *[]byte
	barrier chan struct{} // set: close it once every earlier job is done
}

// hasherBuffers: one chunk being hashed, one being read and sent, one to
// spare.
const hasherBuffers = 3

func (s *Service) startHasher(src *source) *hasher {
	h := &hasher{jobs: make(chan hashJob, hasherBuffers), free: make(chan *[]byte, hasherBuffers), done: make(chan struct{})}
	for range hasherBuffers {
		b := make([]byte, frameRoom+int(src.rec.ChunkSize))
		h.free <- &b
	}
	go func() {
		defer close(h.done)
		for j := range h.jobs {
			if j.barrier != nil {
				close(j.barrier)
				continue
			}
			if all := src.builder.add(j.index, identity.ChunkHash((*j.buf)[frameRoom:])); all != nil {
				s.saveHashes(src.rec.ID, all)
			}
			h.free <- j.buf
		}
	}()
	return h
}

// wait returns once every chunk handed over so far is hashed.
func (h *hasher) wait() {
	b := make(chan struct{})
	h.jobs <- hashJob{barrier: b}
	<-b
}

func (h *hasher) stop() {
	close(h.jobs)
	<-h.done
}

// hashesFor is the hash list of our streamed offer src: the one recorded,
// else the builder's, finishing it from the file for the chunks not served
// (after a restart, or a fetch cut short). Empty when it cannot be made.
func (s *Service) hashesFor(src *source) []byte {
	if src.hasher != nil {
		src.hasher.wait()
	}
	if rec, err := s.cfg.Store.File(src.rec.ID); err == nil && len(rec.ChunkHashes) != 0 {
		return rec.ChunkHashes
	}
	var all []byte
	err := hashChunksWhere(context.Background(), src.file, src.rec.Size, src.rec.ChunkSize,
		func(i int) bool { _, has := src.builder.sum(i); return !has },
		func(i int, sum [identity.ChunkHashSize]byte) {
			if a := src.builder.add(i, sum); a != nil {
				all = a
			}
		})
	if err != nil {
		s.log.Warn("hashing a file we offer", "file", src.rec.ID, "err", err)
		return nil
	}
	if all != nil {
		s.saveHashes(src.rec.ID, all)
	}
	rec, err := s.cfg.Store.File(src.rec.ID)
	if err != nil {
		return nil
	}
	return rec.ChunkHashes
}

// hashChunksWhere is hashChunks for the chunks want says.
func hashChunksWhere(ctx context.Context, f *os.File, size int64, cs uint32, want func(int) bool, each func(i int, sum [identity.ChunkHashSize]byte)) error {
	bufs := sync.Pool{New: func() any { b := make([]byte, cs); return &b }}
	var (
		mu       sync.Mutex
		firstErr error
	)
	parallel.For(identity.FileChunks(size, cs), func(i int) {
		if ctx.Err() != nil || !want(i) {
			return
		}
		bp := bufs.Get().(*[]byte)
		defer bufs.Put(bp)
		off := int64(i) * int64(cs)
		n := min(int64(cs), size-off)
		k, err := f.ReadAt((*bp)[:n], off)
		if int64(k) == n {
			each(i, identity.ChunkHash((*bp)[:k]))
			return
		}
		mu.Lock()
		firstErr = cmp.Or(firstErr, err)
		mu.Unlock()
	})
	return cmp.Or(firstErr, ctx.Err())
}
