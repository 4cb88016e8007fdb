package files

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	fpb "github.com/parley-im/parley/node/files/pb"
	"github.com/parley-im/parley/storage"
)

// Small files through mailboxes (PROTOCOL.md §9.11). The sender deposits
// each chunk of a small file, sealed under a key derived from the offer's
// file key, at the recipient's mailbox before the offer, so the file
// arrives while the sender is offline. One chunk is one mailbox item: such
// files are cut into chunks of MailChunkSize. An item names its chunk by
// a locator only the file's key holders can compute, so the mailbox sees
// items of bucketed sizes that it cannot tie to a file, an offer or each
// other (beyond the capability nonce and the time of deposit, which it
// sees for every item).

const (
	// MailChunkSize is the chunk size of files that may travel through
	// mailboxes: one chunk, padded and sealed, fits one mailbox item.
	MailChunkSize = identity.MinFileChunkSize
	// MaxMailFile is the largest file that may: MaxFileChunks chunks of
	// MailChunkSize (128 MiB).
	MaxMailFile = MailChunkSize * identity.MaxFileChunks
	// DefaultMailFile is the default limit for depositing a file's chunks
	// (node.Config.MailboxFileLimit): the mailbox's file quota.
	DefaultMailFile = 25 << 20

	mailLocatorSize = 16
	// maxMailChunkItem is the size of a full chunk's item: the locator's
	// field (tag, length, 16 bytes) and the sealed field (tag, a 3-byte
	// length, the chunk and GCM's 16-byte tag): 65,574 bytes.
	maxMailChunkItem = 2 + mailLocatorSize + 4 + MailChunkSize + 16
)

// ChunkSizeFor is the chunk size for a file of size bytes: MailChunkSize
// when it may travel through mailboxes (at most mailLimit bytes), else
// identity.FileChunkSize's.
func ChunkSizeFor(size, mailLimit int64) uint32 {
	if size <= min(mailLimit, MaxMailFile) {
		return MailChunkSize
	}
	return identity.FileChunkSize(size)
}

// mailSealer seals and opens the mailbox items of one file. Its keys are
// derived from the file key, so they are not the key that seals chunks on
// /parley/file/1.0.0 (§8): the two never share a nonce.
type mailSealer struct {
	aead   cipher.AEAD
	locKey []byte
	fileID []byte
}

func newMailSealer(key, fileID []byte) (*mailSealer, error) {
	if len(key) != 32 || len(fileID) != identity.FileIDSize {
		return nil, fmt.Errorf("%w: a file key of %d bytes and an ID of %d", parley.ErrMalformed, len(key), len(fileID))
	}
	sealKey, err := hkdf.Key(sha256.New, key, fileID, "parley/file/v1 mailbox chunk key", 32)
	if err != nil {
		return nil, err
	}
	locKey, err := hkdf.Key(sha256.New, key, fileID, "parley/file/v1 mailbox locator key", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &mailSealer{aead: aead, locKey: locKey, fileID: bytes.Clone(fileID)}, nil
}

func mailSealerFor(rec storage.FileRecord) (*mailSealer, error) {
	id, err := hex.DecodeString(rec.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: file ID %q", parley.ErrMalformed, rec.ID)
	}
	return newMailSealer(rec.Key, id)
}

func (m *mailSealer) locator(index uint32) [mailLocatorSize]byte {
	mac := hmac.New(sha256.New, m.locKey)
	mac.Write(binary.BigEndian.AppendUint32(nil, index))
	var out [mailLocatorSize]byte
	copy(out[:], mac.Sum(nil))
	return out
}

// nonceAndAD: the nonce is 8 zero bytes and the index (one plaintext per
// index under a key that seals one file); the additional data binds the
// item to its file and index.
func (m *mailSealer) nonceAndAD(index uint32) (nonce, ad []byte) {
	nonce = binary.BigEndian.AppendUint32(make([]byte, m.aead.NonceSize()-4), index)
	ad = append([]byte("parley/file/v1 mailbox\x00"), m.fileID...)
	return nonce, binary.BigEndian.AppendUint32(ad, index)
}

// seal makes chunk index's mailbox item: the same bytes every time, so a
// deposit made again is a no-op at the mailbox.
func (m *mailSealer) seal(index uint32, chunk []byte) []byte {
	plain := make([]byte, identity.PaddedSize(len(chunk)))
	copy(plain, chunk)
	nonce, ad := m.nonceAndAD(index)
	loc := m.locator(index)
	item, err := proto.MarshalOptions{Deterministic: true}.Marshal(&fpb.MailChunk{
		Locator: loc[:],
		Sealed:  m.aead.Seal(nil, nonce, plain, ad),
	})
	if err != nil {
		panic(err) // two byte fields always encode
	}
	return item
}

// open returns chunk index's plaintext of want bytes from an item's
// sealed bytes: it must decrypt for this file and index and carry exactly
// the padding of its bucket, all zero.
func (m *mailSealer) open(index uint32, sealed []byte, want int) ([]byte, error) {
	nonce, ad := m.nonceAndAD(index)
	plain, err := m.aead.Open(nil, nonce, sealed, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: mailbox chunk %d does not decrypt", parley.ErrMalformed, index)
	}
	if len(plain) != identity.PaddedSize(want) || want > len(plain) {
		return nil, fmt.Errorf("%w: mailbox chunk %d of %d bytes, want %d padded", parley.ErrMalformed, index, len(plain), want)
	}
	for _, b := range plain[want:] {
		if b != 0 {
			return nil, fmt.Errorf("%w: mailbox chunk %d has non-zero padding", parley.ErrMalformed, index)
		}
	}
	return plain[:want], nil
}

// ParseMailChunk reads a mailbox item as a file chunk (§9.11); ok is false
// for anything else (an envelope, say). It checks the sizes only; which
// file the chunk is of, only the file's key tells.
func ParseMailChunk(item []byte) (c *fpb.MailChunk, ok bool) {
	if len(item) > maxMailChunkItem {
		return nil, false
	}
	c = new(fpb.MailChunk)
	if err := proto.Unmarshal(item, c); err != nil || len(c.ProtoReflect().GetUnknown()) > 0 {
		return nil, false
	}
	if len(c.Locator) != mailLocatorSize || len(c.Sealed) <= 16 || len(c.Sealed) > MailChunkSize+16 {
		return nil, false
	}
	return c, true
}

// MailChunks reads and seals the mailbox items of one of our offers.
type MailChunks struct {
	f      *os.File
	rec    storage.FileRecord
	sealer *mailSealer
}

// OpenMailChunks opens our offer id's file to deposit its chunks with its
// offer, or returns nil when the file does not travel through mailboxes:
// over limit bytes (it waits for us to be online), cut into chunks of
// another size (offered before, or by another rule), empty, withdrawn, or
// not ours.
func (s *Service) OpenMailChunks(id string, limit int64) (*MailChunks, error) {
	rec, err := s.cfg.Store.File(id)
	if err != nil {
		return nil, err
	}
	if !rec.Outgoing || rec.State == parley.FileCanceled || rec.Size == 0 || rec.Size > min(limit, MaxMailFile) || rec.ChunkSize != MailChunkSize || len(rec.ChunkHashes) == 0 {
		return nil, nil
	}
	sealer, err := mailSealerFor(rec)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(rec.Path)
	if err != nil {
		return nil, fmt.Errorf("opening %s to deposit it: %w", rec.Name, err)
	}
	return &MailChunks{f: f, rec: rec, sealer: sealer}, nil
}

// Len is how many items (chunks) the file has.
func (m *MailChunks) Len() int { return identity.FileChunks(m.rec.Size, m.rec.ChunkSize) }

// Item reads chunk i, checks it against its hash (a file changed since it
// was offered is not deposited) and seals it.
func (m *MailChunks) Item(i int) ([]byte, error) {
	buf := make([]byte, chunkLen(m.rec, i))
	if _, err := m.f.ReadAt(buf, int64(i)*int64(m.rec.ChunkSize)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", m.rec.Name, err)
	}
	if sum := identity.ChunkHash(buf); !bytes.Equal(sum[:], m.rec.ChunkHashes[i*identity.ChunkHashSize:(i+1)*identity.ChunkHashSize]) {
		return nil, fmt.Errorf("%w: %s changed since it was offered (chunk %d)", parley.ErrMalformed, m.rec.Name, i)
	}
	return m.sealer.seal(uint32(i), buf), nil
}

// Close closes the file.
func (m *MailChunks) Close() error { return m.f.Close() }

// MailItem is a chunk item fetched from a mailbox.
type MailItem struct {
	ID    parley.EnvelopeID // the item's ID at the mailbox (SHA-256 of its bytes)
	Chunk *fpb.MailChunk
}

// mailTarget is the file and chunk a locator names.
type mailTarget struct {
	rec    *storage.FileRecord
	index  uint32
	sealer *mailSealer
}

// mailTargets indexes by locator the chunks of the files offered to us
// that may come through mailboxes. Built for each fetch round that brings
// chunk items: a few HMACs per chunk, and nothing kept between rounds.
func (s *Service) mailTargets() (map[[mailLocatorSize]byte]mailTarget, error) {
	recs, err := s.cfg.Store.Files()
	if err != nil {
		return nil, err
	}
	out := make(map[[mailLocatorSize]byte]mailTarget)
	for i := range recs {
		rec := &recs[i]
		// (A streamed offer's chunks never travel through mailboxes.)
		if rec.Outgoing || rec.ChunkSize != MailChunkSize || rec.Size == 0 || rec.Size > MaxMailFile || len(rec.ChunkHashes) == 0 {
			continue
		}
		sealer, err := mailSealerFor(*rec)
		if err != nil {
			continue
		}
		for j := range identity.FileChunks(rec.Size, rec.ChunkSize) {
			out[sealer.locator(uint32(j))] = mailTarget{rec: rec, index: uint32(j), sealer: sealer}
		}
	}
	return out, nil
}

// TakeMailChunks stores the chunk items fetched from a mailbox that belong
// to files we are fetching, and returns the IDs the mailbox may delete:
// chunks verified and durably written into their file's part file, chunks
// of files complete or cancelled here, and chunks that do not verify
// (refused for good; the download fetches that chunk from the sender).
// The rest stay at the mailbox for a later round: chunks whose offer has
// not come yet, of a file the user has not accepted, or that our disk
// cannot take now. A file whose every chunk is there completes without
// its sender.
func (s *Service) TakeMailChunks(items []MailItem) (take []parley.EnvelopeID, err error) {
	if len(items) == 0 {
		return nil, nil
	}
	targets, err := s.mailTargets()
	if err != nil {
		return nil, err
	}
	type good struct {
		id    parley.EnvelopeID
		index uint32
		plain []byte
	}
	byFile := make(map[string][]good)
	for _, it := range items {
		t, ok := targets[[mailLocatorSize]byte(it.Chunk.Locator)]
		if !ok {
			continue // its offer has not come yet
		}
		switch t.rec.State {
		case parley.FileComplete, parley.FileCanceled:
			take = append(take, it.ID)
			continue
		case parley.FileTransferring:
		default:
			continue // offered and not accepted (yet), or failed: the user decides
		}
		want := chunkLen(*t.rec, int(t.index))
		plain, err := t.sealer.open(t.index, it.Chunk.Sealed, want)
		if err == nil {
			sum := identity.ChunkHash(plain)
			if !bytes.Equal(sum[:], t.rec.ChunkHashes[int(t.index)*identity.ChunkHashSize:int(t.index+1)*identity.ChunkHashSize]) {
				err = fmt.Errorf("%w: mailbox chunk %d does not match its hash", parley.ErrMalformed, t.index)
			}
		}
		if err != nil {
			s.log.Warn("refusing a chunk from a mailbox", "file", t.rec.ID, "err", err)
			take = append(take, it.ID)
			continue
		}
		byFile[t.rec.ID] = append(byFile[t.rec.ID], good{id: it.ID, index: t.index, plain: plain})
	}
	for id, chunks := range byFile {
		n := len(take)
		wrote, err := s.writeMailChunks(id, func(part *os.File, rec storage.FileRecord) error {
			for _, c := range chunks {
				if _, err := part.WriteAt(c.plain, int64(c.index)*int64(rec.ChunkSize)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return take, err
		}
		switch wrote {
		case mailWritten, mailNotNeeded:
			for _, c := range chunks {
				take = append(take, c.id)
			}
		}
		if wrote == mailWritten {
			s.markMailChunks(id, func(mark func(i, n int)) {
				for _, c := range chunks {
					mark(int(c.index), len(c.plain))
				}
			})
			s.log.Debug("stored chunks from a mailbox", "file", id, "chunks", len(take)-n)
		}
	}
	return take, nil
}

type mailWrite int

const (
	mailWritten   mailWrite = iota // in the part file, synced
	mailNotNeeded                  // the file is complete or cancelled here
	mailLater                      // not now: the disk is full, or the file waits for its user
)

// writeMailChunks writes into file id's part file, synced, while the file
// is being fetched. Under mailMu, which the end of a download and a
// cancel also take, so that no chunk lands in a part file already moved
// into place or deleted.
func (s *Service) writeMailChunks(id string, write func(part *os.File, rec storage.FileRecord) error) (mailWrite, error) {
	s.mailMu.Lock()
	defer s.mailMu.Unlock()
	rec, err := s.cfg.Store.File(id)
	if err != nil {
		return mailLater, err
	}
	switch rec.State {
	case parley.FileComplete, parley.FileCanceled:
		return mailNotNeeded, nil
	case parley.FileTransferring:
	default:
		return mailLater, nil
	}
	if err := s.cfg.Store.SpaceErr(); err != nil {
		s.log.Info("leaving chunks at the mailbox: no room here", "file", id, "err", err)
		return mailLater, nil
	}
	if err := os.MkdirAll(s.cfg.Downloads, 0o700); err != nil {
		return mailLater, fmt.Errorf("downloads folder: %w", err)
	}
	part, err := os.OpenFile(s.partPath(id), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return mailLater, err
	}
	err = write(part, rec)
	if err == nil {
		err = part.Sync() // before the mailbox deletes them
	}
	if cerr := part.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mailLater, fmt.Errorf("writing chunks from a mailbox: %w", err)
	}
	return mailWritten, nil
}

// markMailChunks tells file id's download, if one runs, of chunks written
// into its part file; one that has not read its part file back yet finds
// them there. A download not running is started (it was accepted).
func (s *Service) markMailChunks(id string, each func(mark func(i, n int))) {
	s.mu.Lock()
	t := s.transfers[id]
	s.mu.Unlock()
	if t == nil {
		s.enqueue(id)
		return
	}
	each(t.markWritten)
}
