package pubsub

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// Replies, edits, deletes and reactions in groups. They are envelopes like
// any other: stored, published, and synced. Who may edit or delete what is
// the node's to judge (Config.Judge), once the author is known to be a
// member.

// admit checks an envelope's author against the membership, then (for an
// edit, delete, reaction or timer) asks Config.Judge, outside the group's lock:
// what it refuses is rejected, as a forgery would be.
func (s *Groups) admit(g *group, in *incoming) error {
	if err := s.admitMember(g, in); err != nil {
		return err
	}
	if in.msg.Kind.Annotates() || in.msg.Kind == parley.KindTimer {
		if err := s.cfg.Judge(in.msg); err != nil {
			return reject("%v", err)
		}
	}
	return nil
}

// Reply writes text to a group as a reply to the message replyTo.
func (s *Groups) Reply(id parley.ConversationID, text string, replyTo parley.EnvelopeID) (parley.Message, error) {
	if err := parley.CheckText(text); err != nil {
		return parley.Message{}, err
	}
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	return s.write(g, &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: text, ReplyTo: replyTo[:]}}})
}

// Annotate writes an edit, delete or reaction (msg's Kind, Target, Text,
// Emoji, Remove) to a group.
func (s *Groups) Annotate(id parley.ConversationID, msg parley.Message) (parley.Message, error) {
	body, err := identity.AnnotationBody(msg)
	if err != nil {
		return parley.Message{}, err
	}
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	return s.write(g, body)
}

// IsAdmin reports whether p is an admin of the group now, as the ops we
// hold say.
func (s *Groups) IsAdmin(id parley.ConversationID, p peer.ID) bool {
	g, err := s.get(id)
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.IsAdmin(p)
}

// SendReceipt tells the group's members which of its messages we got
// (delivered) and read: one envelope, at most identity.MaxReceiptIDs IDs.
func (s *Groups) SendReceipt(id parley.ConversationID, delivered, read []parley.EnvelopeID) (parley.Message, error) {
	if s.cfg.WriteRefused != nil {
		return parley.Message{}, s.cfg.WriteRefused
	}
	body, err := identity.GroupReceiptBody(delivered, read)
	if err != nil {
		return parley.Message{}, err
	}
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	if err := s.awaitFreshKey(g); err != nil {
		return parley.Message{}, err
	}
	key, topic, err := g.sealingKey()
	if err != nil {
		return parley.Message{}, err
	}
	bodyBytes, err := proto.Marshal(body)
	if err != nil {
		return parley.Message{}, err
	}
	env, msg, err := s.seal(g, key, topic, bodyBytes, body, 0)
	if err != nil {
		return parley.Message{}, err
	}
	// Published before it is stored, and stored with the receipts that
	// arrive (receipt_lane.go): one write per round for all of them. A
	// crash before the write loses it here as it would have lost it
	// waiting in the node's batch; the members who got it hand it back by
	// sync.
	if topic != nil {
		if err := topic.Publish(s.ctx, env); err != nil {
			s.log.Debug("publishing group receipts", "group", g.id, "err", err)
		}
	}
	in := &incoming{raw: env, keyID: key.ID, msg: msg}
	if !s.lane.add(g, in) {
		if _, err := s.keep(g, []*incoming{in}); err != nil { // the lane is full or closed: at once
			return parley.Message{}, err
		}
	}
	return msg, nil
}

// SetTimer writes a disappearing-messages timer (seconds, 0: off) to a
// group. Only an admin may: the node checks before calling, and every
// member's Config.Judge refuses one from anyone else.
func (s *Groups) SetTimer(id parley.ConversationID, seconds uint32) (parley.Message, error) {
	body, err := identity.TimerBody(time.Duration(seconds) * time.Second)
	if err != nil {
		return parley.Message{}, err
	}
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	return s.write(g, body)
}
