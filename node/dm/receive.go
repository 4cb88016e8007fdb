package dm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/parallel"
	"github.com/parley-im/parley/node/dm/pb"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// errUnknownKey: an envelope without encapsulation under a key we do not
// hold. The sender is told so that it starts a new key.
var errUnknownKey = errors.New("unknown sending key")

// Inbound streams. A contact's stream may wait longer for its next frame
// than a courier keeps its own stream open (streamIdle), so it is the
// sender that hangs up; a frame, once begun, must arrive within
// contactTimeouts.Frame (a full push on a slow link fits), and the stream
// ends after contactTimeouts.Stream in all (the courier opens another).
// Strangers get less time (Config.StrangerTimeouts) and a small share of
// streams of their own, two each (inbound.PerStranger), so that throwaway
// identities stalling streams keep out only each other, never a contact.
var contactTimeouts = inbound.Timeouts{Idle: 45 * time.Second, Frame: 45 * time.Second, Stream: 30 * time.Minute}

// DefaultStrangerTimeouts: 10 s to start a frame and 10 s to finish it,
// a minute in all.
var DefaultStrangerTimeouts = inbound.Timeouts{Idle: 10 * time.Second, Frame: 10 * time.Second, Stream: time.Minute}

const maxStrangerStreams = 16

// serve reads Push frames from one stream until EOF. Anything that breaks
// the protocol (oversized frame, undecodable frame, too many envelopes)
// resets the stream; a bad envelope inside a good frame is only rejected.
func (s *Service) serve(st network.Stream, t inbound.Timeouts) {
	remote := st.Conn().RemotePeer()
	r := frame.NewReader(st, MaxFrameSize).WithLimits(st, frame.Limits{Idle: t.Idle, Frame: t.Frame, End: t.End(time.Now())})
	w := pbio.NewDelimitedWriter(st)
	for {
		push, err := readPush(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = st.Close()
			} else {
				s.log.Debug("dm: bad or stalled frame, resetting stream", "peer", remote, "err", err)
				_ = st.Reset()
			}
			return
		}
		ack, _, announce, err := s.receiveThenAnnounce(remote, push.Envelopes)
		if err != nil {
			// Nothing durable happened: no ack, the sender retries later.
			s.log.Warn("dm: storing received envelopes", "peer", remote, "err", err)
			_ = st.Reset()
			return
		}
		// The ack first: the sender waits for it, and what the node does
		// with a new message (events, receipt times, typing) need not
		// hold it up; the messages are on disk either way.
		_ = st.SetWriteDeadline(time.Now().Add(ioTimeout))
		err = w.WriteMsg(ack)
		announce()
		if err != nil {
			_ = st.Reset()
			return
		}
	}
}

// readPush reads one Push frame; io.EOF means the sender is done.
func readPush(r *frame.Reader) (*pb.Push, error) {
	push := new(pb.Push)
	if err := r.ReadMsg(push); err != nil {
		return nil, err
	}
	if n := len(push.Envelopes); n == 0 || n > MaxBatch {
		return nil, fmt.Errorf("%w: push of %d envelopes, want 1 to %d", parley.ErrMalformed, n, MaxBatch)
	}
	return push, nil
}

// received is one envelope that opened cleanly.
type received struct {
	msg       parley.Message
	receipt   *ppb.Receipt
	groupKeys *ppb.GroupKeys
	fileOffer *ppb.FileOffer
	grant     *ppb.MailboxGrant
	cancel    string // a FileCancel's file ID, hex
	// card is a CardUpdate's card, checked: signed by and for the sender.
	card *identity.Card
}

// errOverQuota: an envelope from a stranger (a peer who is not an accepted
// contact) that would take what strangers make us store past
// Config.StrangerQuota. It is refused for good: the sender marks it failed.
var errOverQuota = errors.New("refused: the recipient holds as much as it keeps from people it has not accepted")

// receive checks, stores and answers one Push. kinds[i] is what envs[i]
// held, where it was stored (now or before); empty for one dropped (from
// a blocked peer) or refused.
func (s *Service) receive(remote peer.ID, envs [][]byte) (*pb.Ack, []parley.Kind, error) {
	ack, kinds, announce, err := s.receiveThenAnnounce(remote, envs)
	if err == nil {
		announce()
	}
	return ack, kinds, err
}

// receiveThenAnnounce is receive, but leaves announcing the new messages
// (Config.Notify) to the caller: announce, to be called once, after the
// ack is on its way.
func (s *Service) receiveThenAnnounce(remote peer.ID, envs [][]byte) (ack *pb.Ack, kinds []parley.Kind, announce func(), err error) {
	var stored []parley.Event
	notify := func() {
		for _, e := range stored {
			s.cfg.Notify(e)
		}
	}
	defer func() {
		if err != nil {
			notify() // what was stored before the failure is there all the same
		}
	}()
	ack = &pb.Ack{Results: make([]*pb.Result, len(envs))}
	kinds = make([]parley.Kind, len(envs))
	var (
		records []storage.Record
		got     []received
		cards   [][]byte
		at      []int // at[j]: the index in envs of records[j]
	)
	blocked := s.cfg.Blocked(remote)
	opened := s.openAll(remote, envs)
	for _, o := range opened {
		var local *localError
		if errors.As(o.err, &local) {
			return nil, nil, nil, local // our store failed, not the envelope: no answer, the sender retries
		}
	}
	for i, raw := range envs {
		id := parley.NewEnvelopeID(raw)
		ack.Results[i] = &pb.Result{EnvelopeId: id[:]}
		o := &opened[i]
		if o.err != nil {
			s.refuse(remote, ack.Results[i], o.err)
			continue
		}
		if blocked && o.rcv.msg.Kind != parley.KindGroupKeys {
			// Dropped unread, and answered as stored, so that the sender
			// sees nothing but a message not read (node/block.go). Its
			// key is remembered here only: the next one under it costs
			// no decapsulation.
			if o.fresh {
				s.keys.put(string(remote)+string(o.key.ID[:]), o.key)
			}
			continue
		}
		if o.rcv.msg.Kind == parley.KindMailboxOffer && !s.isContact(remote) {
			s.refuse(remote, ack.Results[i], errOfferFromStranger)
			continue
		}
		o.rcv.msg.ID = id
		if err := s.cfg.Judge(o.rcv.msg); err != nil {
			s.refuse(remote, ack.Results[i], err)
			continue
		}
		rec := storage.Record{Message: o.rcv.msg, Envelope: raw}
		if k := rec.Message.Kind; k == parley.KindText || k == parley.KindFile {
			// When we got it, for Message info: noted in the record's
			// own write, so the ack waits for one sync.
			rec.ReceivedBy = s.selfName
		}
		if o.fresh {
			// Kept with the record, and only if the record is.
			rec.SenderKey = &storage.PeerKey{ID: o.key.ID[:], Key: o.key.Key[:]}
		}
		records = append(records, rec)
		got = append(got, o.rcv)
		cards = append(cards, o.card)
		at = append(at, i)
	}
	if len(records) == 0 {
		return ack, kinds, notify, nil
	}
	added, refused, err := s.store(remote, records)
	if err != nil {
		return nil, nil, nil, err
	}
	var (
		card []byte
		kept []received
	)
	for j, rec := range records {
		if refused[j] {
			s.refuse(remote, ack.Results[at[j]], errOverQuota)
			continue
		}
		kinds[at[j]] = rec.Message.Kind
		if k := rec.SenderKey; k != nil {
			s.keys.put(string(remote)+string(k.ID), opened[at[j]].key)
		}
		if cards[j] != nil {
			card = cards[j]
		}
		kept = append(kept, got[j])
	}
	// After the records: a stranger whose every message was refused leaves
	// no request behind. A crash in between loses nothing: the push is not
	// acked, and its retry finds the records stored and comes here again.
	if err := s.rememberSender(remote, card, kept); err != nil {
		return nil, nil, nil, err
	}
	for i, rcv := range got {
		if refused[i] {
			continue
		}
		if rcv.receipt != nil {
			// Applied even when the receipt was stored before: a crash
			// between storing and applying must not lose the status.
			if err := s.applyReceipt(remote, rcv.receipt); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if rcv.grant != nil {
			// Applied even when stored before, for the same reason; the
			// newest grant (by HLC) wins, so applying again is harmless.
			if err := s.applyGrant(remote, rcv.msg.HLC, rcv.grant); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if rcv.groupKeys != nil {
			// Handed over even when stored before, for the same reason.
			if err := s.cfg.OnGroupKeys(remote, rcv.groupKeys); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if rcv.cancel != "" {
			if err := s.cfg.OnFileCancel(rcv.msg.Conversation, remote, rcv.cancel); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if rcv.card != nil {
			// Applied even when stored before, for the same reason; the
			// HLC check makes a second time a no-op.
			if err := s.cfg.OnCardUpdate(remote, rcv.msg.HLC, *rcv.card); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if rcv.fileOffer != nil {
			if err := s.cfg.OnFileOffer(rcv.msg.Conversation, rcv.msg.ID, remote, rcv.fileOffer); err != nil {
				return nil, nil, nil, err
			}
		}
		if added[i] {
			m := rcv.msg
			stored = append(stored, parley.Event{Type: parley.EventMessage, Message: &m})
		}
	}
	return ack, kinds, notify, nil
}

// errOfferFromStranger: only an accepted contact may offer to hold our
// mail; a stranger's offer is refused for good.
var errOfferFromStranger = errors.New("refused: only contacts may offer to hold mail")

// isContact reports whether remote is an accepted contact.
func (s *Service) isContact(remote peer.ID) bool {
	c, err := s.cfg.Store.Contact(remote.String())
	return err == nil && c.State == parley.ContactAccepted
}

// parseMailboxOffer checks an offer from sender (its fields were checked
// when it opened): the mailbox must be the sender's own node. It returns
// the addresses as strings.
func parseMailboxOffer(sender peer.ID, o *ppb.MailboxOffer) ([]string, error) {
	if string(o.GetPeerId()) != string(sender) {
		return nil, fmt.Errorf("%w: a mailbox offer for another node than its sender's", parley.ErrMalformed)
	}
	addrs, err := identity.CheckMailboxOffer(o)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out, nil
}

// refuse answers for an envelope that will never be accepted.
func (s *Service) refuse(remote peer.ID, r *pb.Result, why error) {
	s.log.Debug("dm: refused envelope", "peer", remote, "id", hex.EncodeToString(r.EnvelopeId), "err", why)
	r.Code = pb.Result_CODE_REJECTED
	if errors.Is(why, errUnknownKey) {
		r.Code = pb.Result_CODE_UNKNOWN_KEY
	}
	r.Reason = why.Error()
}

// store stores what remote sent: a contact's freely, a stranger's within
// Config.StrangerQuota (refused[j] for those past it).
func (s *Service) store(remote peer.ID, records []storage.Record) (added, refused []bool, err error) {
	if c, err := s.cfg.Store.Contact(remote.String()); err == nil && c.State == parley.ContactAccepted {
		added, err := s.cfg.Store.PutRecords(records)
		return added, make([]bool, len(records)), err
	}
	return s.cfg.Store.PutStrangerRecords(remote.String(), records, s.cfg.StrangerQuota)
}

// opening is one envelope on its way through openAll.
type opening struct {
	env   *ppb.Envelope
	key   *identity.SendKey
	fresh bool // key came from this envelope's encapsulation, not yet kept
	rcv   received
	card  []byte
	err   error
}

// openAll opens a push's envelopes. Keys are looked up in order (a new key
// is established once, by the first envelope that carries it); decryption
// and signature checks, the expensive part, run on every core.
func (s *Service) openAll(remote peer.ID, envs [][]byte) []opening {
	out := make([]opening, len(envs))
	fresh := make(map[string]*identity.SendKey) // keys established in this push
	// Once per push, not per envelope: a peer ID's text is a base58
	// encoding, the conversation ID a hash.
	from := pusher{id: remote, name: remote.String()}
	from.conv = parley.DMConversationID(s.selfName, from.name)
	for i, raw := range envs {
		out[i].env, out[i].key, out[i].fresh, out[i].err = s.prepare(from, raw, fresh)
	}
	parallel.For(len(out), func(i int) {
		if o := &out[i]; o.err == nil {
			o.rcv, o.card, o.err = s.open(from, o.env, o.key)
		}
	})
	return out
}

// pusher is the remote peer of a push: its ID, its ID's text and our DM
// conversation with it.
type pusher struct {
	id   peer.ID
	name string
	conv parley.ConversationID
}

// prepare decodes an envelope from remote and finds its key. fresh holds
// the keys established earlier in the same push, so a burst that carries
// one encapsulation in every envelope costs one decapsulation.
func (s *Service) prepare(from pusher, raw []byte, fresh map[string]*identity.SendKey) (*ppb.Envelope, *identity.SendKey, bool, error) {
	env, err := identity.ParseEnvelope(raw)
	if err != nil {
		return nil, nil, false, err
	}
	remote := from.id
	if string(env.ConversationId) != string(from.conv[:]) {
		return nil, nil, false, errors.New("envelope is not addressed to this node")
	}
	if k := fresh[string(env.KeyId)]; k != nil {
		return env, k, true, nil
	}
	key, isFresh, err := s.receivingKey(remote, env)
	if err != nil {
		return nil, nil, false, err
	}
	if isFresh {
		fresh[string(env.KeyId)] = key
	}
	return env, key, isFresh, nil
}

// localError is a failure of our own store while receiving: the envelope
// may be fine, so it is not refused; the push goes unanswered and the
// sender retries.
type localError struct{ err error }

func (e *localError) Error() string { return "local store: " + e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// open turns one envelope from remote into a message, or says why not.
// The author is the verified signer, and it must be the stream's peer.
func (s *Service) open(from pusher, env *ppb.Envelope, key *identity.SendKey) (received, []byte, error) {
	remote := from.id
	op, err := identity.OpenEnvelope(env, key)
	if err != nil {
		return received{}, nil, err
	}
	if op.Sender != remote {
		return received{}, nil, errors.New("envelope is signed by another peer than the one sending it")
	}
	s.cfg.Clock.Observe(op.HLC)
	msg := parley.Message{
		Conversation: from.conv,
		From:         from.name,
		To:           s.selfName,
		HLC:          op.HLC,
		Status:       parley.StatusDelivered,
		Timer:        identity.ExpireSeconds(op.Body), // a text's or file's: it expires Timer after HLC
	}
	switch body := op.Body.Kind.(type) {
	case *ppb.Body_Timer: // its range checked by OpenEnvelope
		msg.Kind, msg.Timer = parley.KindTimer, body.Timer.GetSeconds()
		return received{msg: msg}, op.Card, nil
	case *ppb.Body_Text:
		msg.Kind = parley.KindText
		msg.Text = body.Text.GetText()
		if len(body.Text.GetReplyTo()) > 0 {
			if r, err := parley.EnvelopeIDFromBytes(body.Text.GetReplyTo()); err == nil {
				msg.ReplyTo = &r
			}
		}
		return received{msg: msg}, op.Card, nil
	case *ppb.Body_Receipt:
		msg.Kind = parley.KindReceipt
		return received{msg: msg, receipt: body.Receipt}, op.Card, nil
	case *ppb.Body_GroupKeys:
		msg.Kind = parley.KindGroupKeys
		return received{msg: msg, groupKeys: body.GroupKeys}, op.Card, nil
	case *ppb.Body_FileOffer:
		msg.Kind, msg.Text, msg.FileID = parley.KindFile, body.FileOffer.Name, hex.EncodeToString(body.FileOffer.FileId)
		return received{msg: msg, fileOffer: body.FileOffer}, op.Card, nil
	case *ppb.Body_MailboxGrant:
		msg.Kind = parley.KindMailboxGrant
		g := body.MailboxGrant
		if g == nil {
			g = new(ppb.MailboxGrant) // an empty submessage on the wire: no mailboxes
		}
		return received{msg: msg, grant: g}, op.Card, nil
	case *ppb.Body_FileCancel: // its file ID checked by OpenEnvelope
		msg.Kind, msg.FileID = parley.KindFileCancel, hex.EncodeToString(body.FileCancel.FileId)
		return received{msg: msg, cancel: msg.FileID}, op.Card, nil
	case *ppb.Body_CardUpdate:
		card, err := identity.ParseCard(body.CardUpdate.GetCard())
		if err != nil {
			return received{}, nil, fmt.Errorf("card update: %w", err)
		}
		if card.PeerID != remote {
			return received{}, nil, fmt.Errorf("%w: card update carries the card of %s, not the sender's", parley.ErrMalformed, card.PeerID)
		}
		msg.Kind = parley.KindCardUpdate
		return received{msg: msg, card: &card}, op.Card, nil
	case *ppb.Body_MailboxOffer:
		addrs, err := parseMailboxOffer(remote, body.MailboxOffer)
		if err != nil {
			return received{}, nil, err
		}
		msg.Kind, msg.Text = parley.KindMailboxOffer, strings.Join(addrs, "\n")
		return received{msg: msg}, op.Card, nil
	default:
		if identity.Annotation(op.Body, &msg) { // an edit, delete or reaction
			return received{msg: msg}, op.Card, nil
		}
		return received{}, nil, fmt.Errorf("%w: unsupported body", parley.ErrMalformed)
	}
}

// receivingKey finds the key remote sealed env under: from memory, from the
// store, or, fresh (not yet kept), from the encapsulation it carries.
func (s *Service) receivingKey(remote peer.ID, env *ppb.Envelope) (key *identity.SendKey, fresh bool, err error) {
	cacheKey := string(remote) + string(env.KeyId)
	if k := s.keys.get(cacheKey); k != nil {
		return k, false, nil
	}
	raw, err := s.cfg.Store.PeerKey(remote.String(), env.KeyId)
	switch {
	case err == nil:
		k := &identity.SendKey{}
		copy(k.ID[:], env.KeyId)
		copy(k.Key[:], raw)
		s.keys.put(cacheKey, k)
		return k, false, nil
	case !errors.Is(err, parley.ErrNotFound):
		return nil, false, &localError{err}
	case len(env.KeyEncap) == 0:
		return nil, false, errUnknownKey
	}
	k, err := s.cfg.Identity.OpenSendKey(env.KeyEncap, remote)
	if err != nil {
		return nil, false, fmt.Errorf("opening the sending key: %w", err)
	}
	if string(k.ID[:]) != string(env.KeyId) {
		return nil, false, fmt.Errorf("%w: key ID does not match its encapsulation", parley.ErrMalformed)
	}
	return k, true, nil
}

// rememberSender makes sure the sender of text messages is known: a
// stranger becomes a contact request, and a card fills in what we lack.
func (s *Service) rememberSender(remote peer.ID, card []byte, got []received) error {
	// Only text makes a stranger a request: receipts and group keys (from
	// a fellow member who is no contact of ours) do not.
	texts := false
	for _, r := range got {
		texts = texts || r.msg.Kind == parley.KindText || r.msg.Kind == parley.KindFile
	}
	// The common case, a contact we know with their key, costs one read and
	// no write.
	if c, err := s.cfg.Store.Contact(remote.String()); err == nil && len(c.HPKEKey) > 0 {
		return nil
	}
	var fromCard *parley.Contact
	if card != nil {
		if cd, err := identity.ParseCard(card); err == nil && cd.PeerID == remote {
			c := cd.Contact()
			fromCard = &c
		}
	}
	isNew := false
	_, err := s.cfg.Store.UpdateContact(remote.String(), func(c *parley.Contact, found bool) (bool, error) {
		isNew = !found
		switch {
		case found && (fromCard == nil || len(c.HPKEKey) > 0):
			return false, nil // nothing to learn
		case !found && !texts:
			return false, nil // a receipt alone does not make a request
		case !found:
			c.State, c.AddedAt = parley.ContactRequest, time.Now().UTC()
		}
		if fromCard != nil {
			c.HPKEKey, c.Addrs, c.Mailboxes = fromCard.HPKEKey, fromCard.Addrs, fromCard.Mailboxes
			if c.Name == "" {
				c.Name = fromCard.Name
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if isNew && texts {
		s.cfg.Notify(parley.Event{Type: parley.EventRequest, PeerID: remote.String()})
	}
	return nil
}

// applyReceipt advances our outgoing messages to remote; IDs of anything
// else (another conversation, an incoming message) are ignored, so a peer
// can only mark what it was sent.
func (s *Service) applyReceipt(remote peer.ID, r *ppb.Receipt) error {
	status := parley.StatusDelivered
	if r.Kind == ppb.Receipt_KIND_READ {
		status = parley.StatusRead
	}
	conv := parley.DMConversationID(s.self.String(), remote.String())
	var ids []parley.EnvelopeID
	for _, raw := range r.EnvelopeIds {
		id, err := parley.EnvelopeIDFromBytes(raw)
		if err != nil {
			continue
		}
		m, err := s.cfg.Store.Message(id)
		if err != nil || m.Conversation != conv || !m.Outgoing {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	// What the peer holds needs no more delivering: a receipt that came
	// through a mailbox settles the outbox as a push's ack would.
	changed, err := s.cfg.Store.RemoveFromOutbox(remote.String(), ids, status)
	if err != nil {
		return err
	}
	more, err := s.cfg.Store.AdvanceStatus(ids, status)
	if err != nil {
		return err
	}
	changed = append(changed, more...)
	for i := range changed {
		if changed[i].Kind == parley.KindText || changed[i].Kind == parley.KindFile { // receipts are never shown
			s.cfg.Notify(parley.Event{Type: parley.EventStatus, Message: &changed[i]})
		}
	}
	return nil
}
