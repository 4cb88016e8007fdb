package files

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/diskspace"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/lifetime"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// ID is the file-transfer protocol's first version: chunks sealed under the
// file key inside the connection's own encryption.
const ID protocol.ID = "/parley/file/1.0.0"

// PlainID is its second version, the same frames with chunks as they are:
// a libp2p connection between two peers entitled to the file is already
// encrypted end to end between them (TLS 1.3 or Noise, relays included),
// so a second layer under the file key only cost CPU (PROTOCOL.md §8).
// The file key stays for what third parties hold (mailbox deposits).
// Downloads ask for PlainID first and fall back to ID with older nodes.
const PlainID protocol.ID = "/parley/file/2.0.0"

// StreamID is the third version: PlainID's frames, plus a request for a
// streamed offer's chunk hashes (Request.hashes, answered by a Hashes
// frame). A streamed offer leaves before its sender has read the file,
// which is then read once, as it is sent, and hashed on the way
// (PROTOCOL.md §8). A node that serves StreamID takes streamed offers.
const StreamID protocol.ID = "/parley/file/3.0.0"

// Defaults and limits.
const (
	// DefaultAutoAccept: files from contacts up to this size are fetched
	// without asking.
	DefaultAutoAccept = 25 << 20
	// maxActive downloads run at once; more wait their turn.
	maxActive = 3
	// maxServing inbound streams from known peers are served at once,
	// and maxServingStrangers from strangers (inbound.PerStranger each), apart.
	maxServing          = 16
	maxServingStrangers = 4
	// maxRequestChunks per Request frame.
	maxRequestChunks = 64
	maxRequestFrame  = 4 << 10
	progressEvery    = 200 * time.Millisecond
	saveEvery        = 2 * time.Second
	retryMin         = time.Second
	retryMax         = 30 * time.Second
	ioTimeout        = 30 * time.Second
	// maxBadChunks from one source in one session end the session.
	maxBadChunks = 3
)

// Time limits of an inbound stream. A known peer's frame (a request) must
// arrive within ioTimeout; its stream has no total, as a large file may
// take hours on a slow link, and is never idle while chunks are asked
// for (a downloader writes its requests up front). A stranger has nothing
// to fetch from us but files it may not know it cannot have: it gets less.
var (
	knownTimeouts = inbound.Timeouts{Idle: ioTimeout, Frame: ioTimeout}
	// DefaultStrangerTimeouts: 10 s to start a request and 10 s to finish
	// it, a minute in all.
	DefaultStrangerTimeouts = inbound.Timeouts{Idle: 10 * time.Second, Frame: 10 * time.Second, Stream: time.Minute}
)

// Config wires a Service. Logger and AutoAccept are optional.
type Config struct {
	Host  host.Host
	Store *storage.DB
	// Downloads is where finished files go (created when first needed).
	Downloads string
	Notify    func(parley.Event)
	// MayFetch says whether p may fetch the files offered in conv (the
	// DM's other side; a current member of the group).
	MayFetch func(conv parley.ConversationID, p peer.ID) bool
	// Sources lists the peers to fetch a file from, best first.
	Sources func(f parley.File) []peer.ID
	// Connect dials a peer (known addresses, else the DHT).
	Connect func(ctx context.Context, p peer.ID) error
	// IsContact says whether a peer is an accepted contact: only their
	// files are fetched without asking.
	IsContact func(p peer.ID) bool
	// Known says whether a peer is a contact or a fellow group member:
	// their streams are served apart from strangers'.
	Known func(p peer.ID) bool
	// StrangerTimeouts bound a stranger's inbound stream; zero fields take
	// DefaultStrangerTimeouts'.
	StrangerTimeouts inbound.Timeouts
	// AutoAccept is the size limit for fetching without asking; 0 means
	// DefaultAutoAccept, negative never.
	AutoAccept int64
	Logger     *slog.Logger
}

// Service offers, serves and fetches files.
type Service struct {
	cfg  Config
	self peer.ID
	log  *slog.Logger

	// life serves the streams we send chunks on and runs the downloads;
	// Close ends both. budget counts the streams served, only in handle's
	// admit and release (under life's lock).
	life             *lifetime.Protocol
	budget           inbound.Budget
	strangerTimeouts inbound.Timeouts

	autoAccept atomic.Int64 // bytes; negative: never

	mu        sync.Mutex
	transfers map[string]*transfer // guarded by mu: downloads running or queued, by file ID
	waiting   []string             // guarded by mu: accepted, waiting for a slot
	served    map[string]*served   // guarded by mu: our offers, by file ID
	// building: guarded by mu: our streamed offers whose hashes are
	// being made as their chunks are served, by file ID.
	building map[string]*rootBuilder

	// mailMu orders writes of chunks from mailboxes into part files with
	// the end of a download and a cancel (writeMailChunks).
	mailMu sync.Mutex
}

// served counts what we uploaded of one of our offers.
type served struct {
	bytes     int64
	chunks    []bool
	count     int
	lastEvent time.Time
}

// New builds the service; Start makes it serve and resumes downloads.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Store == nil || cfg.Downloads == "" || cfg.Notify == nil || cfg.MayFetch == nil ||
		cfg.Sources == nil || cfg.Connect == nil || cfg.IsContact == nil || cfg.Known == nil {
		return nil, errors.New("files: every Config field but Logger, AutoAccept and StrangerTimeouts is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AutoAccept == 0 {
		cfg.AutoAccept = DefaultAutoAccept
	}
	s := &Service{
		cfg:       cfg,
		self:      cfg.Host.ID(),
		log:       cfg.Logger.With("service", "files"),
		life:      lifetime.New(cfg.Host, StreamID, PlainID, ID),
		budget:    inbound.Budget{Known: maxServing, Strangers: maxServingStrangers, PerStranger: inbound.PerStranger},
		transfers: make(map[string]*transfer),
		served:    make(map[string]*served),
		building:  make(map[string]*rootBuilder),
	}
	s.strangerTimeouts = cfg.StrangerTimeouts
	t, def := &s.strangerTimeouts, DefaultStrangerTimeouts
	for _, f := range []struct{ v, def *time.Duration }{{&t.Idle, &def.Idle}, {&t.Frame, &def.Frame}, {&t.Stream, &def.Stream}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	s.autoAccept.Store(cfg.AutoAccept)
	return s, nil
}

// TakesStreamed says whether p's node takes streamed offers (it serves
// StreamID, as identify told us): only then may an offer to p leave before
// the file is read (PrepareStreamed).
func (s *Service) TakesStreamed(p peer.ID) bool {
	ok, err := s.cfg.Host.Peerstore().SupportsProtocols(p, StreamID)
	return err == nil && len(ok) > 0
}

// AutoAccept is the size up to which files from contacts are fetched
// without asking (negative: never).
func (s *Service) AutoAccept() int64 { return s.autoAccept.Load() }

// SetAutoAccept changes it for offers from now on.
func (s *Service) SetAutoAccept(limit int64) { s.autoAccept.Store(limit) }

// Start serves the protocol, resumes the downloads a restart cut short and
// starts those the auto-accept rule took but could not start.
func (s *Service) Start() error {
	s.life.Serve(s.handle)
	return s.fetchAccepted(true)
}

// FetchAutoAccepted starts the offers the auto-accept rule took but that
// could not start then (no room on the disk, or we stopped first): at
// Start, and when the disk has room again.
func (s *Service) FetchAutoAccepted() error { return s.fetchAccepted(false) }

// fetchAccepted starts every accepted offer not fetched yet and, with
// resume, the downloads a restart cut short: one pass over the records.
func (s *Service) fetchAccepted(resume bool) error {
	recs, err := s.cfg.Store.Files()
	if err != nil {
		return err
	}
	for _, rec := range recs {
		switch {
		case rec.Outgoing || !rec.Accepted:
		case rec.State == parley.FileOffered:
			s.startFetch(rec)
		case resume && rec.State == parley.FileTransferring:
			s.enqueue(rec.ID)
		}
	}
	return nil
}

// Close stops serving and fetching; partial downloads stay for the next
// start.
func (s *Service) Close() error {
	s.life.Close()
	return nil
}

// FileID is the text form of an offer's file ID.
func FileID(o *pb.FileOffer) string { return hex.EncodeToString(o.FileId) }

// Offered records an offer of ours once its envelope is stored: path is
// the file we serve it from.
func (s *Service) Offered(conv parley.ConversationID, msg parley.EnvelopeID, o *pb.FileOffer, path string) (parley.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return parley.File{}, err
	}
	// Prepare just hashed it: its modification time now vouches for it.
	var modTime int64
	if st, err := os.Stat(abs); err == nil && st.Size() == int64(o.Size) {
		modTime = st.ModTime().UnixNano()
	}
	rec, err := s.cfg.Store.UpdateFile(FileID(o), func(f *storage.FileRecord, found bool) (bool, error) {
		*f = recordOf(conv, msg, s.self, o)
		f.Outgoing, f.Path, f.State, f.PathModTime = true, abs, parley.FileOffered, modTime
		if o.Size == 0 {
			f.State = parley.FileComplete // nothing to serve
		}
		return true, nil
	})
	if err != nil {
		return parley.File{}, err
	}
	s.notify(rec.File)
	return rec.File, nil
}

func recordOf(conv parley.ConversationID, msg parley.EnvelopeID, from peer.ID, o *pb.FileOffer) storage.FileRecord {
	return storage.FileRecord{
		File: parley.File{
			ID: FileID(o), Conversation: conv, Message: msg, Name: o.Name, Size: int64(o.Size),
			MediaType: o.MediaType, From: from.String(),
		},
		ChunkSize: o.ChunkSize, ChunkHashes: o.ChunkHashes, Root: o.Root, Key: o.Key,
	}
}

// OnOffer records a file a peer offered (its envelope is stored) and
// fetches it right away when it is from a contact and within the
// auto-accept limit. An offer seen before changes nothing.
func (s *Service) OnOffer(conv parley.ConversationID, msg parley.EnvelopeID, from peer.ID, o *pb.FileOffer) error {
	if from == s.self {
		return nil // our own, synced back to us
	}
	isNew := false
	limit := s.AutoAccept()
	rec, err := s.cfg.Store.UpdateFile(FileID(o), func(f *storage.FileRecord, found bool) (bool, error) {
		if found {
			return false, nil
		}
		isNew = true
		*f = recordOf(conv, msg, from, o)
		f.State = parley.FileOffered
		// The auto-accept decision is stored with the offer, so a fetch
		// that cannot start now (no room, or we stop first) starts on a
		// later Start instead of leaving the offer waiting for good.
		f.Accepted = limit >= 0 && f.Size <= limit && s.cfg.IsContact(from)
		return true, nil
	})
	if err != nil || !isNew {
		return err
	}
	s.notify(rec.File)
	if rec.Accepted {
		s.startFetch(rec)
	}
	return nil
}

// startFetch starts an offer the auto-accept rule took; one that cannot
// start now stays accepted for the next Start.
func (s *Service) startFetch(rec storage.FileRecord) {
	if _, err := s.Accept(rec.ID); err != nil {
		s.log.Info("not fetching an offered file yet", "file", rec.ID, "err", err)
	}
}

// Accept fetches an offered file (again, after a failure).
func (s *Service) Accept(id string) (parley.File, error) {
	rec, err := s.cfg.Store.File(id)
	if err != nil {
		return parley.File{}, fmt.Errorf("%w: no file %q", parley.ErrNotFound, id)
	}
	switch {
	case rec.Outgoing:
		return rec.File, fmt.Errorf("%w: %s is a file you offered", parley.ErrMalformed, rec.Name)
	case rec.State == parley.FileComplete, rec.State == parley.FileTransferring && rec.Accepted:
		return rec.File, nil
	case rec.State == parley.FileCanceled:
		return rec.File, fmt.Errorf("%w: the transfer of %s was cancelled", parley.ErrMalformed, rec.Name)
	}
	if err := os.MkdirAll(s.cfg.Downloads, 0o700); err != nil {
		return rec.File, fmt.Errorf("downloads folder: %w", err)
	}
	if free, err := diskspace.Free(s.cfg.Downloads); err == nil && free < rec.Size {
		return rec.File, fmt.Errorf("%w: %s needs %d bytes, the disk has %d free", ErrNoSpace, rec.Name, rec.Size, free)
	}
	rec, err = s.setState(id, parley.FileTransferring, "", func(f *storage.FileRecord) { f.Accepted = true })
	if err != nil {
		return parley.File{}, err
	}
	s.enqueue(id)
	return rec.File, nil
}

// ErrNoSpace: the disk cannot hold the file (parley.ErrNoSpace, so the
// API can map it).
var ErrNoSpace = parley.ErrNoSpace

// Cancel stops a transfer: ours is no longer served; theirs stops and its
// partial data is deleted. A cancelled transfer stays cancelled. The caller
// tells the DM's other side (dm.SendFileCancel), which applies it with
// OnCancel.
func (s *Service) Cancel(id string) (parley.File, error) {
	rec, err := s.cfg.Store.File(id)
	if err != nil {
		return parley.File{}, fmt.Errorf("%w: no file %q", parley.ErrNotFound, id)
	}
	if rec.State == parley.FileComplete && !rec.Outgoing {
		return rec.File, fmt.Errorf("%w: %s is already complete", parley.ErrMalformed, rec.Name)
	}
	rec, err = s.cancel(rec, "")
	return rec.File, err
}

// OnCancel applies the cancel of file id that from, the other side of the
// DM conv, sent: its sender withdrew it, or its recipient cancelled or
// declined it. Only the DM's two sides take part in its transfer, so a
// group's files are never cancelled this way; a cancel of a file that is
// complete on our side, or that we do not know, changes nothing.
func (s *Service) OnCancel(conv parley.ConversationID, from peer.ID, id string) error {
	rec, err := s.cfg.Store.File(id)
	switch {
	case errors.Is(err, parley.ErrNotFound):
		return nil
	case err != nil:
		return err
	case rec.Conversation != conv || conv != parley.DMConversationID(s.self.String(), from.String()):
		s.log.Debug("ignoring a file cancel from outside the file's conversation", "file", id, "peer", from)
		return nil
	case rec.State == parley.FileCanceled, rec.State == parley.FileComplete && !rec.Outgoing:
		return nil
	}
	why := "the sender cancelled it"
	if rec.Outgoing {
		why = "the recipient cancelled it"
	}
	_, err = s.cancel(rec, why)
	return err
}

// cancel stops rec's download, if one runs, deletes its partial data and
// records it cancelled.
func (s *Service) cancel(rec storage.FileRecord, why string) (storage.FileRecord, error) {
	s.mu.Lock()
	t := s.transfers[rec.ID]
	s.waiting = slices.DeleteFunc(s.waiting, func(w string) bool { return w == rec.ID })
	s.mu.Unlock()
	if t != nil {
		t.stop()
		<-t.done
	}
	s.mailMu.Lock()
	defer s.mailMu.Unlock()
	if !rec.Outgoing {
		_ = os.Remove(s.partPath(rec.ID))
	}
	return s.setState(rec.ID, parley.FileCanceled, why, nil)
}

// Files lists every file, newest offer first.
func (s *Service) Files() ([]parley.File, error) {
	recs, err := s.cfg.Store.Files()
	if err != nil {
		return nil, err
	}
	out := make([]parley.File, len(recs))
	for i, r := range recs {
		out[i] = s.live(r)
	}
	slices.SortFunc(out, func(a, b parley.File) int { return strings.Compare(b.Message.String(), a.Message.String()) })
	return out, nil
}

// File describes one file, with live progress.
func (s *Service) File(id string) (parley.File, error) {
	rec, err := s.cfg.Store.File(id)
	if err != nil {
		return parley.File{}, fmt.Errorf("%w: no file %q", parley.ErrNotFound, id)
	}
	return s.live(rec), nil
}

// live adds in-memory progress to a stored record.
func (s *Service) live(rec storage.FileRecord) parley.File {
	f := rec.File
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.transfers[rec.ID]; t != nil {
		f.BytesDone = t.bytesDone()
	}
	if sv := s.served[rec.ID]; sv != nil && rec.Outgoing {
		f.BytesDone = min(int64(sv.count)*int64(rec.ChunkSize), rec.Size)
		f.ServedBytes = sv.bytes
	}
	return f
}

// Served is how many bytes of one of our offers we have uploaded, in all.
func (s *Service) Served(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.served[id]; sv != nil {
		return sv.bytes
	}
	return 0
}

func (s *Service) setState(id string, state parley.FileState, why string, also func(*storage.FileRecord)) (storage.FileRecord, error) {
	rec, err := s.cfg.Store.UpdateFile(id, func(f *storage.FileRecord, found bool) (bool, error) {
		if !found {
			return false, fmt.Errorf("%w: no file %q", parley.ErrNotFound, id)
		}
		if f.State == parley.FileCanceled && state != parley.FileCanceled {
			// Final: an upload or download that was under way when the
			// transfer was cancelled must not bring it back.
			return false, nil
		}
		f.State, f.Error = state, why
		if also != nil {
			also(f)
		}
		return true, nil
	})
	if err == nil {
		s.notify(s.live(rec))
	}
	return rec, err
}

func (s *Service) notify(f parley.File) {
	s.cfg.Notify(parley.Event{Type: parley.EventFile, File: &f})
}

func (s *Service) partPath(id string) string {
	return filepath.Join(s.cfg.Downloads, ".parley-"+id+".part")
}

// enqueue starts a download, or queues it while maxActive run.
func (s *Service) enqueue(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transfers[id] != nil || slices.Contains(s.waiting, id) {
		return
	}
	if len(s.transfers) >= maxActive {
		s.waiting = append(s.waiting, id)
		return
	}
	s.startLocked(id)
}

// startLocked runs a download, unless the service is closed. Call with
// s.mu held.
func (s *Service) startLocked(id string) {
	ctx, cancel := context.WithCancel(s.life.Context())
	t := &transfer{id: id, stop: cancel, done: make(chan struct{})}
	started := s.life.Go(func(context.Context) {
		defer close(t.done)
		s.download(ctx, t)
		s.mu.Lock()
		delete(s.transfers, id)
		if len(s.waiting) > 0 {
			next := s.waiting[0]
			s.waiting = s.waiting[1:]
			s.startLocked(next)
		}
		s.mu.Unlock()
	})
	if !started {
		cancel()
		return
	}
	s.transfers[id] = t
}

// cipherFor makes a record's chunk cipher.
func cipherFor(rec storage.FileRecord) (*identity.FileCipher, error) {
	id, err := hex.DecodeString(rec.ID)
	if err != nil {
		return nil, err
	}
	return identity.NewFileCipher(rec.Key, id)
}

// chunkLen is the plaintext length of chunk i.
func chunkLen(rec storage.FileRecord, i int) int {
	start := int64(i) * int64(rec.ChunkSize)
	return int(min(int64(rec.ChunkSize), rec.Size-start))
}
