package files

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parallel"
	"github.com/parley-im/parley/pb"
)

// Prepare reads the file at path once, to hash its chunks, and returns the
// offer that describes it, with a fresh file ID and key. A file of at most
// mailLimit bytes is cut into chunks that mailboxes can hold (ChunkSizeFor).
func Prepare(path string, mailLimit int64) (*pb.FileOffer, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no file %s", parley.ErrNotFound, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", parley.ErrMalformed, path)
	}
	size := st.Size()
	if size > identity.MaxFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the %d-byte limit", parley.ErrMalformed, path, size, int64(identity.MaxFileSize))
	}
	cs := ChunkSizeFor(size, mailLimit)
	n := identity.FileChunks(size, cs)
	hashes := make([]byte, n*identity.ChunkHashSize)
	head := make([]byte, min(size, 512))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	err = hashChunks(context.Background(), f, size, cs, func(i int, sum [identity.ChunkHashSize]byte) {
		copy(hashes[i*identity.ChunkHashSize:], sum[:])
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	o := &pb.FileOffer{
		FileId:      make([]byte, identity.FileIDSize),
		Name:        SafeName(filepath.Base(path)),
		Size:        uint64(size),
		MediaType:   mediaType(path, head),
		ChunkSize:   cs,
		ChunkHashes: hashes,
		Root:        identity.FileRoot(uint64(size), cs, hashes),
		Key:         make([]byte, 32),
	}
	rand.Read(o.FileId)
	rand.Read(o.Key)
	return o, identity.CheckFileOffer(o)
}

// hashChunks reads the chunks of f (size bytes in chunks of cs) and calls
// each with every chunk's index and hash, concurrently, on every core: one
// core's reads then overlap another's hashing (twice as fast as in turn).
// It stops early when ctx ends; a chunk that cannot be read in full is an
// error.
func hashChunks(ctx context.Context, f *os.File, size int64, cs uint32, each func(i int, sum [identity.ChunkHashSize]byte)) error {
	bufs := sync.Pool{New: func() any { b := make([]byte, cs); return &b }}
	var (
		mu       sync.Mutex
		firstErr error
	)
	parallel.For(identity.FileChunks(size, cs), func(i int) {
		if ctx.Err() != nil {
			return
		}
		bp := bufs.Get().(*[]byte)
		defer bufs.Put(bp)
		off := int64(i) * int64(cs)
		want := min(int64(cs), size-off)
		k, err := f.ReadAt((*bp)[:want], off)
		if int64(k) == want {
			each(i, identity.ChunkHash((*bp)[:k]))
			return
		}
		mu.Lock()
		firstErr = cmp.Or(firstErr, err)
		mu.Unlock()
	})
	return cmp.Or(firstErr, ctx.Err())
}

// mediaType guesses from the extension, then from the content.
func mediaType(path string, head []byte) string {
	if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
		return t
	}
	if len(head) == 0 {
		return ""
	}
	return http.DetectContentType(head)
}
