// Package invite serves /parley/card/1.0.0 (PROTOCOL.md §3.1): a node
// answers its signed contact card to whoever presents its invite secret,
// the secret its short invite codes carry, and Fetch asks a node for its
// card the same way. The card is public to anyone the user gave a code to;
// the secret keeps it from people who know only the peer ID (a crawler of
// the DHT), and making a new one stops old codes from working.
package invite

import (
	"context"
	"crypto/subtle"
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
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/lifetime"
	"github.com/parley-im/parley/node/invite/pb"
)

// ID is the card protocol.
const ID protocol.ID = "/parley/card/1.0.0"

// Wire limits (PROTOCOL.md §3.1).
const (
	// MaxRequestSize bounds the request frame: a 16-byte secret and its
	// field header, with room to spare.
	MaxRequestSize = 64
	// MaxResponseSize bounds the answer: a signed card and its field
	// headers.
	MaxResponseSize = identity.MaxCardSize + 16
	// maxStreams is how many requests are served at once, from everyone
	// together (all are strangers here); inbound.PerStranger from one peer.
	maxStreams = 16
	// ioTimeout bounds writing the answer, and a fetch with no deadline.
	ioTimeout = 10 * time.Second
)

// defaultTimeouts bound an inbound stream: the one request is small.
var defaultTimeouts = inbound.Timeouts{Idle: 10 * time.Second, Frame: 10 * time.Second, Stream: 30 * time.Second}

// Config wires a Service. Host, Secret and Card are required.
type Config struct {
	Host host.Host
	// Secret is the current invite secret (identity.InviteSecretSize
	// bytes); requests with another are refused.
	Secret func() []byte
	// Card is our signed card as of now; nil refuses (as a wrong secret
	// would not: the stream is reset, and the fetcher may try again).
	Card func() []byte
	// Timeouts bound an inbound stream; zero fields take 10 s to start
	// and finish the request, 30 s in all.
	Timeouts inbound.Timeouts
	Logger   *slog.Logger
}

// Service answers /parley/card/1.0.0.
type Service struct {
	cfg  Config
	log  *slog.Logger
	life *lifetime.Protocol

	budget inbound.Budget // guarded by life's lock (Admit's admit and release)
}

// New builds the service; Start makes it serve.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Secret == nil || cfg.Card == nil {
		return nil, errors.New("invite: Host, Secret and Card are required")
	}
	if cfg.Timeouts.Idle <= 0 {
		cfg.Timeouts.Idle = defaultTimeouts.Idle
	}
	if cfg.Timeouts.Frame <= 0 {
		cfg.Timeouts.Frame = defaultTimeouts.Frame
	}
	if cfg.Timeouts.Stream <= 0 {
		cfg.Timeouts.Stream = defaultTimeouts.Stream
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{
		cfg:    cfg,
		log:    cfg.Logger.With("service", "invite"),
		life:   lifetime.New(cfg.Host, ID),
		budget: inbound.Budget{Strangers: maxStreams, PerStranger: inbound.PerStranger},
	}, nil
}

// Start serves the protocol.
func (s *Service) Start() { s.life.Serve(s.handleStream) }

// Close stops serving and waits for the handlers.
func (s *Service) Close() error {
	s.life.Close()
	return nil
}

// handleStream answers one request within the shared budget: whoever
// asks is a stranger until they hold our card.
func (s *Service) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	done, ok := s.life.Admit(st, func(int) bool { return s.budget.Take(remote, false) },
		func() { s.budget.Release(remote, false) })
	if !ok {
		return
	}
	defer done()
	t := s.cfg.Timeouts
	r := frame.NewReader(st, MaxRequestSize).WithLimits(st, frame.Limits{Idle: t.Idle, Frame: t.Frame, End: t.End(time.Now())})
	req, err := r.ReadFrame()
	var resp *pb.CardResponse
	if err == nil {
		resp, err = s.answer(req)
	}
	if err != nil {
		s.log.Debug("invite: bad or stalled request, resetting", "peer", remote, "err", err)
		_ = st.Reset()
		return
	}
	if resp.Code != pb.CardResponse_CODE_OK {
		s.log.Info("invite: refused a card request with a wrong or old invite secret", "peer", remote)
	}
	_ = st.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := pbio.NewDelimitedWriter(st).WriteMsg(resp); err != nil {
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

// answer is the response to a request frame; an error (the frame does not
// decode, or we have no card to give) resets the stream.
func (s *Service) answer(frame []byte) (*pb.CardResponse, error) {
	var req pb.CardRequest
	if err := proto.Unmarshal(frame, &req); err != nil {
		return nil, fmt.Errorf("request does not decode: %w", err)
	}
	secret := s.cfg.Secret()
	if len(secret) != identity.InviteSecretSize || subtle.ConstantTimeCompare(secret, req.Secret) != 1 {
		return &pb.CardResponse{Code: pb.CardResponse_CODE_WRONG_SECRET}, nil
	}
	card := s.cfg.Card()
	if card == nil {
		return nil, errors.New("our card could not be signed")
	}
	return &pb.CardResponse{Code: pb.CardResponse_CODE_OK, SignedCard: card}, nil
}

// ErrWrongSecret: the owner refused the secret: the code is mistyped, or
// the owner has made a new invite since, which stops old short codes.
var ErrWrongSecret = errors.New("the inviter refused this code: it was mistyped, or they have made a new invite code since")

// Fetch asks p, which h must be able to reach (connected, or addresses in
// its peerstore), for its signed card with the secret of its short invite
// code. The card is returned unchecked: identity.CheckFetchedCard checks it
// against the code. A refusal is ErrWrongSecret.
func Fetch(ctx context.Context, h host.Host, p peer.ID, secret []byte) ([]byte, error) {
	st, err := h.NewStream(ctx, p, ID)
	if err != nil {
		return nil, fmt.Errorf("invite: opening a card stream to %s: %w", p, err)
	}
	defer st.Close()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(ioTimeout)
	}
	_ = st.SetDeadline(dl)
	if err := pbio.NewDelimitedWriter(st).WriteMsg(&pb.CardRequest{Secret: secret}); err != nil {
		_ = st.Reset()
		return nil, fmt.Errorf("invite: sending to %s: %w", p, err)
	}
	_ = st.CloseWrite()
	b, err := frame.NewReader(st, MaxResponseSize).ReadFrame()
	if err != nil {
		_ = st.Reset()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("invite: reading %s's answer: %w", p, err)
	}
	card, err := decodeResponse(b)
	if err != nil {
		return nil, fmt.Errorf("invite: %s: %w", p, err)
	}
	return card, nil
}

// decodeResponse is the card an answer holds, ErrWrongSecret, or an error
// saying what is wrong with it.
func decodeResponse(b []byte) ([]byte, error) {
	var resp pb.CardResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("answer does not decode: %w", err)
	}
	switch resp.Code {
	case pb.CardResponse_CODE_OK:
		if len(resp.SignedCard) == 0 {
			return nil, errors.New("answer holds no card")
		}
		return resp.SignedCard, nil
	case pb.CardResponse_CODE_WRONG_SECRET:
		return nil, ErrWrongSecret
	}
	return nil, fmt.Errorf("unknown answer code %d", resp.Code)
}
