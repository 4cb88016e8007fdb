package files

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	fpb "github.com/parley-im/parley/node/files/pb"
	"github.com/parley-im/parley/storage"
)

func hexBytes(s string) ([]byte, error) { return hex.DecodeString(s) }

// checkRequest checks a Request frame: a 16-byte file ID and 1 to
// maxRequestChunks chunk indexes, or (StreamID only) none and hashes.
// (An index past the file's end is not a protocol error: it is answered
// NOT_AVAILABLE.)
func checkRequest(req *fpb.Request, proto protocol.ID) error {
	if len(req.FileId) != identity.FileIDSize {
		return fmt.Errorf("%w: file ID of %d bytes", parley.ErrMalformed, len(req.FileId))
	}
	if req.Hashes {
		if proto != StreamID || len(req.Chunks) != 0 {
			return fmt.Errorf("%w: a request for hashes on %s with %d chunks", parley.ErrMalformed, proto, len(req.Chunks))
		}
		return nil
	}
	if n := len(req.Chunks); n == 0 || n > maxRequestChunks {
		return fmt.Errorf("%w: request for %d chunks, want 1 to %d", parley.ErrMalformed, n, maxRequestChunks)
	}
	return nil
}

// handle serves one inbound stream: requests in, chunks out. Peers we
// know (contacts, fellow group members) and strangers have their own
// shares of streams (Service.budget) and their own time limits, so that
// strangers stalling streams never keep a contact's download waiting.
func (s *Service) handle(st network.Stream) {
	remote := st.Conn().RemotePeer()
	known := s.cfg.Known(remote)
	plain := st.Protocol() != ID
	done, ok := s.life.Admit(st, func(int) bool { return s.budget.Take(remote, known) }, func() { s.budget.Release(remote, known) })
	if !ok {
		s.log.Debug("files: refusing a stream: closed, or its share of streams is taken", "peer", remote, "known", known)
		return
	}
	defer done()
	t := knownTimeouts
	if !known {
		t = s.strangerTimeouts
	}
	r := frame.NewReader(st, maxRequestFrame).WithLimits(st, frame.Limits{Idle: t.Idle, Frame: t.Frame, End: t.End(time.Now())})
	bw := bufio.NewWriterSize(st, 256<<10)
	w := pbio.NewDelimitedWriter(bw)
	var src *source
	defer func() {
		if src != nil {
			src.close()
		}
	}()
	for {
		var req fpb.Request
		if err := r.ReadMsg(&req); err != nil {
			if errors.Is(err, io.EOF) {
				_ = bw.Flush()
				_ = st.Close()
			} else {
				_ = st.Reset()
			}
			return
		}
		if err := checkRequest(&req, st.Protocol()); err != nil {
			s.log.Debug("bad file request, resetting", "peer", remote, "err", err)
			_ = st.Reset()
			return
		}
		id := hex.EncodeToString(req.FileId)
		if src == nil || src.rec.ID != id {
			if src != nil {
				src.close()
			}
			src = s.open(id, remote)
		} else if src.status == fpb.Chunk_STATUS_OK && s.cancelled(id) {
			// Cancelled while this stream was being served: the rest of
			// the file is not served (one store read per request of up
			// to 64 chunks).
			src.status = fpb.Chunk_STATUS_CANCELLED
		}
		_ = st.SetWriteDeadline(time.Now().Add(ioTimeout))
		if req.Hashes {
			if err := s.serveHashes(w, src); err != nil {
				_ = st.Reset()
				return
			}
		}
		for _, i := range req.Chunks {
			if err := s.serveChunk(st, w, bw, src, i, plain); err != nil {
				_ = st.Reset()
				return
			}
		}
		if err := bw.Flush(); err != nil {
			_ = st.Reset()
			return
		}
	}
}

// cancelled reports whether file id is recorded cancelled.
func (s *Service) cancelled(id string) bool {
	rec, err := s.cfg.Store.File(id)
	return err == nil && rec.State == parley.FileCanceled
}

// source is a file we serve chunks of, opened for one stream.
type source struct {
	status fpb.Chunk_Status // not OK: every chunk gets this answer
	rec    storage.FileRecord
	file   *os.File
	cipher *identity.FileCipher
	t      *transfer // set while we are still fetching it ourselves
	// trusted: the file on disk is the one hashed (same size and
	// modification time as recorded), so chunks need no hashing here.
	trusted bool
	plain   []byte
	sealed  []byte
	// builder: our streamed offer, its hashes not all made yet; hasher
	// (made on the first chunk served) makes them.
	builder *rootBuilder
	hasher  *hasher
}

func (src *source) close() {
	if src.hasher != nil {
		src.hasher.stop()
	}
	if src.file != nil {
		src.file.Close()
	}
}

// open finds what we can serve of file id to remote: nothing (unknown,
// not theirs to fetch, cancelled), all of it (ours, or complete), or what
// we have fetched so far.
func (s *Service) open(id string, remote peer.ID) *source {
	rec, err := s.cfg.Store.File(id)
	if err != nil || !s.cfg.MayFetch(rec.Conversation, remote) {
		return &source{status: fpb.Chunk_STATUS_UNKNOWN_FILE, rec: storage.FileRecord{File: parley.File{ID: id}}}
	}
	src := &source{rec: rec}
	if rec.State == parley.FileCanceled {
		src.status = fpb.Chunk_STATUS_CANCELLED
		return src
	}
	path := rec.Path
	if !rec.Outgoing && rec.State != parley.FileComplete {
		s.mu.Lock()
		src.t = s.transfers[id]
		s.mu.Unlock()
		if src.t == nil {
			src.status = fpb.Chunk_STATUS_NOT_AVAILABLE
			return src
		}
		path = s.partPath(id)
	}
	if src.file, err = os.Open(path); err != nil {
		s.log.Warn("a file we offer cannot be read", "file", id, "err", err)
		src.status = fpb.Chunk_STATUS_NOT_AVAILABLE
		return src
	}
	switch {
	case len(rec.ChunkHashes) != 0 || rec.Size == 0:
	case rec.Outgoing:
		src.builder = s.builderFor(rec)
	default:
		// A streamed offer we fetch: nothing we hold is verified until
		// its sender's hashes come.
		src.status = fpb.Chunk_STATUS_NOT_AVAILABLE
		return src
	}
	if st, err := src.file.Stat(); err == nil && src.t == nil && rec.PathModTime != 0 {
		src.trusted = st.Size() == rec.Size && st.ModTime().UnixNano() == rec.PathModTime
	}
	if src.cipher, err = cipherFor(rec); err != nil {
		src.status = fpb.Chunk_STATUS_UNKNOWN_FILE
	}
	return src
}

// serveChunk writes one answer: the chunk as it is (plain, PlainID) or
// sealed under the file key (ID). Only chunks that match their hash leave:
// a file changed on disk since it was offered is not served as if whole (a
// file whose size and modification time are as recorded is taken as
// unchanged; the receiver checks every chunk's hash in any case).
func (s *Service) serveChunk(st io.Writer, w pbio.Writer, bw *bufio.Writer, src *source, i uint32, plain bool) error {
	status := src.status
	var out []byte // what follows the frame
	if status == fpb.Chunk_STATUS_OK && (int(i) >= identity.FileChunks(src.rec.Size, src.rec.ChunkSize) || src.t != nil && !src.t.has(int(i))) {
		status = fpb.Chunk_STATUS_NOT_AVAILABLE
	}
	if status == fpb.Chunk_STATUS_OK && src.builder != nil {
		return s.serveStreamed(st, w, bw, src, i)
	}
	if status == fpb.Chunk_STATUS_OK {
		length := chunkLen(src.rec, int(i))
		if cap(src.plain) < frameRoom+length {
			src.plain = make([]byte, frameRoom+int(src.rec.ChunkSize))
		}
		chunk := src.plain[frameRoom : frameRoom+length]
		_, err := src.file.ReadAt(chunk, int64(i)*int64(src.rec.ChunkSize))
		ok := err == nil || err == io.EOF
		if ok && !src.trusted {
			sum := identity.ChunkHash(chunk)
			ok = string(sum[:]) == string(src.rec.ChunkHashes[i*32:i*32+32])
		}
		switch {
		case !ok:
			s.log.Warn("not serving a chunk that does not match its hash (file changed since offered?)", "file", src.rec.ID, "chunk", i)
			status = fpb.Chunk_STATUS_NOT_AVAILABLE
		case plain:
			if err := writeOK(st, bw, src.plain[:frameRoom+length], i); err != nil {
				return err
			}
			if src.rec.Outgoing {
				s.countServed(src.rec, int(i), length)
			}
			return nil
		default:
			src.sealed = src.cipher.Seal(src.sealed[:0], i, chunk)
			out = src.sealed
		}
	}
	h := &fpb.Chunk{Index: i, Status: status}
	if status == fpb.Chunk_STATUS_OK {
		h.Length = uint32(len(out))
	}
	if err := w.WriteMsg(h); err != nil {
		return err
	}
	if status != fpb.Chunk_STATUS_OK {
		return nil
	}
	if _, err := bw.Write(out); err != nil {
		return err
	}
	if src.rec.Outgoing {
		s.countServed(src.rec, int(i), len(out))
	}
	return nil
}

// frameRoom is the room a chunk's buffer leaves before the chunk for its
// Chunk frame (a length varint and at most 12 bytes of fields), so that
// frame and chunk leave in one write.
const frameRoom = 32

// writeOK writes chunk i's frame and the chunk (buf from frameRoom on) to
// the stream in one write, after whatever bw holds: the chunk is not
// copied into bw first (through bw, that copy was a tenth of the sender's
// CPU).
func writeOK(st io.Writer, bw *bufio.Writer, buf []byte, i uint32) error {
	msg, err := proto.Marshal(&fpb.Chunk{Index: i, Length: uint32(len(buf) - frameRoom)})
	if err != nil {
		return err
	}
	start := frameRoom - len(msg) - protowire.SizeVarint(uint64(len(msg)))
	protowire.AppendVarint(buf[start:start], uint64(len(msg)))
	copy(buf[frameRoom-len(msg):], msg)
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = st.Write(buf[start:])
	return err
}

// serveStreamed serves chunk i of our streamed offer whose hashes are not
// all made yet: read once into a free buffer, sent, then hashed beside the
// next one's read and write. A chunk served before goes out again only if
// it still matches the sum then made.
func (s *Service) serveStreamed(st io.Writer, w pbio.Writer, bw *bufio.Writer, src *source, i uint32) error {
	if src.hasher == nil {
		src.hasher = s.startHasher(src)
	}
	bp := <-src.hasher.free
	chunk := (*bp)[frameRoom : frameRoom+chunkLen(src.rec, int(i))]
	_, err := src.file.ReadAt(chunk, int64(i)*int64(src.rec.ChunkSize))
	ok := err == nil || err == io.EOF
	if was, has := src.builder.sum(int(i)); ok && has {
		sum := identity.ChunkHash(chunk)
		ok = string(sum[:]) == string(was)
	}
	if !ok {
		src.hasher.free <- bp
		s.log.Warn("not serving a chunk that changed since it was first served", "file", src.rec.ID, "chunk", i)
		return w.WriteMsg(&fpb.Chunk{Index: i, Status: fpb.Chunk_STATUS_NOT_AVAILABLE})
	}
	if err := writeOK(st, bw, (*bp)[:frameRoom+len(chunk)], i); err != nil {
		src.hasher.free <- bp
		return err
	}
	*bp = (*bp)[:frameRoom+len(chunk)]
	src.hasher.jobs <- hashJob{index: int(i), buf: bp}
	s.countServed(src.rec, int(i), len(chunk))
	return nil
}

// serveHashes answers a request for the hashes of our streamed offer: the
// list and the signature over its root, or an empty frame when we have
// none to give (not ours, not streamed, unknown, cancelled).
func (s *Service) serveHashes(w pbio.Writer, src *source) error {
	var h fpb.Hashes
	if src.status == fpb.Chunk_STATUS_OK && src.rec.Outgoing && src.builder != nil {
		h.ChunkHashes = s.hashesFor(src)
	} else if src.status == fpb.Chunk_STATUS_OK && src.rec.Outgoing {
		h.ChunkHashes = src.rec.ChunkHashes
	}
	if len(h.ChunkHashes) != 0 {
		fileID, _ := hexBytes(src.rec.ID)
		root := identity.FileRoot(uint64(src.rec.Size), src.rec.ChunkSize, h.ChunkHashes)
		key := s.cfg.Host.Peerstore().PrivKey(s.self)
		if key == nil {
			return errors.New("no key to sign chunk hashes with")
		}
		sig, err := key.Sign(rootMessage(fileID, root))
		if err != nil {
			return err
		}
		h.Signature = sig
	}
	return w.WriteMsg(&h)
}

// countServed records an upload of ours, for progress and for tests.
func (s *Service) countServed(rec storage.FileRecord, i, n int) {
	s.mu.Lock()
	sv := s.served[rec.ID]
	if sv == nil {
		sv = &served{chunks: make([]bool, identity.FileChunks(rec.Size, rec.ChunkSize))}
		s.served[rec.ID] = sv
	}
	sv.bytes += int64(n)
	first := !sv.chunks[i]
	if first {
		sv.chunks[i] = true
		sv.count++
	}
	all := sv.count == len(sv.chunks)
	started := sv.count == 1 && first
	tick := first && time.Since(sv.lastEvent) >= progressEvery
	if tick {
		sv.lastEvent = time.Now()
	}
	s.mu.Unlock()
	switch {
	case all && first:
		if _, err := s.setState(rec.ID, parley.FileComplete, "", func(f *storage.FileRecord) { f.BytesDone = f.Size }); err != nil {
			s.log.Warn("recording an upload", "file", rec.ID, "err", err)
		}
	case started && rec.State == parley.FileOffered:
		if _, err := s.setState(rec.ID, parley.FileTransferring, "", nil); err != nil {
			s.log.Warn("recording an upload", "file", rec.ID, "err", err)
		}
	case tick:
		// Uploads report progress as downloads do, throttled.
		f := rec.File
		f.State = parley.FileTransferring
		s.mu.Lock()
		f.BytesDone, f.ServedBytes = min(int64(sv.count)*int64(rec.ChunkSize), rec.Size), sv.bytes
		s.mu.Unlock()
		s.notify(f)
	}
}
