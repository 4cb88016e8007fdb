package files

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	fpb "github.com/parley-im/parley/node/files/pb"
	"github.com/parley-im/parley/storage"
)

// transfer is one download in progress.
type transfer struct {
	id   string
	stop context.CancelFunc
	done chan struct{} // closed when the download goroutine returns

	mu    sync.Mutex
	have  []bool // guarded by mu: chunks verified and written
	count int    // guarded by mu
	bytes int64  // guarded by mu
	// whole ends the download's fetching once every chunk is here (some
	// came from a mailbox): guarded by mu.
	whole context.CancelFunc
	// hashes are the chunk hashes chunks are checked against: the offer's,
	// or for a streamed offer nil until its sender's signed list comes;
	// meanwhile sums holds the hash of each chunk in have, checked then.
	// Both guarded by mu.
	hashes, sums []byte
}

// hashesKnown says whether chunks are checked as they come (the offer's
// hashes, or a streamed offer's once they came).
func (t *transfer) hashesKnown() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hashes != nil
}

// keep records chunk i's sum: it reports whether the chunk matches its
// hash, or with the hashes still to come keeps the sum to check then.
func (t *transfer) keep(i int, sum [identity.ChunkHashSize]byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.sums
	if t.hashes != nil {
		at = t.hashes
	} else {
		copy(at[i*identity.ChunkHashSize:], sum[:])
	}
	return string(sum[:]) == string(at[i*identity.ChunkHashSize:(i+1)*identity.ChunkHashSize])
}

// verify takes a streamed offer's hashes: chunks whose sums differ are
// missing again. It returns how many.
func (t *transfer) verify(hashes []byte, chunkLen func(int) int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	bad := 0
	for i, ok := range t.have {
		at := i * identity.ChunkHashSize
		if ok && string(t.sums[at:at+identity.ChunkHashSize]) != string(hashes[at:at+identity.ChunkHashSize]) {
			t.have[i] = false
			t.count--
			t.bytes -= int64(chunkLen(i))
			bad++
		}
	}
	t.hashes, t.sums = hashes, nil
	return bad
}

func (t *transfer) bytesDone() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bytes
}

func (t *transfer) has(i int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return i < len(t.have) && t.have[i]
}

func (t *transfer) mark(i, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.have[i] {
		t.have[i] = true
		t.count++
		t.bytes += int64(n)
	}
}

// markWritten marks chunk i, which came from a mailbox and is in the part
// file: before the download has read its part file back (have is not
// made yet) that read finds it. The last chunk ends the fetching.
func (t *transfer) markWritten(i, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i >= len(t.have) || t.have[i] {
		return
	}
	t.have[i] = true
	t.count++
	t.bytes += int64(n)
	if t.count == len(t.have) && t.whole != nil {
		t.whole()
	}
}

func (t *transfer) complete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count == len(t.have)
}

func (t *transfer) missing() []uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []uint32
	for i, ok := range t.have {
		if !ok {
			out = append(out, uint32(i))
		}
	}
	return out
}

// errUnreachable: a source could not be dialled.
var errUnreachable = errors.New("unreachable")

// waitingNote says why a download whose sources are all offline does not
// move (the file's Error while it is transferring).
func waitingNote(sources int) string {
	if sources > 1 {
		return "waiting for the sender or a member holding it to come online"
	}
	return "waiting for the sender to come online"
}

// errCancelled: the sender withdrew the file.
var errCancelled = errors.New("the sender cancelled the transfer")

// download fetches one accepted file into its part file, resuming from
// whatever verified chunks the part file already holds, then puts the
// verified file in the downloads folder.
func (s *Service) download(ctx context.Context, t *transfer) {
	rec, err := s.cfg.Store.File(t.id)
	if err != nil {
		s.log.Warn("download of an unknown file", "file", t.id, "err", err)
		return
	}
	// Under the lock: the transfer is already listed, and serving it to
	// other members reads have.
	t.mu.Lock()
	t.have = make([]bool, identity.FileChunks(rec.Size, rec.ChunkSize))
	switch {
	case len(rec.ChunkHashes) != 0:
		t.hashes = rec.ChunkHashes
	case rec.Size == 0:
		t.hashes = []byte{} // none, and nothing to wait for
	default: // a streamed offer whose hashes have not come yet
		t.hashes, t.sums = nil, make([]byte, len(t.have)*identity.ChunkHashSize)
	}
	t.mu.Unlock()
	fail := func(why string) {
		if ctx.Err() != nil {
			return // closing, or cancelled by the user: not a failure
		}
		s.log.Warn("file transfer failed", "file", t.id, "why", why)
		if _, err := s.setState(t.id, parley.FileFailed, why, nil); err != nil {
			s.log.Warn("recording a failed transfer", "file", t.id, "err", err)
		}
	}
	if err := os.MkdirAll(s.cfg.Downloads, 0o700); err != nil {
		fail("downloads folder: " + err.Error())
		return
	}
	_, statErr := os.Stat(s.partPath(t.id))
	resumed := statErr == nil
	part, err := openPart(s.partPath(t.id))
	if err != nil {
		fail(err.Error())
		return
	}
	defer part.Close()
	// The part file grows as chunks land. (Not truncated to its full size
	// first: writing into a file of holes is several times slower on ext4.)
	// Resume: whatever is already in the part file and matches its hash
	// is kept; the rest is fetched.
	if err := s.scanPart(ctx, part, rec, t, resumed); err != nil {
		fail(err.Error())
		return
	}
	cipher, err := cipherFor(rec)
	if err != nil {
		fail(err.Error())
		return
	}
	p := &progress{s: s, rec: rec, t: t}
	// fetching ends when ctx does, or once chunks from a mailbox complete
	// the file (markWritten).
	fetching, whole := context.WithCancel(ctx)
	defer whole()
	t.mu.Lock()
	t.whole = whole
	t.mu.Unlock()
	wait := retryMin
	for !t.complete() || !t.hashesKnown() {
		got, unreachable := 0, 0
		sources := s.cfg.Sources(rec.File)
		if !t.hashesKnown() {
			// A streamed offer: only its sender vouches for the chunks.
			sources = slices.DeleteFunc(sources, func(p peer.ID) bool { return p.String() != rec.From })
		}
		shared := len(sources) > 1
		for _, src := range sources {
			if src == s.self || t.complete() && t.hashesKnown() {
				continue
			}
			k, err := s.fetchFrom(fetching, src, shared, rec, cipher, part, t, p)
			got += k
			if errors.Is(err, errUnreachable) {
				unreachable++
			}
			switch {
			case errors.Is(err, errCancelled) && src.String() == rec.From:
				_ = os.Remove(s.partPath(t.id))
				if _, err := s.setState(t.id, parley.FileCanceled, "the sender cancelled it", nil); err != nil {
					s.log.Warn("recording a cancelled transfer", "file", t.id, "err", err)
				}
				return
			case err != nil && ctx.Err() == nil:
				s.log.Debug("fetching a file", "file", t.id, "from", src, "err", err)
			}
			if ctx.Err() != nil {
				p.save()
				return
			}
		}
		if t.complete() && t.hashesKnown() {
			break
		}
		if got > 0 {
			wait = retryMin
			continue
		}
		if unreachable > 0 && unreachable == len(sources) {
			// Say why nothing moves; a file small enough may still come
			// through a mailbox meanwhile.
			p.note(waitingNote(len(sources)))
		}
		p.save()
		select {
		case <-ctx.Done():
			return
		case <-fetching.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			return
		}
		wait = min(2*wait, retryMax)
	}
	// Every chunk was verified against its hash as it arrived (or as the
	// resume scan read it back), and the hashes against the offer's root:
	// the file is whole. Make it durable, then give it its name.
	st, err := part.Stat()
	if err != nil {
		fail(err.Error())
		return
	}
	if st.Size() != rec.Size {
		fail(fmt.Sprintf("the finished file has %d bytes, want %d", st.Size(), rec.Size))
		return
	}
	if err := part.Sync(); err != nil {
		fail(err.Error())
		return
	}
	part.Close()
	// Under mailMu: chunks from a mailbox are not written into a part file
	// being moved into place.
	s.mailMu.Lock()
	defer s.mailMu.Unlock()
	path, err := place(s.partPath(t.id), s.cfg.Downloads, SafeName(rec.Name))
	if err != nil {
		fail(err.Error())
		return
	}
	var modTime int64
	if st, err := os.Stat(path); err == nil {
		modTime = st.ModTime().UnixNano()
	}
	if _, err := s.setState(t.id, parley.FileComplete, "", func(f *storage.FileRecord) {
		f.Path, f.BytesDone, f.PathModTime = path, f.Size, modTime
	}); err != nil {
		s.log.Warn("recording a finished transfer", "file", t.id, "err", err)
	}
}

// scanPart marks the chunks the part file already holds intact.
func (s *Service) scanPart(ctx context.Context, part *partFile, rec storage.FileRecord, t *transfer, resumed bool) error {
	if !resumed {
		return nil // a new part file: nothing to read back
	}
	// A part file may be shorter than the file (chunks land out of order
	// and it is never grown ahead of them): what is not there yet is
	// simply missing.
	st, err := part.Stat()
	if err != nil {
		return err
	}
	// (A streamed offer's chunks are kept with their sums until its
	// sender's hashes come.)
	err = hashChunks(ctx, part.File, min(st.Size(), rec.Size), rec.ChunkSize, func(i int, sum [identity.ChunkHashSize]byte) {
		if t.keep(i, sum) {
			t.mark(i, chunkLen(rec, i))
		}
	})
	if errors.Is(err, io.EOF) {
		return nil // cut short under us: the rest is missing
	}
	return err
}

// sharedWindow is how many chunks a member asks one holder for at a time
// when several hold the file: 8, or as many as make 8 MiB of smaller
// chunks (a small file's 64 KiB ones, §9.11), so a window moves as much
// data whatever the chunk size.
func sharedWindow(chunkSize uint32) int {
	return max(8, (8<<20)/int(chunkSize))
}

// fetched is a run of chunks read off the wire, waiting for verification:
// one chunk, or (plain, small chunks) several consecutive ones.
type fetched struct {
	index int     // the first
	count int     // chunks in data
	data  *[]byte // from bufPool or alignedPool; returned once verified
}

// runBytes: consecutive plain chunks smaller than this (a small file's
// 64 KiB ones) are read into one buffer of this size, checked one by one
// and written with one write: per chunk, a verifier hand-off and a direct
// write cost as much as a 1 MiB chunk's (issue 16).
const runBytes = 1 << 20

// fetchFrom asks src for every chunk still missing (shared: a window of
// them, when several peers hold the file), in requests of
// maxRequestChunks, all sent ahead so the stream never idles; verifier
// goroutines decrypt, check and write chunks while the next ones arrive.
// It returns how many chunks it added.
func (s *Service) fetchFrom(ctx context.Context, src peer.ID, shared bool, rec storage.FileRecord, c *identity.FileCipher, part *partFile, t *transfer, p *progress) (int, error) {
	missing := t.missing()
	// A streamed offer's hashes are asked for after its chunks, of its
	// sender alone (the sources are only it then).
	askHashes := !t.hashesKnown()
	if len(missing) == 0 && !askHashes {
		return 0, nil
	}
	// On a full disk (the store's watermark; downloads usually share its
	// disk) no chunk is fetched: the download waits and resumes.
	if err := s.cfg.Store.SpaceErr(); err != nil {
		return 0, err
	}
	if shared {
		// Several holders: each member fetches in its own order and a
		// window at a time from each, going back to the other members
		// before the sender again, so members soon hold different chunks
		// and serve each other instead of all loading the sender.
		rand.Shuffle(len(missing), func(i, j int) { missing[i], missing[j] = missing[j], missing[i] })
		missing = missing[:min(len(missing), sharedWindow(rec.ChunkSize))]
	}
	dctx, cancel := context.WithTimeout(ctx, ioTimeout)
	err := s.cfg.Connect(dctx, src)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errUnreachable, err)
	}
	// Not over a limited (relayed) connection: a relay's data limit is far
	// below a file's size. Hole punching usually turns a relayed connection
	// into a direct one within seconds; NewStream waits for that (up to
	// the dial timeout), and the download says why it is not moving.
	if conns := s.cfg.Host.Network().ConnsToPeer(src); len(conns) > 0 && !slices.ContainsFunc(conns, isDirect) {
		p.note(fmt.Sprintf("waiting for a direct connection to %s (only a relay reaches it)", src))
	}
	protos := []protocol.ID{StreamID, PlainID, ID}
	if askHashes {
		protos = protos[:1]
	}
	st, err := s.cfg.Host.NewStream(ctx, src, protos...)
	if err != nil {
		return 0, err
	}
	// An older node speaks only ID: its chunks come sealed.
	plain := st.Protocol() != ID
	p.note("")
	defer st.Reset()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()

	fileID := []byte(nil)
	if b, err := hexBytes(rec.ID); err == nil {
		fileID = b
	}
	// Requests are small: write them all, then read the answers.
	go func() {
		w := pbio.NewDelimitedWriter(st)
		for i := 0; i < len(missing); i += maxRequestChunks {
			if err := w.WriteMsg(&fpb.Request{FileId: fileID, Chunks: missing[i:min(i+maxRequestChunks, len(missing))]}); err != nil {
				return
			}
		}
		if askHashes && w.WriteMsg(&fpb.Request{FileId: fileID, Hashes: true}) != nil {
			return
		}
		_ = st.CloseWrite()
	}()

	// Verifiers (decrypt,) hash and write chunks on every core while the
	// stream delivers the next ones.
	work := make(chan fetched, 8)
	var (
		mu         sync.Mutex // guards the two below
		added, bad int
		verifyErr  error
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		verifyErr = err
		mu.Unlock()
		_ = st.Reset()
	}
	for range runtime.GOMAXPROCS(0) + 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var opened []byte // sealed chunks open into it (O_DIRECT-aligned)
			if !plain {
				opened = alignedBuffer(int(rec.ChunkSize))
			}
			for f := range work {
				kept, corrupted, err := s.keepChunks(plain, c, &opened, part, rec, t, f)
				if err != nil {
					fail(err)
					continue
				}
				for _, i := range kept {
					t.mark(i, chunkLen(rec, i))
				}
				mu.Lock()
				added += len(kept)
				bad += len(corrupted)
				tooMany := bad >= maxBadChunks
				mu.Unlock()
				if len(corrupted) > 0 {
					s.log.Warn("discarding corrupted chunks", "file", rec.ID, "from", src, "chunks", corrupted)
				}
				if tooMany {
					fail(fmt.Errorf("%s serves corrupted chunks", src))
				}
				p.tick()
			}
		}()
	}
	// A small buffer: frames are read through it, chunks mostly straight
	// into their own buffers (with 256 KiB, a quarter of every 1 MiB
	// chunk was copied out of it).
	br := bufio.NewReaderSize(st, 4<<10)
	readErr := s.readChunks(st, br, rec, c, plain, missing, work)
	close(work)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if verifyErr != nil {
		return added, verifyErr
	}
	if readErr != nil || !askHashes {
		return added, readErr
	}
	var h fpb.Hashes
	_ = st.SetReadDeadline(time.Now().Add(ioTimeout))
	if err := pbio.NewDelimitedReader(br, maxHashesFrame).ReadMsg(&h); err != nil {
		return added, err
	}
	if len(h.ChunkHashes) == 0 {
		return added, errors.New("the sender has no chunk hashes to give")
	}
	hashes, root, err := checkHashes(&h, rec, fileID)
	if err != nil {
		return added, err
	}
	// Recorded first: a restart then checks the part file against them.
	if _, err := s.cfg.Store.UpdateFile(rec.ID, func(f *storage.FileRecord, found bool) (bool, error) {
		if !found || len(f.ChunkHashes) != 0 {
			return false, nil
		}
		f.ChunkHashes, f.Root = hashes, root
		return true, nil
	}); err != nil {
		return added, err
	}
	if n := t.verify(hashes, func(i int) int { return chunkLen(rec, i) }); n > 0 {
		s.log.Warn("discarding chunks that do not match their sender's hashes", "file", rec.ID, "from", src, "chunks", n)
	}
	return added + 1, nil
}

// keepChunks checks the chunks of run f (opening a sealed one first, into
// *opened) against their hashes and writes those that match into the part
// file (a run whose chunks all match with one write): kept are those
// written, corrupted those that do not match (fetched again), err a
// failure that ends this fetch. f's buffer goes back to its pool.
func (s *Service) keepChunks(plain bool, c *identity.FileCipher, opened *[]byte, part *partFile, rec storage.FileRecord, t *transfer, f fetched) (kept, corrupted []int, err error) {
	data := *f.data
	if plain {
		defer alignedPool.Put(f.data)
	} else {
		var openErr error
		*opened, openErr = c.Open((*opened)[:0], uint32(f.index), data)
		bufPool.Put(f.data)
		if openErr != nil {
			return nil, []int{f.index}, nil
		}
		data = *opened
	}
	cs := int(rec.ChunkSize)
	for j := range f.count {
		i, chunk := f.index+j, data[min(j*cs, len(data)):min((j+1)*cs, len(data))]
		if len(chunk) == chunkLen(rec, i) && t.keep(i, identity.ChunkHash(chunk)) {
			kept = append(kept, i)
		} else {
			corrupted = append(corrupted, i)
		}
	}
	// On a full disk the chunks are fetched again once space is back.
	if err := s.cfg.Store.SpaceErr(); err != nil {
		return nil, nil, err
	}
	off := int64(f.index) * int64(cs)
	if len(corrupted) == 0 {
		// The whole run at once; a short last chunk (the file's) apart,
		// so that the rest stays aligned for a direct write.
		if last := (f.count - 1) * cs; f.count > 1 && len(data)-last < cs {
			if err := part.writeChunk(data[:last], off); err != nil {
				return nil, nil, err
			}
			data, off = data[last:], off+int64(last)
		}
		return kept, nil, part.writeChunk(data, off)
	}
	for _, i := range kept {
		j := i - f.index
		if err := part.writeChunk(data[j*cs:min((j+1)*cs, len(data))], int64(i)*int64(cs)); err != nil {
			return nil, nil, err
		}
	}
	return kept, corrupted, nil
}

func isDirect(c network.Conn) bool { return !c.Stat().Limited }

// bufPool recycles the buffers sealed chunks are read into, alignedPool
// those plain chunks are read into (and written from, O_DIRECT): a few per
// download, whatever the file's size.
var bufPool, alignedPool = sync.Pool{New: func() any { return new([]byte) }}, sync.Pool{New: func() any { return new([]byte) }}

// readChunks reads the answers to the requests for missing, in order:
// chunks as they are (plain) or sealed under the file key.
func (s *Service) readChunks(st network.Stream, br *bufio.Reader, rec storage.FileRecord, c *identity.FileCipher, plain bool, missing []uint32, work chan<- fetched) error {
	r := pbio.NewDelimitedReader(br, 64)
	overhead, pool := c.Overhead(), &bufPool
	if plain {
		overhead, pool = 0, &alignedPool
	}
	maxLen := int(rec.ChunkSize) + overhead
	// A run of consecutive plain chunks, read into one buffer (runBytes).
	var run *fetched
	runs := plain && int(rec.ChunkSize) < runBytes
	flush := func() {
		if run != nil {
			work <- *run
			run = nil
		}
	}
	defer flush()
	for _, want := range missing {
		_ = st.SetReadDeadline(time.Now().Add(ioTimeout))
		var h fpb.Chunk
		if err := r.ReadMsg(&h); err != nil {
			return err
		}
		if err := checkChunk(&h, want, overhead, maxLen); err != nil {
			return err
		}
		if h.Status != fpb.Chunk_STATUS_OK || run != nil && (int(want) != run.index+run.count || len(*run.data)+int(h.Length) > runBytes) {
			flush()
		}
		switch h.Status {
		case fpb.Chunk_STATUS_NOT_AVAILABLE:
			continue
		case fpb.Chunk_STATUS_CANCELLED:
			return errCancelled
		case fpb.Chunk_STATUS_UNKNOWN_FILE:
			return errors.New("the peer does not serve this file")
		}
		if runs && run != nil {
			// Appended to the run (within its buffer's capacity).
			at := len(*run.data)
			*run.data = (*run.data)[:at+int(h.Length)]
			if _, err := io.ReadFull(br, (*run.data)[at:]); err != nil {
				*run.data = (*run.data)[:at] // the chunks before are whole
				return err
			}
			run.count++
			if int(h.Length) < int(rec.ChunkSize) {
				flush() // a short chunk (the file's last) ends a run
			}
			continue
		}
		size := maxLen
		if runs {
			size = runBytes
		}
		buf := pool.Get().(*[]byte)
		if cap(*buf) < size {
			*buf = alignedBuffer(size)
		}
		*buf = (*buf)[:h.Length]
		if _, err := io.ReadFull(br, *buf); err != nil {
			return err
		}
		if runs {
			run = &fetched{index: int(want), count: 1, data: buf}
			if int(h.Length) < int(rec.ChunkSize) {
				flush()
			}
			continue
		}
		work <- fetched{index: int(want), count: 1, data: buf}
	}
	return nil
}

// checkChunk checks a Chunk frame against what was asked: the same index,
// a known status, and for STATUS_OK a length a sealed chunk can have.
func checkChunk(h *fpb.Chunk, want uint32, overhead, maxLen int) error {
	switch {
	case h.Index != want:
		return fmt.Errorf("%w: chunk %d answered where %d was asked", parley.ErrMalformed, h.Index, want)
	case h.Status == fpb.Chunk_STATUS_OK && (int(h.Length) > maxLen || int(h.Length) < overhead):
		return fmt.Errorf("%w: chunk %d of %d bytes", parley.ErrMalformed, h.Index, h.Length)
	case h.Status != fpb.Chunk_STATUS_OK && h.Length != 0:
		return fmt.Errorf("%w: chunk %d answered %s with %d bytes", parley.ErrMalformed, h.Index, h.Status, h.Length)
	case fpb.Chunk_Status_name[int32(h.Status)] == "":
		return fmt.Errorf("%w: chunk status %d", parley.ErrMalformed, h.Status)
	}
	return nil
}

// progress throttles events and saves of a download's progress.
type progress struct {
	s   *Service
	rec storage.FileRecord
	t   *transfer

	mu               sync.Mutex
	lastEvent, saved time.Time
	why              string // the note last saved
}

func (p *progress) tick() {
	p.mu.Lock()
	now := time.Now()
	event := now.Sub(p.lastEvent) >= progressEvery
	save := now.Sub(p.saved) >= saveEvery
	if event {
		p.lastEvent = now
	}
	p.mu.Unlock()
	if event {
		f := p.rec.File
		f.State, f.BytesDone = parley.FileTransferring, p.t.bytesDone()
		p.s.notify(f)
	}
	if save {
		p.save()
	}
}

// note says, in the file's Error field, why a transfer is not moving
// (empty: it is).
func (p *progress) note(why string) {
	p.mu.Lock()
	changed := p.why != why
	p.why = why
	p.mu.Unlock()
	if !changed {
		return
	}
	saved := false
	rec, err := p.s.cfg.Store.UpdateFile(p.rec.ID, func(f *storage.FileRecord, found bool) (bool, error) {
		if !found || f.State != parley.FileTransferring {
			return false, nil
		}
		f.Error, saved = why, true
		return true, nil
	})
	if err != nil {
		p.s.log.Warn("saving file progress", "file", p.rec.ID, "err", err)
	}
	if saved {
		p.s.notify(p.s.live(rec)) // the file list shows why it waits
	}
}

// save records the progress, so that a restart knows the part file is
// worth reading back.
func (p *progress) save() {
	p.mu.Lock()
	p.saved = time.Now()
	p.mu.Unlock()
	done := p.t.bytesDone()
	_, err := p.s.cfg.Store.UpdateFile(p.rec.ID, func(f *storage.FileRecord, found bool) (bool, error) {
		if !found || f.State != parley.FileTransferring || f.BytesDone == done {
			return false, nil
		}
		f.BytesDone = done
		return true, nil
	})
	if err != nil {
		p.s.log.Warn("saving file progress", "file", p.rec.ID, "err", err)
	}
}
