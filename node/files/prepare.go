package files

import (
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

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// Prepare reads the file at path once, to hash its chunks, and returns the
// offer that describes it, with a fresh file ID and key. A file of at most
// mailLimit bytes is cut into chunks that mailboxes can hold (ChunkSizeFor).
func Prepare(path string, mailLimit int64) (*pb.FileOffer, error) {
	return prepare(path, mailLimit, false)
}

// PrepareStreamed is Prepare without reading the file, for a recipient
// that takes streamed offers (Service.TakesStreamed): the offer carries
// no chunk hashes and no root, and the hashes are made while the chunks
// are served (PROTOCOL.md §8). A file small enough for mailboxes is
// prepared as Prepare does, since its chunks travel with the offer.
func PrepareStreamed(path string, mailLimit int64) (*pb.FileOffer, error) {
	return prepare(path, mailLimit, true)
}

func prepare(path string, mailLimit int64, streamed bool) (*pb.FileOffer, error) {
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
	head := make([]byte, min(size, 512))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	o := &pb.FileOffer{
		FileId:    make([]byte, identity.FileIDSize),
		Name:      SafeName(filepath.Base(path)),
		Size:      uint64(size),
		MediaType: mediaType(path, head),
		ChunkSize: cs,
		Key:       make([]byte, 32),
	}
	if !streamed || size == 0 || cs == MailChunkSize {
		o.ChunkHashes = make([]byte, identity.FileChunks(size, cs)*identity.ChunkHashSize)
		err = hashChunks(context.Background(), f, size, cs, func(i int, sum [identity.ChunkHashSize]byte) {
			copy(o.ChunkHashes[i*identity.ChunkHashSize:], sum[:])
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		o.Root = identity.FileRoot(uint64(size), cs, o.ChunkHashes)
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
	return hashChunksWhere(ctx, f, size, cs, func(int) bool { return true }, each)
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
