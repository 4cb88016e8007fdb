package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/node/mailbox/pb"
)

// RefusedError is a mailbox's refusal of a request.
type RefusedError struct {
	Code   pb.Code
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("mailbox refused (%s): %s", e.Code, e.Reason)
}

// Retry reports whether the same request may succeed later (full, rate
// limited, or the mailbox's disk full); other refusals are final.
func (e *RefusedError) Retry() bool {
	switch e.Code {
	case pb.Code_CODE_MAILBOX_FULL, pb.Code_CODE_RATE_LIMITED, pb.Code_CODE_TRY_LATER:
		return true
	}
	return false
}

// RefusalCode is the code of a mailbox's refusal in err's chain, and
// whether there is one.
func RefusalCode(err error) (pb.Code, bool) {
	var r *RefusedError
	if errors.As(err, &r) {
		return r.Code, true
	}
	return 0, false
}

// clientTimeout bounds one request and its answer when ctx sets no
// deadline.
const clientTimeout = 30 * time.Second

// Client speaks /parley/mailbox/1.0.0 to one mailbox over one stream. It is
// not safe for concurrent use.
type Client struct {
	mailbox peer.ID
	st      network.Stream
	r       *frame.Reader
	w       pbio.WriteCloser
}

// Dial connects h to the mailbox and opens a stream.
func Dial(ctx context.Context, h host.Host, mailbox peer.AddrInfo) (*Client, error) {
	if err := h.Connect(ctx, mailbox); err != nil {
		return nil, fmt.Errorf("mailbox: connecting to %s: %w", mailbox.ID, err)
	}
	st, err := h.NewStream(ctx, mailbox.ID, ID)
	if err != nil {
		return nil, fmt.Errorf("mailbox: opening a stream to %s: %w", mailbox.ID, err)
	}
	return &Client{mailbox: mailbox.ID, st: st, r: frame.NewReader(st, MaxResponseSize), w: pbio.NewDelimitedWriter(st)}, nil
}

// Close ends the stream.
func (c *Client) Close() error { return c.st.Close() }

// roundTrip sends one request and reads its answer; a refusal is a
// *RefusedError. A transport error resets the stream: the client is done.
func (c *Client) roundTrip(ctx context.Context, req *pb.Request) (*pb.Response, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(clientTimeout)
	}
	_ = c.st.SetDeadline(dl)
	if err := c.w.WriteMsg(req); err != nil {
		_ = c.st.Reset()
		return nil, fmt.Errorf("mailbox: sending to %s: %w", c.mailbox, err)
	}
	resp := new(pb.Response)
	if err := c.r.ReadMsg(resp); err != nil {
		_ = c.st.Reset()
		return nil, fmt.Errorf("mailbox: reading from %s: %w", c.mailbox, err)
	}
	if resp.Code != pb.Code_CODE_OK {
		return nil, &RefusedError{Code: resp.Code, Reason: resp.Reason}
	}
	return resp, nil
}

// Registration is what an owner asks of a mailbox.
type Registration struct {
	IssuedAt, ExpiresAt time.Time
	DepositKey          [DepositKeySize]byte
	Revoked             [][NonceSize]byte
}

// SignRegistration signs reg for the mailbox with the owner's identity key.
func SignRegistration(identityKey crypto.PrivKey, mailbox peer.ID, reg Registration) (*pb.Register, error) {
	pub, err := crypto.MarshalPublicKey(identityKey.GetPublic())
	if err != nil {
		return nil, fmt.Errorf("mailbox: marshal identity key: %w", err)
	}
	r := &pb.Registration{
		OwnerKey: pub, Mailbox: []byte(mailbox),
		IssuedAt: reg.IssuedAt.Unix(), ExpiresAt: reg.ExpiresAt.Unix(),
		DepositKey: reg.DepositKey[:],
	}
	for _, n := range reg.Revoked {
		r.RevokedNonces = append(r.RevokedNonces, n[:])
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("mailbox: encode registration: %w", err)
	}
	sig, err := identityKey.Sign(registrationMessage(b))
	if err != nil {
		return nil, fmt.Errorf("mailbox: sign registration: %w", err)
	}
	return &pb.Register{Registration: b, Signature: sig}, nil
}

// Register registers the owner with the mailbox (or renews it).
func (c *Client) Register(ctx context.Context, identityKey crypto.PrivKey, reg Registration) (Status, error) {
	r, err := SignRegistration(identityKey, c.mailbox, reg)
	if err != nil {
		return Status{}, err
	}
	return c.RegisterSigned(ctx, r)
}

// RegisterSigned sends a registration signed beforehand.
func (c *Client) RegisterSigned(ctx context.Context, r *pb.Register) (Status, error) {
	resp, err := c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Register{Register: r}})
	if err != nil {
		return Status{}, err
	}
	return statusFrom(resp.GetStatus()), nil
}

// Authenticate proves to the mailbox that this stream is the owner's:
// Fetch, Ack and Status act for that owner afterwards.
func (c *Client) Authenticate(ctx context.Context, identityKey crypto.PrivKey) error {
	resp, err := c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Challenge{Challenge: &pb.ChallengeRequest{}}})
	if err != nil {
		return err
	}
	nonce := resp.GetChallenge().GetNonce()
	if len(nonce) != challengeSize {
		_ = c.st.Reset()
		return fmt.Errorf("mailbox: %w: a challenge of %d bytes", parley.ErrMalformed, len(nonce))
	}
	sig, err := identityKey.Sign(authMessage(c.mailbox, nonce))
	if err != nil {
		return fmt.Errorf("mailbox: sign challenge: %w", err)
	}
	pub, err := crypto.MarshalPublicKey(identityKey.GetPublic())
	if err != nil {
		return fmt.Errorf("mailbox: marshal identity key: %w", err)
	}
	_, err = c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Authenticate{Authenticate: &pb.Authenticate{OwnerKey: pub, Signature: sig}}})
	return err
}

// Deposit leaves an envelope for owner. It returns once the mailbox holds
// it durably (or held it already).
func (c *Client) Deposit(ctx context.Context, owner OwnerID, cap *Capability, envelope []byte) error {
	d := &pb.Deposit{Owner: owner[:], Envelope: envelope}
	if cap != nil {
		d.Capability = &pb.Capability{Nonce: cap.Nonce[:], Token: cap.Token[:]}
	}
	_, err := c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Deposit{Deposit: d}})
	return err
}

// Mail is one envelope fetched from a mailbox.
type Mail struct {
	ID       parley.EnvelopeID
	Envelope []byte
	StoredAt time.Time
}

// Page is a page of mail: Next is the cursor of the page after it.
type Page struct {
	Mail []Mail
	Next []byte
	More bool
}

// Fetch returns the owner's mail after cursor (nil: from the oldest), at
// most limit envelopes (0: the mailbox's most).
func (c *Client) Fetch(ctx context.Context, cursor []byte, limit int) (Page, error) {
	resp, err := c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Fetch{Fetch: &pb.Fetch{Cursor: cursor, Limit: uint32(max(limit, 0))}}})
	if err != nil {
		return Page{}, err
	}
	mp := resp.GetMail()
	if mp == nil || len(mp.Mail) > MaxPage {
		_ = c.st.Reset()
		return Page{}, fmt.Errorf("mailbox: %w: a fetch answered without a page of at most %d", parley.ErrMalformed, MaxPage)
	}
	p := Page{Next: mp.NextCursor, More: mp.More, Mail: make([]Mail, len(mp.Mail))}
	for i, m := range mp.Mail {
		p.Mail[i] = Mail{ID: parley.NewEnvelopeID(m.Envelope), Envelope: m.Envelope, StoredAt: time.Unix(m.StoredAt, 0).UTC()}
	}
	return p, nil
}

// Ack deletes the owner's mail with these IDs (at most MaxAck) and
// returns how many the mailbox held.
func (c *Client) Ack(ctx context.Context, ids []parley.EnvelopeID) (int, error) {
	raw := make([][]byte, len(ids))
	for i := range ids {
		raw[i] = ids[i][:]
	}
	resp, err := c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Ack{Ack: &pb.Ack{EnvelopeIds: raw}}})
	if err != nil {
		return 0, err
	}
	return int(resp.GetAck().GetDeleted()), nil
}

// Status is what the mailbox holds for the owner, and its limits.
type Status struct {
	Count, Bytes       int64
	MaxCount, MaxBytes int64
	TTL                time.Duration
	ExpiresAt          time.Time
}

func statusFrom(s *pb.Status) Status {
	return Status{
		Count: s.GetCount(), Bytes: s.GetBytes(), MaxCount: s.GetMaxCount(), MaxBytes: s.GetMaxBytes(),
		TTL: time.Duration(s.GetTtlSeconds()) * time.Second, ExpiresAt: time.Unix(s.GetExpiresAt(), 0).UTC(),
	}
}

// Status returns the owner's status at the mailbox.
func (c *Client) Status(ctx context.Context) (Status, error) {
	resp, err := c.roundTrip(ctx, &pb.Request{Kind: &pb.Request_Status{Status: &pb.StatusRequest{}}})
	if err != nil {
		return Status{}, err
	}
	return statusFrom(resp.GetStatus()), nil
}

// DepositOnce deposits one envelope from a one-time libp2p identity: a
// host made for this deposit, with a fresh key and no listening address,
// closed afterwards, so that the mailbox cannot tell who deposited, nor
// link two deposits by their connection. opts are added to the host's
// (transports, resource manager); the defaults dial TCP and QUIC.
func DepositOnce(ctx context.Context, mailbox peer.AddrInfo, owner OwnerID, cap *Capability, envelope []byte, opts ...libp2p.Option) error {
	return DepositManyOnce(ctx, mailbox, owner, cap, 1, func(int) ([]byte, error) { return envelope, nil }, opts...)
}

// DepositManyOnce deposits n items, item(i) each in order, over one stream
// from one one-time identity (as DepositOnce), and stops at the first
// error. The items of one batch are linkable by their connection, so use
// it for items the mailbox may link anyway: the chunks of one file, which
// travel with one capability at one time.
func DepositManyOnce(ctx context.Context, mailbox peer.AddrInfo, owner OwnerID, cap *Capability, n int, item func(i int) ([]byte, error), opts ...libp2p.Option) error {
	h, err := libp2p.New(append([]libp2p.Option{libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay()}, opts...)...)
	if err != nil {
		return fmt.Errorf("mailbox: one-time host: %w", err)
	}
	defer h.Close()
	c, err := Dial(ctx, h, mailbox)
	if err != nil {
		return err
	}
	defer c.Close()
	for i := range n {
		b, err := item(i)
		if err != nil {
			return err
		}
		if err := c.Deposit(ctx, owner, cap, b); err != nil {
			return err
		}
	}
	return nil
}
