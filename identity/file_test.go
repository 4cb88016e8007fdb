package identity

import (
	"errors"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// A streamed offer (no hashes, no root) is well formed for a file of at
// least one byte; half of one, or an empty file without its root, is not.
func TestStreamedFileOffers(t *testing.T) {
	offer := func(size uint64, hashes, root []byte) *pb.FileOffer {
		return &pb.FileOffer{FileId: make([]byte, FileIDSize), Name: "a.bin", Size: size, ChunkSize: DefaultFileChunkSize,
			ChunkHashes: hashes, Root: root, Key: make([]byte, 32)}
	}
	hashes := make([]byte, 2*ChunkHashSize)
	for _, c := range []struct {
		name string
		o    *pb.FileOffer
		ok   bool
	}{
		{"streamed", offer(DefaultFileChunkSize+1, nil, nil), true},
		{"with its hashes", offer(DefaultFileChunkSize+1, hashes, FileRoot(DefaultFileChunkSize+1, DefaultFileChunkSize, hashes)), true},
		{"hashes without a root", offer(DefaultFileChunkSize+1, hashes, nil), false},
		{"a root without hashes", offer(DefaultFileChunkSize+1, nil, FileRoot(DefaultFileChunkSize+1, DefaultFileChunkSize, hashes)), false},
		{"empty and streamed", offer(0, nil, nil), false},
	} {
		err := CheckFileOffer(c.o)
		if c.ok != (err == nil) || err != nil && !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%s: %v", c.name, err)
		}
		if Streamed(c.o) != (c.o.Root == nil && c.o.ChunkHashes == nil) {
			t.Errorf("%s: Streamed is %v", c.name, Streamed(c.o))
		}
	}
}
