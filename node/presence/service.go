// Package presence serves /parley/presence/1.0.0 (PROTOCOL.md §10.1): the
// ephemeral signals between contacts that are never stored, never an
// envelope and never synced: "typing" in a DM, and "seen" (whether the
// sender shares its last seen with us). A frame travels only over a
// connection that already exists: nothing here dials a peer. The sender of
// a frame is the stream's authenticated remote peer.
//
// It also keeps the typing state both ways (typing.go): who is typing where
// (with expiry, on the receiving side) and when we last said we type (the
// rate limit, on the sending side). Group typing travels by GossipSub
// (pubsub/presence.go) and shares that state.
package presence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/internal/lifetime"
	pb "github.com/parley-im/parley/pb/presencepb"
)

// ID is the presence protocol.
const ID protocol.ID = "/parley/presence/1.0.0"

// Wire and rate limits (PROTOCOL.md §10.1).
const (
	// MaxFrameSize bounds a frame: a few bytes are all any frame needs.
	MaxFrameSize = 32
	// ioTimeout bounds reading or writing the one frame of a stream.
	ioTimeout = 5 * time.Second
	// maxStreams is how many presence streams are served at once, from
	// everyone together; each holds one tiny frame for a moment.
	maxStreams = 64
	// peerRate and peerBurst bound what one peer may send us: a sender
	// within the protocol sends a "typing" per conversation every 3 s, a
	// "stopped" and a "seen" per connection. The rest is dropped unread.
	peerRate  = 1 // frames per second
	peerBurst = 10
	// maxLimiters bounds the limiter table; past it, it starts over.
	maxLimiters = 4096
)

// Config wires a Service. Host, Allowed, OnTyping and OnSeen are required.
type Config struct {
	Host host.Host
	// Allowed says whether frames from p are taken at all: an accepted
	// contact. Others' are dropped unread (the stream is reset).
	Allowed func(p peer.ID) bool
	// OnTyping is called for a typing frame of an allowed peer.
	OnTyping func(p peer.ID, active bool)
	// OnSeen is called for a seen frame of an allowed peer.
	OnSeen func(p peer.ID, share bool)
	Logger *slog.Logger
}

// Service serves /parley/presence/1.0.0 and sends on it.
type Service struct {
	cfg  Config
	log  *slog.Logger
	life *lifetime.Protocol

	mu       sync.Mutex
	limiters map[peer.ID]*rate.Limiter // guarded by mu
	// sending: a lock per peer with a Send under way, so that one peer
	// has at most one presence stream from us open at a time (the
	// resource manager allows each Parley protocol two per peer each way,
	// and a "seen" may coincide with a "typing"). Guarded by mu.
	sending map[peer.ID]*peerLock
}

// peerLock serialises Sends to one peer; users counts who holds or waits
// for it, so the map entry goes with the last.
type peerLock struct {
	sync.Mutex
	users int
}

// lockPeer waits for p's send lock; the returned func releases it.
func (s *Service) lockPeer(p peer.ID) func() {
	s.mu.Lock()
	l := s.sending[p]
	if l == nil {
		l = &peerLock{}
		s.sending[p] = l
	}
	l.users++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.sending, p)
		}
		s.mu.Unlock()
	}
}

// New builds the service; Start makes it serve.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Allowed == nil || cfg.OnTyping == nil || cfg.OnSeen == nil {
		return nil, errors.New("presence: Host, Allowed, OnTyping and OnSeen are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("service", "presence"), life: lifetime.New(cfg.Host, ID),
		limiters: make(map[peer.ID]*rate.Limiter), sending: make(map[peer.ID]*peerLock)}, nil
}

// Start serves the protocol.
func (s *Service) Start() { s.life.Serve(s.handleStream) }

// Close stops serving and waits for the handlers.
func (s *Service) Close() error {
	s.life.Close()
	return nil
}

// allow spends one of p's frames; false: p is over its rate.
func (s *Service) allow(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	lim := s.limiters[p]
	if lim == nil {
		if len(s.limiters) >= maxLimiters {
			s.limiters = make(map[peer.ID]*rate.Limiter)
		}
		lim = rate.NewLimiter(peerRate, peerBurst)
		s.limiters[p] = lim
	}
	return lim.Allow()
}

func (s *Service) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	done, ok := s.life.Admit(st, func(open int) bool { return open < maxStreams }, nil)
	if !ok {
		return
	}
	defer done()
	// Judged before reading: a stranger's or a flooder's frame is not even
	// read.
	if !s.cfg.Allowed(remote) || !s.allow(remote) {
		_ = st.Reset()
		return
	}
	r := frame.NewReader(st, MaxFrameSize).WithLimits(st, frame.Limits{Idle: ioTimeout, Frame: ioTimeout, End: time.Now().Add(ioTimeout)})
	b, err := r.ReadFrame()
	if err != nil {
		s.log.Debug("presence: bad or stalled frame", "peer", remote, "err", err)
		_ = st.Reset()
		return
	}
	f, err := Decode(b)
	if err != nil {
		s.log.Debug("presence: refused a frame", "peer", remote, "err", err)
		_ = st.Reset()
		return
	}
	switch k := f.Kind.(type) {
	case *pb.Frame_Typing:
		s.cfg.OnTyping(remote, k.Typing.GetActive())
	case *pb.Frame_Seen:
		s.cfg.OnSeen(remote, k.Seen.GetShare())
	}
	// Closed once handled: the sender reads the end of the stream as "taken".
	_ = st.Close()
}

// Decode reads a frame's bytes: a Frame holding exactly one known kind.
func Decode(b []byte) (*pb.Frame, error) {
	if len(b) > MaxFrameSize {
		return nil, fmt.Errorf("presence: frame of %d bytes, over %d", len(b), MaxFrameSize)
	}
	var f pb.Frame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("presence: frame does not decode: %w", err)
	}
	switch k := f.Kind.(type) {
	case *pb.Frame_Typing:
		if k.Typing == nil {
			k.Typing = new(pb.Typing) // an empty submessage on the wire: "stopped"
		}
	case *pb.Frame_Seen:
		if k.Seen == nil {
			k.Seen = new(pb.Seen)
		}
	default:
		return nil, errors.New("presence: frame of no known kind")
	}
	return &f, nil
}

// ErrNotConnected: the peer has no connection to us now, and presence
// never dials one.
var ErrNotConnected = errors.New("presence: not connected")

// Send sends one frame to p over an existing connection (a relayed one
// too: the frame is a few bytes), or ErrNotConnected, and returns once p
// has handled it (an error: p dropped it, or could not be reached).
func (s *Service) Send(ctx context.Context, p peer.ID, f *pb.Frame) error {
	if s.cfg.Host.Network().Connectedness(p) != network.Connected && len(s.cfg.Host.Network().ConnsToPeer(p)) == 0 {
		return ErrNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	defer s.lockPeer(p)()
	ctx = network.WithNoDial(ctx, "presence: only over an existing connection")
	ctx = network.WithAllowLimitedConn(ctx, "presence: a few bytes")
	st, err := s.cfg.Host.NewStream(ctx, p, ID)
	if err != nil {
		return fmt.Errorf("presence: opening a stream to %s: %w", p, err)
	}
	dl, _ := ctx.Deadline()
	_ = st.SetDeadline(dl)
	if err := pbio.NewDelimitedWriter(st).WriteMsg(f); err != nil {
		_ = st.Reset()
		return fmt.Errorf("presence: sending to %s: %w", p, err)
	}
	_ = st.CloseWrite()
	// The receiver closes the stream once it has handled the frame, and
	// resets it when it drops the frame: wait for which.
	var one [1]byte
	if _, err := st.Read(one[:]); !errors.Is(err, io.EOF) {
		_ = st.Reset()
		if err == nil {
			err = errors.New("unexpected bytes")
		}
		return fmt.Errorf("presence: %s did not take the frame: %w", p, err)
	}
	return st.Close()
}

// TypingFrame and SeenFrame build the frames Send takes.
func TypingFrame(active bool) *pb.Frame {
	return &pb.Frame{Kind: &pb.Frame_Typing{Typing: &pb.Typing{Active: active}}}
}

// SeenFrame says whether we share our last seen.
func SeenFrame(share bool) *pb.Frame {
	return &pb.Frame{Kind: &pb.Frame_Seen{Seen: &pb.Seen{Share: share}}}
}
