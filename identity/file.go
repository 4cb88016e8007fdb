package identity

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf8"

	"lukechampine.com/blake3"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// File crypto. A file travels in chunks, each sealed with AES-256-GCM under
// a random per-file key (AES-NI makes it the fastest AEAD here, and file
// transfer is bound by it); the nonce is the chunk's index, which is safe
// because a key seals one file and each index holds one plaintext, so two
// holders sealing the same chunk produce the same ciphertext. Chunks are
// verified against their BLAKE3 hash in the offer (2.5× faster than SHA-256
// here, and every byte is hashed twice), and the offer's root binds the
// list of chunk hashes to the file's size and chunking.

// File limits.
const (
	FileIDSize       = 16
	MinFileChunkSize = 64 << 10
	MaxFileChunkSize = 64 << 20
	// MaxFileChunks keeps an offer's chunk list (32 bytes each) well
	// inside one envelope.
	MaxFileChunks   = 2048
	MaxFileSize     = MaxFileChunkSize * MaxFileChunks // 128 GiB
	maxFileNameLen  = 255
	maxMediaTypeLen = 127
	// DefaultFileChunkSize is the chunk size of files up to 2 GiB.
	DefaultFileChunkSize = 1 << 20
)

const fileRootPrefix = "parley/file/v1\x00"

// ChunkHashSize is the length of one chunk hash.
const ChunkHashSize = 32

// ChunkHash is a chunk's hash: BLAKE3-256 of its plaintext.
func ChunkHash(chunk []byte) [ChunkHashSize]byte { return blake3.Sum256(chunk) }

// FileChunkSize picks the chunk size for a file of size bytes: 1 MiB, or
// the next power of two that keeps the chunk count within MaxFileChunks.
func FileChunkSize(size int64) uint32 {
	cs := int64(DefaultFileChunkSize)
	if need := (size + MaxFileChunks - 1) / MaxFileChunks; need > cs {
		cs = int64(1) << bits.Len64(uint64(need-1))
	}
	return uint32(min(cs, MaxFileChunkSize))
}

// FileChunks is how many chunks a file of size bytes has.
func FileChunks(size int64, chunkSize uint32) int {
	return int((size + int64(chunkSize) - 1) / int64(chunkSize))
}

// FileRoot is the content hash of a file: its size, chunk size and chunk
// hashes, hashed together.
func FileRoot(size uint64, chunkSize uint32, chunkHashes []byte) []byte {
	h := sha256.New()
	h.Write([]byte(fileRootPrefix))
	h.Write(binary.BigEndian.AppendUint64(nil, size))
	h.Write(binary.BigEndian.AppendUint32(nil, chunkSize))
	h.Write(chunkHashes)
	return h.Sum(nil)
}

// Streamed says whether an offer leaves its chunk hashes and root to follow:
// its sender offered the file before reading it, and hands the hashes,
// signed, to whoever fetches it (PROTOCOL.md §8).
func Streamed(o *pb.FileOffer) bool { return len(o.Root) == 0 && len(o.ChunkHashes) == 0 }

// CheckFileOffer checks an offer's fields: sizes, limits, and that the
// root matches the chunk list (a streamed offer has neither). Errors wrap
// parley.ErrMalformed.
func CheckFileOffer(o *pb.FileOffer) error {
	switch {
	case o == nil:
		return fmt.Errorf("%w: empty file offer", parley.ErrMalformed)
	case len(o.FileId) != FileIDSize:
		return fmt.Errorf("%w: file ID is %d bytes, want %d", parley.ErrMalformed, len(o.FileId), FileIDSize)
	case o.Name == "" || len(o.Name) > maxFileNameLen || !utf8.ValidString(o.Name):
		return fmt.Errorf("%w: file name must be 1 to %d bytes of UTF-8", parley.ErrMalformed, maxFileNameLen)
	case len(o.MediaType) > maxMediaTypeLen || !utf8.ValidString(o.MediaType):
		return fmt.Errorf("%w: media type is too long or not UTF-8", parley.ErrMalformed)
	case o.Size > MaxFileSize:
		return fmt.Errorf("%w: file of %d bytes, over the %d-byte limit", parley.ErrMalformed, o.Size, uint64(MaxFileSize))
	case o.ChunkSize < MinFileChunkSize || o.ChunkSize > MaxFileChunkSize || o.ChunkSize&(o.ChunkSize-1) != 0:
		return fmt.Errorf("%w: chunk size %d is not a power of two from %d to %d", parley.ErrMalformed, o.ChunkSize, MinFileChunkSize, MaxFileChunkSize)
	case len(o.Key) != 32:
		return fmt.Errorf("%w: file key is %d bytes, want 32", parley.ErrMalformed, len(o.Key))
	}
	n := FileChunks(int64(o.Size), o.ChunkSize)
	if n > MaxFileChunks {
		return fmt.Errorf("%w: %d chunks, over %d", parley.ErrMalformed, n, MaxFileChunks)
	}
	if Streamed(o) && o.Size > 0 {
		// The hashes come from the sender once it has read the file
		// (PROTOCOL.md §8, streamed offers).
		return checkTimerSeconds("file offer", o.ExpireSeconds)
	}
	if len(o.ChunkHashes) != n*ChunkHashSize {
		return fmt.Errorf("%w: %d bytes of chunk hashes for %d chunks", parley.ErrMalformed, len(o.ChunkHashes), n)
	}
	if !bytes.Equal(o.Root, FileRoot(o.Size, o.ChunkSize, o.ChunkHashes)) {
		return fmt.Errorf("%w: file root does not match its chunk hashes", parley.ErrMalformed)
	}
	return checkTimerSeconds("file offer", o.ExpireSeconds)
}

// FileCipher seals and opens the chunks of one file.
type FileCipher struct {
	aead   cipher.AEAD
	fileID []byte
}

// NewFileCipher makes the cipher for a file's key and ID.
func NewFileCipher(key, fileID []byte) (*FileCipher, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: file key: %w", parley.ErrMalformed, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &FileCipher{aead: aead, fileID: bytes.Clone(fileID)}, nil
}

// Overhead is what sealing adds to a chunk.
func (c *FileCipher) Overhead() int { return c.aead.Overhead() }

func (c *FileCipher) nonceAndAD(index uint32) (nonce, ad []byte) {
	nonce = make([]byte, c.aead.NonceSize())
	binary.BigEndian.PutUint32(nonce[len(nonce)-4:], index)
	ad = binary.BigEndian.AppendUint32(bytes.Clone(c.fileID), index)
	return nonce, ad
}

// Seal appends chunk index's ciphertext to dst.
func (c *FileCipher) Seal(dst []byte, index uint32, plain []byte) []byte {
	nonce, ad := c.nonceAndAD(index)
	return c.aead.Seal(dst, nonce, plain, ad)
}

// Open appends chunk index's plaintext to dst, or fails (ErrMalformed)
// when the ciphertext was not sealed for this file and index.
func (c *FileCipher) Open(dst []byte, index uint32, sealed []byte) ([]byte, error) {
	nonce, ad := c.nonceAndAD(index)
	out, err := c.aead.Open(dst, nonce, sealed, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d does not decrypt", parley.ErrMalformed, index)
	}
	return out, nil
}
