package mailbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/time/rate"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/lifetime"
	"github.com/parley-im/parley/storage"
)

// ID is the mailbox protocol.
const ID protocol.ID = "/parley/mailbox/1.0.0"

// Wire limits (PROTOCOL.md §9.4).
const (
	// MaxEnvelopeSize is the largest envelope a mailbox takes: a Parley
	// envelope's own limit.
	MaxEnvelopeSize = identity.MaxEnvelopeSize
	// MaxRequestSize bounds a request frame. It leaves room for an
	// envelope twice too large, so that one is answered CODE_TOO_LARGE
	// rather than reset.
	MaxRequestSize = 2*MaxEnvelopeSize + 4<<10
	// MaxResponseSize bounds a response frame: a page of mail.
	MaxResponseSize = 2 << 20
	// MaxPage is the most envelopes a page holds; maxPageBytes the most
	// envelope bytes (a page holds at least one envelope).
	MaxPage      = 256
	maxPageBytes = 1 << 20
	// MaxAck is the most envelope IDs one Ack names.
	MaxAck = 256
	// MaxRevoked is the most revoked nonces a registration carries; past
	// it, the owner moves to a new deposit key generation.
	MaxRevoked = 1024
)

// Timeouts of inbound streams: owners (a stream from a registered owner's
// own identity) get time to page through their mail; everyone else, a
// depositor on a one-time identity above all, a short stream.
var (
	ownerTimeouts    = inbound.Timeouts{Idle: 45 * time.Second, Frame: 45 * time.Second, Stream: 10 * time.Minute}
	strangerTimeouts = inbound.Timeouts{Idle: 10 * time.Second, Frame: 10 * time.Second, Stream: time.Minute}
)

// ioTimeout bounds writing a response.
const ioTimeout = 10 * time.Second

// Config wires a Service. Host and Store are required; every other field
// has the default its comment gives.
type Config struct {
	Host  host.Host
	Store *storage.DB
	// Quota bounds each owner's mail. Fields not above zero take the
	// defaults: 10,000 envelopes, 100 MiB.
	Quota storage.MailboxQuota
	// TTL is how long mail is kept unacknowledged. Default 30 days.
	TTL time.Duration
	// MaxAccounts is the most owners served. Default 1,000.
	MaxAccounts int64
	// Admit decides whether an owner may register (say, only contacts).
	// nil admits everyone, up to MaxAccounts.
	Admit func(owner crypto.PubKey) bool
	// MaxValidity is the longest a registration may run. Default 400 days.
	MaxValidity time.Duration
	// ClockSkew is how far in the future a registration may be issued.
	// Default 5 minutes.
	ClockSkew time.Duration
	// RequestRate and RequestBurst bound the requests one connection
	// makes (a token bucket per connection). Defaults: 10/s, burst 50.
	RequestRate  rate.Limit
	RequestBurst int
	// OwnerRequestRate and OwnerRequestBurst bound the fetches, acks and
	// status requests of an authenticated owner (a bucket per owner, not
	// per connection): an owner drains 10,000 envelopes in about 80
	// requests, past the connection's burst. Defaults: 100/s, burst 1,000.
	OwnerRequestRate  rate.Limit
	OwnerRequestBurst int
	// SweepEvery is how often expired mail is deleted. Default 1 hour.
	SweepEvery time.Duration
	// Now is the clock. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service serves /parley/mailbox/1.0.0: it holds mail for owners who
// registered with it.
type Service struct {
	cfg  Config
	self peer.ID
	log  *slog.Logger

	// life serves the streams and runs the sweeper; Close ends both.
	// budget counts the streams of non-owners: only handleStream's admit
	// and release touch it, under life's lock.
	life   *lifetime.Protocol
	budget inbound.Budget

	notifiee *network.NotifyBundle
	mu       sync.Mutex
	limiters map[network.Conn]*rate.Limiter // guarded by mu; an entry leaves when its connection closes
	// owners' buckets, guarded by mu; at most one per account (bounded by
	// MaxAccounts), dropped with a sweep.
	ownerLimiters map[OwnerID]*rate.Limiter

	counters counters // what it did since New (metrics.go)
}

// New builds the service; Start makes it serve.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Store == nil {
		return nil, errors.New("mailbox: Host and Store are required")
	}
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Quota.Count, 10_000)
	def(&cfg.Quota.Bytes, 100<<20)
	def(&cfg.MaxAccounts, 1000)
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&cfg.TTL, 30*24*time.Hour)
	defDur(&cfg.MaxValidity, 400*24*time.Hour)
	defDur(&cfg.ClockSkew, 5*time.Minute)
	defDur(&cfg.SweepEvery, time.Hour)
	if cfg.RequestRate <= 0 {
		cfg.RequestRate = 10
	}
	if cfg.OwnerRequestRate <= 0 {
		cfg.OwnerRequestRate = 100
	}
	if cfg.OwnerRequestBurst <= 0 {
		cfg.OwnerRequestBurst = 1000
	}
	if cfg.RequestBurst <= 0 {
		cfg.RequestBurst = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg:           cfg,
		self:          cfg.Host.ID(),
		log:           cfg.Logger.With("service", "mailbox"),
		life:          lifetime.New(cfg.Host, ID),
		budget:        inbound.Budget{Strangers: maxStrangerStreams, PerStranger: inbound.PerStranger},
		limiters:      make(map[network.Conn]*rate.Limiter),
		ownerLimiters: make(map[OwnerID]*rate.Limiter),
	}
	s.notifiee = &network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) {
		s.mu.Lock()
		delete(s.limiters, c)
		s.mu.Unlock()
	}}
	return s, nil
}

// maxStrangerStreams is how many streams non-owners (depositors) have
// served at once, all of them together.
const maxStrangerStreams = 64

// Start serves the protocol and starts the sweeper.
func (s *Service) Start() error {
	s.cfg.Host.Network().Notify(s.notifiee)
	s.life.Serve(s.handleStream)
	s.life.Go(s.sweepLoop)
	return nil
}

// Close stops serving, stops the sweeper and waits for every handler.
func (s *Service) Close() error {
	s.life.Close()
	s.cfg.Host.Network().StopNotify(s.notifiee)
	return nil
}

// Sweep deletes expired mail and accounts now, and returns how many
// envelopes it deleted. The sweeper calls it every Config.SweepEvery.
func (s *Service) Sweep() (int, error) {
	now := s.cfg.Now()
	n, err := s.cfg.Store.ExpireMail(now.Add(-s.cfg.TTL), now)
	s.mu.Lock()
	clear(s.ownerLimiters) // forgets owners whose accounts expired; a bucket starts full again
	s.mu.Unlock()
	s.counters.sweeps.Add(1)
	s.counters.swept.Add(uint64(n))
	return n, err
}

func (s *Service) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	// The first sweep waits a period too: expired mail is never served,
	// so it may wait, and Start stays quick.
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.Sweep(); err != nil {
			s.log.Warn("mailbox: sweeping expired mail", "err", err)
		} else if n > 0 {
			s.log.Info("mailbox: deleted expired mail", "envelopes", n)
		}
	}
}

// limiter is the request bucket of the stream's connection.
func (s *Service) limiter(c network.Conn) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[c]
	if l == nil {
		l = rate.NewLimiter(s.cfg.RequestRate, s.cfg.RequestBurst)
		if c.IsClosed() {
			return l // its Disconnected has run, or will find nothing: not kept
		}
		s.limiters[c] = l
	}
	return l
}

// ownerLimiter is the request bucket of an authenticated owner.
func (s *Service) ownerLimiter(o OwnerID) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.ownerLimiters[o]
	if l == nil {
		l = rate.NewLimiter(s.cfg.OwnerRequestRate, s.cfg.OwnerRequestBurst)
		s.ownerLimiters[o] = l
	}
	return l
}

// handleStream admits a stream: a registered owner's freely (the resource
// manager still limits it), anyone else's within the strangers' budget,
// so that depositors on throwaway identities never keep an owner out.
func (s *Service) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	owner := s.isOwner(remote)
	done, ok := s.life.Admit(st, func(int) bool {
		return owner || s.budget.Take(remote, false)
	}, func() {
		if !owner {
			s.budget.Release(remote, false)
		}
	})
	if !ok {
		return
	}
	defer done()
	t := strangerTimeouts
	if owner {
		t = ownerTimeouts
	}
	s.serve(st, t)
}

// isOwner reports whether p's own key is a registered owner's identity.
func (s *Service) isOwner(p peer.ID) bool {
	pub, err := p.ExtractPublicKey()
	if err != nil {
		return false
	}
	owner, err := OwnerOf(pub)
	if err != nil {
		return false
	}
	_, err = s.cfg.Store.MailboxAccountOf(owner, s.cfg.Now())
	return err == nil
}
