package mailbox

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/node/mailbox/pb"
	"github.com/parley-im/parley/storage"
)

// session is what one stream has established.
type session struct {
	// nonce is the challenge handed out and not yet answered; nil once
	// used, so that each answers one Authenticate.
	nonce []byte
	// owner is who authenticated on this stream; nil before.
	owner *OwnerID
}

// serve answers requests on one stream until EOF. A frame that is too
// large or does not decode resets the stream; a request that decodes but
// is wrong gets a refusal and the stream goes on.
func (s *Service) serve(st network.Stream, t inbound.Timeouts) {
	r := frame.NewReader(st, MaxRequestSize).WithLimits(st, frame.Limits{Idle: t.Idle, Frame: t.Frame, End: t.End(time.Now())})
	w := pbio.NewDelimitedWriter(st)
	lim := s.limiter(st.Conn())
	var sess session
	for {
		req := new(pb.Request)
		if err := r.ReadMsg(req); err != nil {
			if errors.Is(err, io.EOF) {
				_ = st.Close()
			} else {
				s.log.Debug("mailbox: bad or stalled frame, resetting stream", "err", err)
				_ = st.Reset()
			}
			return
		}
		var resp *pb.Response
		if !lim.Allow() {
			resp = refuse(pb.Code_CODE_RATE_LIMITED, "too many requests on this connection: retry later")
		} else {
			resp = s.handle(&sess, req)
		}
		s.counters.answered(opOf(req), resp.Code)
		_ = st.SetWriteDeadline(time.Now().Add(ioTimeout))
		if err := w.WriteMsg(resp); err != nil {
			_ = st.Reset()
			return
		}
	}
}

// handle answers one request. No request records who sent it: the stream's
// remote peer is never passed below this point.
func (s *Service) handle(sess *session, req *pb.Request) *pb.Response {
	switch k := req.Kind.(type) {
	case *pb.Request_Register:
		return s.register(k.Register)
	case *pb.Request_Deposit:
		return s.deposit(k.Deposit)
	case *pb.Request_Challenge:
		sess.nonce = make([]byte, challengeSize)
		rand.Read(sess.nonce) // never fails
		return &pb.Response{Kind: &pb.Response_Challenge{Challenge: &pb.Challenge{Nonce: sess.nonce}}}
	case *pb.Request_Authenticate:
		return s.authenticate(sess, k.Authenticate)
	case *pb.Request_Fetch:
		if sess.owner == nil {
			return unauthenticated()
		}
		return s.fetch(*sess.owner, k.Fetch)
	case *pb.Request_Ack:
		if sess.owner == nil {
			return unauthenticated()
		}
		return s.ack(*sess.owner, k.Ack)
	case *pb.Request_Status:
		if sess.owner == nil {
			return unauthenticated()
		}
		return s.status(*sess.owner)
	default:
		return refuse(pb.Code_CODE_MALFORMED, "unknown request")
	}
}

func refuse(code pb.Code, reason string) *pb.Response {
	return &pb.Response{Code: code, Reason: reason}
}

func unauthenticated() *pb.Response {
	return refuse(pb.Code_CODE_UNAUTHENTICATED, "authenticate as the owner first")
}

// storeRefusal turns a store error into a refusal. Errors of our own are
// logged and answered "try later", without their text.
func (s *Service) storeRefusal(op string, err error) *pb.Response {
	switch {
	case errors.Is(err, storage.ErrNotRegistered):
		return refuse(pb.Code_CODE_NOT_REGISTERED, "the owner is not registered at this mailbox")
	case errors.Is(err, errBadCapability):
		return refuse(pb.Code_CODE_BAD_CAPABILITY, errBadCapability.Error())
	case errors.Is(err, storage.ErrMailboxFull):
		return refuse(pb.Code_CODE_MAILBOX_FULL, "mailbox full")
	case errors.Is(err, storage.ErrStaleRegistration):
		return refuse(pb.Code_CODE_BAD_REGISTRATION, storage.ErrStaleRegistration.Error())
	case errors.Is(err, storage.ErrTooManyAccounts):
		return refuse(pb.Code_CODE_REFUSED, storage.ErrTooManyAccounts.Error())
	case errors.Is(err, parley.ErrNoSpace):
		return refuse(pb.Code_CODE_TRY_LATER, "the mailbox's disk is full: retry later")
	}
	s.log.Warn("mailbox: "+op, "err", err)
	return refuse(pb.Code_CODE_TRY_LATER, "the mailbox cannot store now: retry later")
}

// errBadCapability: a deposit without a capability the owner issued.
var errBadCapability = errors.New("no valid deposit capability from the owner")

// deposit stores an envelope for its owner, synced before the answer.
func (s *Service) deposit(d *pb.Deposit) *pb.Response {
	if len(d.Owner) != len(OwnerID{}) || len(d.Envelope) == 0 {
		return refuse(pb.Code_CODE_MALFORMED, "a deposit needs a 32-byte owner and an envelope")
	}
	if len(d.Envelope) > MaxEnvelopeSize {
		return refuse(pb.Code_CODE_TOO_LARGE, fmt.Sprintf("envelope of %d bytes, over the %d-byte limit", len(d.Envelope), MaxEnvelopeSize))
	}
	c := d.Capability
	if c == nil || len(c.Nonce) != NonceSize || len(c.Token) != TokenSize {
		return refuse(pb.Code_CODE_BAD_CAPABILITY, errBadCapability.Error())
	}
	capability := Capability{Nonce: [NonceSize]byte(c.Nonce), Token: [TokenSize]byte(c.Token)}
	stored, err := s.cfg.Store.DepositMail(OwnerID(d.Owner), d.Envelope, s.cfg.Now(), s.cfg.Quota, func(a storage.MailboxAccount) error {
		if !capability.valid(a) {
			return errBadCapability
		}
		return nil
	})
	if err != nil {
		return s.storeRefusal("storing a deposit", err)
	}
	if !stored {
		s.counters.duplicates.Add(1)
	}
	return &pb.Response{}
}

// register checks a signed registration and stores it.
func (s *Service) register(r *pb.Register) *pb.Response {
	if len(r.DeviceCert) > 0 {
		return refuse(pb.Code_CODE_UNSUPPORTED, "device certificates are not supported yet")
	}
	reg := new(pb.Registration)
	if err := proto.Unmarshal(r.Registration, reg); err != nil {
		return refuse(pb.Code_CODE_MALFORMED, "registration does not decode")
	}
	pub, owner, err := ownerKey(reg.OwnerKey)
	if err != nil {
		return refuse(pb.Code_CODE_MALFORMED, err.Error())
	}
	if ok, err := pub.Verify(registrationMessage(r.Registration), r.Signature); err != nil || !ok {
		return refuse(pb.Code_CODE_BAD_SIGNATURE, "the registration's signature does not verify")
	}
	now := s.cfg.Now()
	issued, expires := time.Unix(reg.IssuedAt, 0).UTC(), time.Unix(reg.ExpiresAt, 0).UTC()
	switch {
	case string(reg.Mailbox) != string(s.self):
		return refuse(pb.Code_CODE_BAD_REGISTRATION, "the registration is for another mailbox")
	case issued.After(now.Add(s.cfg.ClockSkew)):
		return refuse(pb.Code_CODE_BAD_REGISTRATION, "the registration is issued in the future")
	case !expires.After(now):
		return refuse(pb.Code_CODE_BAD_REGISTRATION, "the registration has expired")
	case expires.Sub(issued) > s.cfg.MaxValidity:
		return refuse(pb.Code_CODE_BAD_REGISTRATION, fmt.Sprintf("the registration runs longer than %s", s.cfg.MaxValidity))
	case len(reg.DepositKey) != DepositKeySize:
		return refuse(pb.Code_CODE_MALFORMED, "the deposit key must be 32 bytes")
	case len(reg.RevokedNonces) > MaxRevoked:
		return refuse(pb.Code_CODE_MALFORMED, fmt.Sprintf("more than %d revoked nonces", MaxRevoked))
	}
	a := storage.MailboxAccount{
		Owner: owner, OwnerKey: reg.OwnerKey, IssuedAt: issued, ExpiresAt: expires,
		DepositKey: [DepositKeySize]byte(reg.DepositKey),
	}
	for _, n := range reg.RevokedNonces {
		if len(n) != NonceSize {
			return refuse(pb.Code_CODE_MALFORMED, "a revoked nonce must be 16 bytes")
		}
		a.Revoked = append(a.Revoked, [NonceSize]byte(n))
	}
	if s.cfg.Admit != nil && !s.cfg.Admit(pub) {
		return refuse(pb.Code_CODE_REFUSED, "this mailbox does not take this owner")
	}
	a, err = s.cfg.Store.RegisterMailbox(a, s.cfg.MaxAccounts)
	if err != nil {
		return s.storeRefusal("storing a registration", err)
	}
	return &pb.Response{Kind: &pb.Response_Status{Status: s.statusOf(a)}}
}

// authenticate checks the owner's answer to this stream's challenge.
func (s *Service) authenticate(sess *session, a *pb.Authenticate) *pb.Response {
	nonce := sess.nonce
	sess.nonce = nil
	switch {
	case len(a.DeviceCert) > 0:
		return refuse(pb.Code_CODE_UNSUPPORTED, "device certificates are not supported yet")
	case nonce == nil:
		return refuse(pb.Code_CODE_UNAUTHENTICATED, "ask for a challenge first")
	}
	pub, owner, err := ownerKey(a.OwnerKey)
	if err != nil {
		return refuse(pb.Code_CODE_MALFORMED, err.Error())
	}
	if ok, err := pub.Verify(authMessage(s.self, nonce), a.Signature); err != nil || !ok {
		return refuse(pb.Code_CODE_BAD_SIGNATURE, "the answer to the challenge does not verify")
	}
	if _, err := s.cfg.Store.MailboxAccountOf(owner, s.cfg.Now()); err != nil {
		return s.storeRefusal("reading an account", err)
	}
	sess.owner = &owner
	return &pb.Response{}
}

// fetch returns a page of the owner's mail after the cursor.
func (s *Service) fetch(owner OwnerID, f *pb.Fetch) *pb.Response {
	var after *uint64
	switch len(f.Cursor) {
	case 0:
	case 8:
		seq := binary.BigEndian.Uint64(f.Cursor)
		after = &seq
	default:
		return refuse(pb.Code_CODE_MALFORMED, "a cursor is empty or 8 bytes")
	}
	limit := int(f.Limit)
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	now := s.cfg.Now()
	page, more, err := s.cfg.Store.MailPage(owner, after, limit, maxPageBytes, now.Add(-s.cfg.TTL))
	if err != nil {
		return s.storeRefusal("reading mail", err)
	}
	out := &pb.MailPage{Mail: make([]*pb.Mail, len(page)), More: more, NextCursor: f.Cursor}
	for i, m := range page {
		out.Mail[i] = &pb.Mail{Envelope: m.Envelope, StoredAt: m.StoredAt.Unix()}
	}
	s.counters.fetched.Add(uint64(len(page)))
	if len(page) > 0 {
		out.NextCursor = binary.BigEndian.AppendUint64(nil, page[len(page)-1].Seq)
	}
	return &pb.Response{Kind: &pb.Response_Mail{Mail: out}}
}

// ack deletes the owner's mail it names.
func (s *Service) ack(owner OwnerID, a *pb.Ack) *pb.Response {
	if len(a.EnvelopeIds) > MaxAck {
		return refuse(pb.Code_CODE_MALFORMED, fmt.Sprintf("more than %d IDs in one ack", MaxAck))
	}
	ids := make([]parley.EnvelopeID, len(a.EnvelopeIds))
	for i, raw := range a.EnvelopeIds {
		id, err := parley.EnvelopeIDFromBytes(raw)
		if err != nil {
			return refuse(pb.Code_CODE_MALFORMED, "an envelope ID is 32 bytes")
		}
		ids[i] = id
	}
	n, err := s.cfg.Store.AckMail(owner, ids, s.cfg.TTL)
	if err != nil {
		return s.storeRefusal("deleting acked mail", err)
	}
	s.counters.acked.Add(uint64(n))
	return &pb.Response{Kind: &pb.Response_Ack{Ack: &pb.AckResult{Deleted: uint32(n)}}}
}

func (s *Service) status(owner OwnerID) *pb.Response {
	a, err := s.cfg.Store.MailboxAccountOf(owner, s.cfg.Now())
	if err != nil {
		return s.storeRefusal("reading an account", err)
	}
	return &pb.Response{Kind: &pb.Response_Status{Status: s.statusOf(a)}}
}

func (s *Service) statusOf(a storage.MailboxAccount) *pb.Status {
	return &pb.Status{
		Count: a.Count, Bytes: a.Bytes, MaxCount: s.cfg.Quota.Count, MaxBytes: s.cfg.Quota.Bytes,
		TtlSeconds: int64(s.cfg.TTL / time.Second), ExpiresAt: a.ExpiresAt.Unix(),
	}
}
