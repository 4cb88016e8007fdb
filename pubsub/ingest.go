package pubsub

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parallel"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// ReplayWindow bounds how old (or how far ahead of our clock) an envelope
// arriving on the topic may be. The topic carries live traffic; anything
// older comes through sync, which is not bound by it. So an envelope
// replayed on the topic after pubsub has forgotten its ID is refused and
// its sender scored down.
const ReplayWindow = 10 * time.Minute

// rejection is an envelope's fault (malformed, forged, not a member's...):
// the topic validator rejects it, which lowers the sender's score, and sync
// counts it against the peer.
type rejection struct{ reason string }

func (r *rejection) Error() string { return r.reason }

func reject(format string, args ...any) error { return &rejection{fmt.Sprintf(format, args...)} }

// errNotCaughtUp: we cannot judge the envelope yet (we may lack the ops
// that make its author a member). Neither stored nor held against anyone:
// sync brings it again once we hold those ops.
var errNotCaughtUp = errors.New("group state not caught up yet")

// errNotShared: a message written while we were not a member of a group
// that hides its history (or before we hold the op that added us back).
// Not stored and held against no one, like errNotCaughtUp: a message that
// reached us by gossip around our (re)joining, which sync would not hand
// us (SyncFilter), is not kept either; one we are entitled to comes again
// by sync once we hold the ops.
var errNotShared = errors.New("written while we were not a member of a group that hides its history")

// validator checks and stores what arrives on a group's topic. It stores
// before it accepts, so whatever we forward is already durable here.
func (s *Groups) validator(g *group) gossipsub.ValidatorEx {
	return func(_ context.Context, from peer.ID, msg *gossipsub.Message) gossipsub.ValidationResult {
		if from == s.self {
			return gossipsub.ValidationAccept // our own, stored before publishing
		}
		if !s.limits.allow(from) {
			return gossipsub.ValidationIgnore
		}
		if len(msg.Data) > identity.MaxEnvelopeSize {
			s.log.Debug("rejected an oversized group message", "group", g.id, "from", from, "bytes", len(msg.Data))
			return gossipsub.ValidationReject
		}
		added, err := s.ingestLive(g, msg.Data)
		var rej *rejection
		switch {
		case errors.As(err, &rej):
			s.log.Debug("rejected a group message", "group", g.id, "from", from, "err", err)
			return gossipsub.ValidationReject
		case errors.Is(err, errNotCaughtUp), errors.Is(err, errNotShared), errors.Is(err, errLaneFull):
			s.log.Debug("ignored a group message", "group", g.id, "from", from, "err", err)
			return gossipsub.ValidationIgnore
		case err != nil:
			s.log.Warn("storing a group message", "group", g.id, "err", err)
			return gossipsub.ValidationIgnore
		case !added:
			return gossipsub.ValidationIgnore // we had it (through sync): no need to forward
		}
		return gossipsub.ValidationAccept
	}
}

// Ingest checks and stores envelopes of a group that a peer sent through
// sync. rejected counts the ones that failed the checks; err is a failure
// of our own.
//
// A catch-up brings thousands at once, so: envelopes already held are
// skipped before any crypto; the rest are decrypted and verified on every
// core; ops are then applied one by one in replay order (a batch may hold
// the op that adds the author of a message in the same batch), and the
// other envelopes are stored in one batch.
func (s *Groups) Ingest(id parley.ConversationID, envs [][]byte) (added, rejected int, err error) {
	g, err := s.get(id)
	if err != nil {
		return 0, 0, err
	}
	fresh := make([][]byte, 0, len(envs))
	for _, raw := range envs {
		held, err := s.cfg.Store.HasEnvelope(parley.NewEnvelopeID(raw))
		if err != nil {
			return 0, 0, err
		}
		if !held {
			fresh = append(fresh, raw)
		}
	}
	ins := make([]*incoming, len(fresh))
	errs := make([]error, len(fresh))
	parallel.For(len(fresh), func(i int) { ins[i], errs[i] = s.decrypt(g, fresh[i], false) })
	count := func(err error) error {
		var rej *rejection
		switch {
		case errors.As(err, &rej):
			s.log.Debug("rejected a synced group envelope", "group", id, "err", err)
			rejected++
		case errors.Is(err, errNotCaughtUp), errors.Is(err, errNotShared):
		case err != nil:
			return err
		}
		return nil
	}
	var ops, rest []*incoming
	for i, in := range ins {
		switch {
		case errs[i] != nil:
			if err := count(errs[i]); err != nil {
				return added, rejected, err
			}
		case in.op != nil:
			ops = append(ops, in)
		default:
			rest = append(rest, in)
		}
	}
	slices.SortFunc(ops, func(a, b *incoming) int {
		return cmp.Or(cmp.Compare(a.msg.HLC, b.msg.HLC), bytes.Compare(a.msg.ID[:], b.msg.ID[:]))
	})
	for _, in := range ops {
		if err := s.admit(g, in); err != nil {
			if err := count(err); err != nil {
				return added, rejected, err
			}
			continue
		}
		ok, err := s.keep(g, []*incoming{in})
		if err != nil {
			return added, rejected, err
		}
		if ok[0] {
			added++
		}
	}
	var batch []*incoming
	for _, in := range rest {
		if err := s.admit(g, in); err != nil {
			if err := count(err); err != nil {
				return added, rejected, err
			}
			continue
		}
		batch = append(batch, in)
	}
	ok, err := s.keep(g, batch)
	for _, a := range ok {
		if a {
			added++
		}
	}
	return added, rejected, err
}

// incoming is an envelope of a group that decrypted and verified.
type incoming struct {
	raw   []byte
	keyID [identity.KeyIDSize]byte
	msg   parley.Message
	op    *Op
	offer *pb.FileOffer
	grant *pb.GroupMailboxGrant
}

// ingestLive checks one envelope of g that came from the topic (so the
// replay window applies) and stores it, returning whether it was new. A
// receipt goes to the receipt lane (receipt_lane.go) instead, stored
// later; true: queued, errLaneFull: not.
func (s *Groups) ingestLive(g *group, raw []byte) (bool, error) {
	in, err := s.decrypt(g, raw, true)
	if err != nil {
		return false, err
	}
	if err := s.admit(g, in); err != nil {
		return false, err
	}
	if in.msg.Receipted != nil {
		if !s.lane.add(g, in) {
			return false, errLaneFull
		}
		return true, nil
	}
	s.lane.messageStoring()
	added, err := s.keep(g, []*incoming{in})
	s.lane.messageStored()
	if err != nil {
		return false, err
	}
	return added[0], nil
}

// errLaneFull: a receipt found the receipt lane full (or closed). Neither
// stored nor held against anyone: sync brings it.
var errLaneFull = errors.New("too many group receipts waiting to be stored")

// decrypt parses, opens and verifies an envelope of g: everything that
// needs no membership.
func (s *Groups) decrypt(g *group, raw []byte, live bool) (*incoming, error) {
	env, err := identity.ParseEnvelope(raw)
	if err != nil {
		return nil, reject("%v", err)
	}
	if parley.ConversationID(env.ConversationId) != g.id {
		return nil, reject("envelope of another conversation")
	}
	if len(env.KeyEncap) != 0 {
		return nil, reject("group envelopes carry no key encapsulation")
	}
	in := &incoming{raw: raw, keyID: [identity.KeyIDSize]byte(env.KeyId)}
	g.mu.Lock()
	key := g.keys[in.keyID]
	g.mu.Unlock()
	if key == nil {
		return nil, reject("sealed under an unknown key epoch %x", in.keyID)
	}
	o, err := identity.OpenEnvelope(env, key)
	if err != nil {
		return nil, reject("%v", err)
	}
	if live {
		now := time.Now()
		if t := o.HLC.Time(); t.Before(now.Add(-ReplayWindow)) || t.After(now.Add(ReplayWindow)) {
			return nil, reject("dated %s, outside the replay window", t.UTC().Format(time.RFC3339))
		}
	}
	in.msg = parley.Message{
		ID:           parley.NewEnvelopeID(raw),
		Conversation: g.id,
		From:         o.Sender.String(),
		Outgoing:     o.Sender == s.self,
		HLC:          o.HLC,
		Status:       parley.StatusDelivered,
		Timer:        identity.ExpireSeconds(o.Body), // a text's or file's: it expires Timer after HLC
	}
	if in.msg.Outgoing {
		in.msg.Status = parley.StatusSent // ours, back from a member after we lost it
	}
	switch b := o.Body.Kind.(type) {
	case *pb.Body_Text:
		in.msg.Kind, in.msg.Text = parley.KindText, b.Text.GetText()
		if r, err := parley.EnvelopeIDFromBytes(b.Text.GetReplyTo()); err == nil {
			in.msg.ReplyTo = &r
		}
	case *pb.Body_FileOffer:
		in.offer = b.FileOffer
		in.msg.Kind, in.msg.Text, in.msg.FileID = parley.KindFile, in.offer.Name, hex.EncodeToString(in.offer.FileId)
	case *pb.Body_GroupOp:
		in.msg.Kind = parley.KindGroupOp
		in.op = &Op{ID: in.msg.ID, Author: o.Sender, HLC: o.HLC, Body: b.GroupOp}
	case *pb.Body_Timer: // its range checked by OpenEnvelope; its author by Config.Judge
		in.msg.Kind, in.msg.Timer = parley.KindTimer, b.Timer.GetSeconds()
	case *pb.Body_GroupMailboxGrant:
		in.msg.Kind = parley.KindGroupMailboxGrant
		if in.grant = b.GroupMailboxGrant; in.grant == nil {
			in.grant = new(pb.GroupMailboxGrant) // an empty submessage on the wire: no mailboxes
		}
	case *pb.Body_GroupReceipt:
		identity.GroupReceipt(o.Body, &in.msg)
	default:
		if !identity.Annotation(o.Body, &in.msg) { // an edit, delete or reaction
			return nil, reject("a group carries texts, files, ops, mailbox grants, edits, deletes, reactions, receipts and timers only")
		}
	}
	return in, nil
}

// admitMember checks an envelope's author against the membership as we
// know it.
func (s *Groups) admitMember(g *group, in *incoming) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	author, _ := peer.Decode(in.msg.From)
	if in.op != nil {
		b := in.op.Body
		create := b.Type == pb.GroupOp_TYPE_CREATE && identity.GroupIDOf(author, b.Nonce) == g.id
		// An op by someone who was never a member may still be valid (the
		// op adding them is on its way), but it is not kept before then.
		if !create && !g.state.EverMember(author) {
			return errNotCaughtUp
		}
		return nil
	}
	// A grant or a disappearing-messages timer is for whoever is a
	// member, whenever it joined: like an op, it is not hidden by the
	// history setting.
	if in.grant == nil && in.msg.Kind != parley.KindTimer && g.state.Created && g.state.History == parley.HistoryHidden && !g.state.WasMember(s.self, in.msg.HLC) {
		return errNotShared
	}
	if g.state.WasMember(author, in.msg.HLC) {
		return nil
	}
	// Only a key holder gets this far. One we know was a member, writing
	// outside its membership, is refused (a removed member); one we have
	// never seen is most likely a new member whose ADD has not reached us:
	// refusing would score down the honest peer that forwarded it.
	if !g.state.Created || !g.state.EverMember(author) {
		return errNotCaughtUp
	}
	return reject("%s was not a member when this was written", author)
}

// keep stores admitted envelopes in one batch, then hands over file
// offers, applies ops and tells the user about new messages.
func (s *Groups) keep(g *group, ins []*incoming) ([]bool, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	recs := make([]storage.Record, len(ins))
	for i, in := range ins {
		author, _ := peer.Decode(in.msg.From)
		recs[i] = storage.Record{Message: in.msg, Envelope: in.raw, Group: true, KeyID: in.keyID, Hidden: s.cfg.Hidden(author)}
	}
	added, err := s.cfg.Store.PutRecords(recs)
	if err != nil {
		return nil, err
	}
	for i, in := range ins {
		s.cfg.Clock.Observe(in.msg.HLC)
		if in.offer != nil {
			// Handed over even when stored before: a crash between the
			// two must not lose the file.
			author, _ := peer.Decode(in.msg.From)
			if err := s.cfg.OnFileOffer(g.id, in.msg.ID, author, in.offer); err != nil {
				return added, err
			}
		}
		if in.grant != nil {
			// Kept even when stored before, like an offer.
			author, _ := peer.Decode(in.msg.From)
			if err := s.cfg.OnMailboxGrant(g.id, author, in.msg, in.grant); err != nil {
				return added, err
			}
		}
		if !added[i] {
			continue
		}
		if in.op != nil {
			s.applyOp(g, *in.op)
		} else if in.grant == nil {
			msg := in.msg
			s.cfg.Notify(parley.Event{Type: parley.EventMessage, Message: &msg})
		}
	}
	return added, nil
}

// applyOp adds a stored op to the group's state and acts on what changed:
// we were removed, or a member left and it falls to us (an admin) to start
// a new epoch.
func (s *Groups) applyOp(g *group, op Op) {
	g.mu.Lock()
	for _, o := range g.ops {
		if o.ID == op.ID {
			g.mu.Unlock()
			return
		}
	}
	wasMember := g.state.IsMember(s.self)
	before := len(g.state.Members)
	g.ops = append(g.ops, op)
	g.state = Replay(g.id, g.ops)
	nowMember := g.state.IsMember(s.self)
	lost := op.Body.Type == pb.GroupOp_TYPE_LEAVE || op.Body.Type == pb.GroupOp_TYPE_REMOVE
	// Rekey when a member went and no epoch began after it: the remover
	// rekeys at once (it is an admin); for a leave, every admin who sees it
	// does, and the newest key wins everywhere.
	needRekey := lost && op.Author != s.self && nowMember && g.state.IsAdmin(s.self) &&
		op.Body.Type == pb.GroupOp_TYPE_LEAVE && g.newestKeyHLC() < op.HLC && g.rec.State == parley.GroupJoined
	removed := wasMember && !nowMember && g.rec.State == parley.GroupJoined && op.Author != s.self
	changed := before != len(g.state.Members) || op.Body.Type != pb.GroupOp_TYPE_CREATE
	trustedNow := g.releaseKeys()
	// An admin other than the adder may hold a key the adder did not have
	// yet (a rekey concurrent with the add): it hands the newcomer the keys
	// that began around or after the add. Only for recent adds, so
	// catching up on history sends nothing.
	var newcomer *Member
	if op.Body.Type == pb.GroupOp_TYPE_ADD && op.Author != s.self && g.state.IsAdmin(s.self) &&
		g.rec.State == parley.GroupJoined && time.Since(op.HLC.Time()) < ReplayWindow {
		if target, err := peer.IDFromBytes(op.Body.Member); err == nil && target != s.self {
			newcomer = g.state.Members[target]
		}
	}
	var recent []*identity.SendKey
	if newcomer != nil {
		for kid, k := range g.keys {
			if g.keyHLC[kid] >= op.HLC-parley.HLC(uint64(ReplayWindow.Milliseconds())<<16) {
				recent = append(recent, k)
			}
		}
	}
	g.mu.Unlock()
	if len(trustedNow) > 0 {
		if _, err := s.cfg.Store.PutGroupKeys(g.id, trustedNow); err != nil {
			s.log.Warn("keeping group keys", "group", g.id, "err", err)
		} else {
			g.mu.Lock()
			for _, k := range trustedNow {
				g.addKey(&identity.SendKey{ID: k.ID, Key: k.Key}, k.HLC)
			}
			g.mu.Unlock()
		}
	}
	for _, k := range recent {
		if err := s.sendKeys(g, s.contactFor(newcomer), false, k); err != nil {
			s.log.Warn("handing a new member a recent group key", "group", g.id, "err", err)
		}
	}
	if removed {
		if err := s.setState(g, parley.GroupRemoved); err != nil {
			s.log.Warn("recording our removal from a group", "group", g.id, "err", err)
		}
		s.part(g)
	}
	if needRekey {
		if err := s.rekey(g); err != nil {
			s.log.Warn("starting a new group epoch", "group", g.id, "err", err)
		}
	}
	if changed || removed {
		s.notifyGroup(g.id)
	}
}

// maxHeldKeySenders bounds the keys held from peers not (yet) known as
// admins.
const maxHeldKeySenders = 16

// holdKeys keeps keys from a peer we cannot trust yet. Call with g.mu held.
func (g *group) holdKeys(from peer.ID, keys []storage.GroupKey) {
	if g.held == nil {
		g.held = make(map[peer.ID][]storage.GroupKey)
	}
	if len(g.held) >= maxHeldKeySenders && g.held[from] == nil {
		return
	}
	g.held[from] = append(g.held[from], keys...)[:min(len(g.held[from])+len(keys), identity.MaxGroupKeys)]
}

// releaseKeys returns (and forgets) the held keys whose sender the ops now
// make an admin. Call with g.mu held.
func (g *group) releaseKeys() []storage.GroupKey {
	var out []storage.GroupKey
	for from, keys := range g.held {
		if g.state.IsAdmin(from) {
			out = append(out, keys...)
			delete(g.held, from)
		}
	}
	return out
}

// OnGroupKeys takes group keys a peer sent us over a DM. An invite from a
// contact to a group we are not in becomes a pending invite; otherwise keys
// are kept only from an admin of the group (or, before we hold its ops,
// from whoever invited us).
func (s *Groups) OnGroupKeys(from peer.ID, gk *pb.GroupKeys) error {
	id := parley.ConversationID(gk.GroupId)
	keys := make([]storage.GroupKey, 0, len(gk.Keys))
	for _, k := range gk.Keys {
		sk, err := identity.GroupKeyFrom(id, k)
		if err != nil {
			return err
		}
		keys = append(keys, storage.GroupKey{ID: sk.ID, Key: sk.Key, HLC: parley.HLC(k.Hlc)})
	}
	contact, err := s.cfg.Store.Contact(from.String())
	isContact := err == nil && contact.State == parley.ContactAccepted
	s.mu.Lock()
	g := s.groups[id]
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("pubsub: groups are closed")
	}
	invite := false
	if g == nil {
		if !gk.Invite || !isContact {
			s.log.Debug("ignoring keys to a group we are not invited to", "group", id, "from", from)
			return nil
		}
		invite = true
	} else {
		g.mu.Lock()
		state := g.rec.State
		trusted := g.state.IsAdmin(from) || !g.state.Created && from.String() == g.rec.InvitedBy
		g.mu.Unlock()
		switch {
		case gk.Invite && isContact && (state == parley.GroupLeft || state == parley.GroupRemoved):
			invite = true // added again after leaving
		case !trusted:
			// Maybe an admin whose ADD or promotion we have not seen yet:
			// held in memory until an op settles it (applyOp).
			g.mu.Lock()
			g.holdKeys(from, keys)
			g.mu.Unlock()
			s.log.Debug("holding group keys from a peer not known as an admin", "group", id, "from", from)
			return nil
		}
	}
	if _, err := s.cfg.Store.PutGroupKeys(id, keys); err != nil {
		return err
	}
	if invite {
		hints := make([]string, 0, len(gk.Members))
		for _, m := range gk.Members {
			if p, err := peer.IDFromBytes(m); err == nil {
				hints = append(hints, p.String())
			}
		}
		rec, err := s.cfg.Store.UpdateGroup(id, func(r *storage.Group, found bool) (bool, error) {
			if !found {
				r.Name = gk.Name
			}
			r.State, r.InvitedBy, r.MemberHints = parley.GroupInvited, from.String(), hints
			r.InviteHistory = historyOf(gk.History)
			return true, nil
		})
		if err != nil {
			return err
		}
		if g == nil {
			if g, err = s.load(rec); err != nil {
				return err
			}
			s.mu.Lock()
			if existing := s.groups[id]; existing != nil {
				g = existing // a concurrent invite got here first
			} else {
				s.groups[id] = g
			}
			s.mu.Unlock()
		}
		g.mu.Lock()
		g.rec = rec
		g.mu.Unlock()
	}
	g.mu.Lock()
	for _, k := range keys {
		g.addKey(&identity.SendKey{ID: k.ID, Key: k.Key}, k.HLC)
	}
	g.mu.Unlock()
	s.cfg.OnEpoch(id)
	if invite {
		s.notifyGroup(id)
	}
	return nil
}
