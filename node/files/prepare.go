package files

import (
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
// offer that describes it, with a fresh file ID and key.
func Prepare(path string) (*pb.FileOffer, error) {
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
	cs := identity.FileChunkSize(size)
	n := identity.FileChunks(size, cs)
	hashes := make([]byte, 0, n*identity.ChunkHashSize)
	buf := make([]byte, cs)
	var head []byte
	for i := range n {
		k, err := io.ReadFull(f, buf)
		if err != nil && (err != io.ErrUnexpectedEOF || i != n-1) {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if i == 0 {
			head = append(head, buf[:min(k, 512)]...)
		}
		sum := identity.ChunkHash(buf[:k])
		hashes = append(hashes, sum[:]...)
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
