package pubsub

import (
	"encoding/hex"
	"fmt"
	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// Send writes text to a group: stored, then published. It is where group
// text is checked (parley.CheckText), for every caller.
//
// cid, when not zero, makes the send idempotent: a send repeating a stored
// cid stores and publishes nothing and returns the message stored the
// first time (storage.DB.Resend, which also refuses a cid used for
// another message).
func (s *Groups) Send(id parley.ConversationID, text string, cid parley.ClientID) (parley.Message, error) {
	if err := parley.CheckText(text); err != nil {
		return parley.Message{}, err
	}
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	if !cid.IsZero() {
		want := parley.Message{Conversation: id, Kind: parley.KindText, Text: text}
		if first, found, err := s.cfg.Store.Resend(cid, want); err != nil || found {
			return first, err
		}
	}
	return s.writeOnce(g, &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: text}}}, cid, nil)
}

// SendFile offers a file to a group; the files service serves it.
func (s *Groups) SendFile(id parley.ConversationID, offer *pb.FileOffer) (parley.Message, error) {
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	return s.write(g, &pb.Body{Kind: &pb.Body_FileOffer{FileOffer: offer}})
}

// writable finds a group we may write to: joined here, and not removed as
// far as the ops we hold say. A member who has just accepted may not hold
// the op that added them yet (catch-up applies ops as they come): only a
// membership that began and ended counts as removed.
func (s *Groups) writable(id parley.ConversationID) (*group, error) {
	g, err := s.joined(id)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	removed := g.state.EverMember(s.self) && !g.state.IsMember(s.self)
	g.mu.Unlock()
	if removed {
		return nil, fmt.Errorf("%w: you are no longer in this group", parley.ErrNotMember)
	}
	return g, nil
}

// write seals body under the current key, stores it, applies it (an op)
// and publishes it.
func (s *Groups) write(g *group, body *pb.Body) (parley.Message, error) {
	return s.writeOnce(g, body, parley.ClientID{}, nil)
}

// writeOnce is write with a send's client ID (zero: none), stored with the
// message; when a concurrent send stored cid first, it returns that
// message and publishes nothing. epoch, when set, is the key body was
// built for: if it is no longer the current one, nothing is written.
func (s *Groups) writeOnce(g *group, body *pb.Body, cid parley.ClientID, epoch *identity.SendKey) (parley.Message, error) {
	if s.cfg.WriteRefused != nil {
		return parley.Message{}, s.cfg.WriteRefused
	}
	// A text or file carries the timer in force now, so that every member
	// purges it at the same instant.
	timer := s.cfg.Timer(g.id)
	identity.WithTimer(body, timer)
	bodyBytes, err := proto.Marshal(body)
	if err != nil {
		return parley.Message{}, err
	}
	if _, op := body.Kind.(*pb.Body_GroupOp); !op {
		// Ops may go under the old key (the one removed reads of their
		// removal); what members say may not.
		if err := s.awaitFreshKey(g); err != nil {
			return parley.Message{}, err
		}
	}
	key, topic, err := g.sealingKey()
	if err != nil {
		return parley.Message{}, err
	}
	if epoch != nil && !sameKey(epoch, key) {
		return parley.Message{}, fmt.Errorf("%w: the group's key changed while writing; try again", parley.ErrRekeying)
	}
	env, msg, err := s.seal(g, key, topic, bodyBytes, body, timer)
	if err != nil {
		return parley.Message{}, err
	}
	eid, hlc := msg.ID, msg.HLC
	s.lane.messageStoring() // receipts wait (receipt_lane.go)
	added, err := s.cfg.Store.PutRecords([]storage.Record{{Message: msg, Envelope: env, Group: true, KeyID: key.ID, ClientID: cid}})
	s.lane.messageStored()
	if err != nil {
		return parley.Message{}, err
	}
	if !added[0] && !cid.IsZero() {
		return s.cfg.Store.FirstSend(cid, msg)
	}
	notify := false
	if b, ok := body.Kind.(*pb.Body_GroupOp); ok {
		s.applyOp(g, Op{ID: eid, Author: s.self, HLC: hlc, Body: b.GroupOp})
	} else if b, ok := body.Kind.(*pb.Body_GroupMailboxGrant); ok {
		if err := s.cfg.OnMailboxGrant(g.id, s.self, msg, b.GroupMailboxGrant); err != nil {
			return parley.Message{}, err
		}
	} else {
		notify = true
	}
	if topic != nil {
		if err := topic.Publish(s.ctx, env); err != nil {
			s.log.Debug("publishing to a group", "group", g.id, "err", err)
		}
	}
	// Published first: the message is durable here already, and telling
	// our own screens (several store reads to fold it into its view) need
	// not delay every member's copy.
	if notify {
		s.cfg.Notify(parley.Event{Type: parley.EventMessage, Message: &msg})
	}
	return msg, nil
}

// RekeyWait bounds how long a send waits for the key of the epoch an admin
// starts after a member left (it travels by DM, so usually within a
// round trip); after it, the send is refused with parley.ErrRekeying.
var RekeyWait = 10 * time.Second

// awaitFreshKey waits, up to RekeyWait, until the key we seal with is newer
// than the latest departure from the group: a member who has seen someone
// leave but not yet the new key would otherwise write under a key the one
// who left holds.
func (s *Groups) awaitFreshKey(g *group) error {
	g.mu.Lock()
	stale, newKey := g.staleKey()
	g.mu.Unlock()
	if !stale {
		return nil
	}
	timer := time.NewTimer(RekeyWait)
	defer timer.Stop()
	for stale {
		select {
		case <-newKey:
		case <-timer.C:
			return fmt.Errorf("%w: someone left and the new key is on its way from an admin; nothing was sent, try again shortly", parley.ErrRekeying)
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
		g.mu.Lock()
		stale, newKey = g.staleKey()
		g.mu.Unlock()
	}
	return nil
}

// Held records that a member holds these of our queued messages (a sync
// session handed them over, or found the member had them): they become
// "sent", for good, and the change is announced.
func (s *Groups) Held(ids []parley.EnvelopeID) error {
	if len(ids) == 0 {
		return nil
	}
	changed, err := s.cfg.Store.AdvanceStatus(ids, parley.StatusSent)
	if err != nil {
		return err
	}
	for i := range changed {
		s.cfg.Notify(parley.Event{Type: parley.EventStatus, Message: &changed[i]})
	}
	return nil
}

// seal seals body (bodyBytes, its encoding) under key for g and returns the
// envelope and the message as we store and show it; timer is the one a
// text or file carries. "sent" when someone is on the topic, else "queued".
func (s *Groups) seal(g *group, key *identity.SendKey, topic *gossipsub.Topic, bodyBytes []byte, body *pb.Body, timer uint32) ([]byte, parley.Message, error) {
	hlc := s.cfg.Clock.Now()
	env, eid, err := s.cfg.Identity.SealEnvelope(g.id, key, false, hlc, bodyBytes, nil)
	if err != nil {
		return nil, parley.Message{}, err
	}
	msg := parley.Message{ID: eid, Conversation: g.id, From: s.self.String(), Outgoing: true, HLC: hlc, Status: parley.StatusQueued}
	switch b := body.Kind.(type) {
	case *pb.Body_Text:
		msg.Kind, msg.Text = parley.KindText, b.Text.Text
		if r, err := parley.EnvelopeIDFromBytes(b.Text.ReplyTo); err == nil {
			msg.ReplyTo = &r
		}
	case *pb.Body_GroupOp:
		msg.Kind = parley.KindGroupOp
	case *pb.Body_FileOffer:
		msg.Kind, msg.Text, msg.FileID = parley.KindFile, b.FileOffer.Name, hex.EncodeToString(b.FileOffer.FileId)
	case *pb.Body_GroupMailboxGrant:
		msg.Kind = parley.KindGroupMailboxGrant
	case *pb.Body_GroupReceipt:
		identity.GroupReceipt(body, &msg)
	case *pb.Body_Timer:
		msg.Kind, msg.Timer = parley.KindTimer, b.Timer.Seconds
	default:
		identity.Annotation(body, &msg) // an edit, delete or reaction
	}
	if msg.Kind == parley.KindText || msg.Kind == parley.KindFile {
		msg.Timer = timer
	}
	// Groups have no per-member acknowledgement: "sent" means someone on
	// the topic got it; "queued" that no one was there. The store keeps a
	// queued message as pending, and the first sync session that hands it
	// to a member makes it "sent" (Held).
	if topic != nil && len(topic.ListPeers()) > 0 {
		msg.Status = parley.StatusSent
	}
	return env, msg, nil
}
