package catchup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/lifetime"
	"github.com/parley-im/parley/node/catchup/pb"
)

// ID is the anti-entropy protocol.
const ID protocol.ID = "/parley/sync/1.0.0"

// Time limits. A session that needs longer than sessionTimeout ends with an
// error; what was accepted so far is kept, and the next session goes on
// from there.
const (
	sessionTimeout = 5 * time.Minute
	// frameTimeout bounds reading or writing one frame: a peer that stops
	// answering is dropped within it, not at the session's end.
	frameTimeout = 30 * time.Second
)

// Inbound sessions served at once. An initiator syncs one conversation at a
// time with a peer, so a few per peer leave room for both sides starting a
// session together and for a second conversation; beyond that a peer is
// refused rather than allowed to pin our disk and memory. Strangers (not a
// contact, not a fellow member: at best a member we have not yet heard
// of) have a small share of their own, one session each, so that they
// never keep a member waiting.
const (
	maxSessionsPerPeer  = 4
	maxSessions         = 32
	maxStrangerSessions = 4
)

// DefaultStrangerTimeouts: 10 s to start a frame and 10 s to finish it, a
// minute in all. A known peer has frameTimeout per frame and
// sessionTimeout in all.
var DefaultStrangerTimeouts = inbound.Timeouts{Idle: 10 * time.Second, Frame: 10 * time.Second, Stream: time.Minute}

// ErrClosed is returned by Sync once the Service is closed.
var ErrClosed = errors.New("catchup: service closed")

// Item is one envelope in a log's index.
type Item struct {
	HLC   parley.HLC
	ID    parley.EnvelopeID
	KeyID [16]byte
}

// Log is one side's copy of one conversation. The node implements it over
// its store. A session calls the Log that Open returned for it from one
// goroutine; other sessions may run on the same conversation meanwhile,
// each with its own Log from Open.
type Log interface {
	// KeyIDs lists the keys we hold for the conversation.
	KeyIDs() ([][16]byte, error)
	// Scan calls fn for every item with lo <= HLC < hi, in (HLC, ID) order,
	// until fn returns false. hi == 0 means no upper bound.
	Scan(lo, hi parley.HLC, fn func(Item) bool) error
	// Envelope returns an envelope's bytes (parley.ErrNotFound if absent).
	Envelope(id parley.EnvelopeID) ([]byte, error)
	// Accept checks and stores envelopes the peer sent. rejected counts
	// envelopes that failed the checks (the peer's fault); err is a failure
	// of our own (store), which ends the session without blaming the peer.
	Accept(remote peer.ID, envs [][]byte) (added, rejected int, err error)
	// Synced is called once, when the session ends cleanly (either side
	// may have started it), with the keys both sides hold: the peer then
	// holds every item this Log held under those keys when the session
	// began, but for any its checks refused.
	Synced(shared [][16]byte)
}

// Config wires a Service. Host and Open are required.
type Config struct {
	Host host.Host
	// Open returns the conversation's log if remote may sync it with us (a
	// current member); otherwise an error, and the session is refused.
	// Called for both inbound and outbound sessions.
	Open func(conv parley.ConversationID, remote peer.ID) (Log, error)
	// Known says whether a peer is a contact or a fellow member (nil:
	// everyone is): strangers' sessions are served apart, with less time.
	Known func(p peer.ID) bool
	// StrangerTimeouts bound a stranger's inbound session; zero fields
	// take DefaultStrangerTimeouts'.
	StrangerTimeouts inbound.Timeouts
	Logger           *slog.Logger // default slog.Default()
}

// Stats describes one session, from our side. Received counts envelopes
// that were new to us; Rounds counts the frames the peer sent.
type Stats struct {
	Sent, Received, Rejected, Rounds int
	BytesSent, BytesReceived         int64
}

// Service serves /parley/sync/1.0.0 and runs sessions with peers.
type Service struct {
	cfg Config
	log *slog.Logger

	// life serves the inbound sessions and counts the running Syncs;
	// Close ends both.
	life    *lifetime.Protocol
	perPeer map[peer.ID]int // known peers' inbound sessions; only in handleStream's admit and release
	budget  inbound.Budget  // likewise

	// traceFrame, when set (tests only), sees every frame a session of
	// this Service writes, and its size.
	traceFrame func(m *pb.Message, size int)
}

// New builds the service; Start makes it serve.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Open == nil {
		return nil, errors.New("catchup: Host and Open are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Known == nil {
		cfg.Known = func(peer.ID) bool { return true }
	}
	t, def := &cfg.StrangerTimeouts, DefaultStrangerTimeouts
	for _, f := range []struct{ v, def *time.Duration }{{&t.Idle, &def.Idle}, {&t.Frame, &def.Frame}, {&t.Stream, &def.Stream}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return &Service{
		budget:  inbound.Budget{Known: maxSessions, Strangers: maxStrangerSessions, PerStranger: inbound.PerStranger},
		cfg:     cfg,
		log:     cfg.Logger.With("service", "sync"),
		life:    lifetime.New(cfg.Host, ID),
		perPeer: make(map[peer.ID]int),
	}, nil
}

// Start serves the protocol.
func (s *Service) Start() {
	s.life.Serve(s.handleStream)
}

// Close stops serving, ends every session (inbound ones by resetting their
// streams, outbound ones by failing their Sync with ErrClosed) and waits
// for them to return.
func (s *Service) Close() error {
	s.life.Close()
	return nil
}

// Sync runs one session with remote for conv as the initiator. It returns
// when both sides hold the same envelopes under the keys they share, or on
// error; the Stats are filled in either way. Envelopes received before an
// error stay accepted.
func (s *Service) Sync(ctx context.Context, remote peer.ID, conv parley.ConversationID) (Stats, error) {
	done, ok := s.life.Begin()
	if !ok {
		return Stats{}, ErrClosed
	}
	defer done()
	if remote == s.cfg.Host.ID() {
		return Stats{}, errors.New("catchup: cannot sync with ourselves")
	}
	lg, err := s.cfg.Open(conv, remote)
	if err != nil {
		return Stats{}, fmt.Errorf("catchup: opening conversation %s with %s: %w", conv, remote, err)
	}
	keys, err := lg.KeyIDs()
	if err != nil {
		return Stats{}, fmt.Errorf("catchup: listing keys: %w", err)
	}
	if len(keys) > maxKeyIDs {
		return Stats{}, fmt.Errorf("catchup: %d keys for one conversation, the protocol carries at most %d", len(keys), maxKeyIDs)
	}

	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	stop := context.AfterFunc(s.life.Context(), cancel) // Close ends the session
	defer stop()
	// A relayed (limited) connection is allowed: a member behind a
	// symmetric NAT has no other way to catch up. The relay's data limit
	// may cut a long session short; the next one resumes where it ended.
	st, err := s.cfg.Host.NewStream(network.WithAllowLimitedConn(ctx, "sync"), remote, ID)
	if err != nil {
		if s.life.Context().Err() != nil {
			return Stats{}, ErrClosed
		}
		return Stats{}, fmt.Errorf("catchup: opening stream: %w", err)
	}
	ss := newSession(lg, remote, true)
	ss.trace = s.traceFrame
	err = s.run(ctx, st, ss, frame.Limits{Idle: frameTimeout, Frame: frameTimeout}, func(w *frameIO) error {
		open := &pb.Message{ConversationId: conv[:], KeyIds: make([][]byte, len(keys))}
		for i, k := range keys {
			open.KeyIds[i] = k[:]
		}
		ss.startInitiator(keys)
		return w.write(open)
	})
	if err == nil {
		lg.Synced(ss.sharedKeys())
	}
	if err != nil && s.life.Context().Err() != nil {
		err = fmt.Errorf("%w (%w)", ErrClosed, err)
	}
	return ss.stats, err
}

// handleStream serves one inbound session.
func (s *Service) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	known := s.cfg.Known(remote)
	done, ok := s.life.Admit(st, func(int) bool {
		if known && s.perPeer[remote] >= maxSessionsPerPeer || !s.budget.Take(remote, known) {
			return false
		}
		if known {
			s.perPeer[remote]++
		}
		return true
	}, func() {
		s.budget.Release(remote, known)
		if !known {
			return
		}
		if s.perPeer[remote]--; s.perPeer[remote] == 0 {
			delete(s.perPeer, remote)
		}
	})
	if !ok {
		s.log.Debug("sync: refusing a session: closed or too many", "peer", remote, "known", known)
		return
	}
	defer done()

	timeout, lim := sessionTimeout, frame.Limits{Idle: frameTimeout, Frame: frameTimeout}
	if !known {
		t := s.cfg.StrangerTimeouts
		timeout, lim = min(timeout, t.Stream), frame.Limits{Idle: t.Idle, Frame: t.Frame}
	}
	ctx, cancel := context.WithTimeout(s.life.Context(), timeout)
	defer cancel()
	ss := newSession(nil, remote, false)
	ss.trace = s.traceFrame
	err := s.run(ctx, st, ss, lim, func(rw *frameIO) error {
		m, err := rw.read()
		if err != nil {
			return err
		}
		if err := checkMessage(m, &ss.check); err != nil {
			return err
		}
		conv := parley.ConversationID(m.ConversationId)
		lg, err := s.cfg.Open(conv, remote)
		if err != nil {
			return &refusedError{err}
		}
		ss.log = lg
		ours, err := lg.KeyIDs()
		if err != nil {
			return &localError{fmt.Errorf("listing keys: %w", err)}
		}
		reply, err := ss.startResponder(ours, m.KeyIds)
		if err != nil {
			return err
		}
		return rw.write(reply)
	})
	var refused *refusedError
	switch {
	case err == nil:
		s.log.Debug("sync: session done", "peer", remote, "stats", ss.stats)
		ss.log.Synced(ss.sharedKeys())
	case errors.As(err, &refused):
		s.log.Debug("sync: session refused", "peer", remote, "err", refused.err)
	case s.life.Context().Err() != nil:
	default:
		var local *localError
		if errors.As(err, &local) {
			s.log.Warn("sync: session failed on our side", "peer", remote, "err", err)
		} else {
			s.log.Debug("sync: session failed", "peer", remote, "err", err)
		}
	}
}

// run drives one session over st after open has written (initiator) or
// read and answered (responder) the first frames: read a frame, check it,
// apply it, write the answer, until one side has nothing left. Any error
// resets the stream; a clean end closes it. lim bounds each read (its End
// is the session's deadline).
func (s *Service) run(ctx context.Context, st network.Stream, ss *session, lim frame.Limits, open func(*frameIO) error) error {
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	deadline, _ := ctx.Deadline()
	lim.End = deadline
	rw := &frameIO{st: st, r: frame.NewReader(st, maxFrameSize).WithLimits(st, lim), w: pbio.NewDelimitedWriter(st), deadline: deadline, ss: ss}
	err := open(rw)
	if err == nil {
		err = ss.loop(rw)
	}
	if err != nil {
		_ = st.Reset()
		if ctx.Err() != nil {
			return fmt.Errorf("catchup: session with %s: %w (%w)", ss.remote, ctx.Err(), err)
		}
		return fmt.Errorf("catchup: session with %s: %w", ss.remote, err)
	}
	_ = st.Close() // the session is complete whatever closing says
	return nil
}

// frameIO reads and writes one session's frames with per-frame deadlines,
// counting bytes.
type frameIO struct {
	st       network.Stream
	r        *frame.Reader // sets the read deadlines itself
	w        pbio.Writer
	deadline time.Time // the session's
	ss       *session
}

func (f *frameIO) frameDeadline() time.Time {
	d := time.Now().Add(frameTimeout)
	if !f.deadline.IsZero() && f.deadline.Before(d) {
		return f.deadline
	}
	return d
}

// read returns the next frame; io.EOF when the peer closed its side.
func (f *frameIO) read() (*pb.Message, error) {
	m := new(pb.Message)
	if err := f.r.ReadMsg(m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		switch {
		case errors.Is(err, frame.ErrTooLarge):
			return nil, fmt.Errorf("%w: frame larger than %d bytes", parley.ErrMalformed, maxFrameSize)
		case errors.Is(err, frame.ErrMalformed):
			return nil, fmt.Errorf("%w: frame does not decode: %w", parley.ErrMalformed, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%w: stream closed inside a frame", parley.ErrMalformed)
		}
		return nil, fmt.Errorf("reading frame: %w", err)
	}
	f.ss.stats.Rounds++
	f.ss.stats.BytesReceived += frameSize(m)
	return m, nil
}

func (f *frameIO) write(m *pb.Message) error {
	size := frameSize(m)
	if size > maxFrameSize {
		// A bug of ours: the budgets in session.next keep frames smaller.
		return fmt.Errorf("built a frame of %d bytes, over the %d limit", size, maxFrameSize)
	}
	_ = f.st.SetWriteDeadline(f.frameDeadline())
	if err := f.w.WriteMsg(m); err != nil {
		return fmt.Errorf("writing frame: %w", err)
	}
	f.ss.stats.BytesSent += size
	f.ss.stats.Sent += len(m.Envelopes)
	if f.ss.trace != nil {
		f.ss.trace(m, int(size))
	}
	return nil
}

// refusedError: Open turned the session down.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return "refused: " + e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// localError is a failure of our own (the store), not the peer's.
type localError struct{ err error }

func (e *localError) Error() string { return "local log: " + e.err.Error() }
func (e *localError) Unwrap() error { return e.err }
