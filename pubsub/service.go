package pubsub

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// Config wires a Groups service. Every field but Logger is required.
type Config struct {
	Host     host.Host
	Router   *Router
	Identity *identity.Identity
	Store    *storage.DB
	Clock    *parley.Clock
	// SelfName is our display name, written into the ops that add us.
	SelfName func() string
	// SendKeys hands group keys to one member over the DM protocol. It
	// returns once they are queued durably.
	SendKeys func(to parley.Contact, keys *pb.GroupKeys) error
	// Notify receives events (group changes, messages). It must not block.
	Notify func(parley.Event)
	// OnFileOffer takes a file a member offered, once its envelope is
	// stored (the files service). Optional. An error is a local failure.
	OnFileOffer func(group parley.ConversationID, msg parley.EnvelopeID, from peer.ID, offer *pb.FileOffer) error
	// Active is told when a group becomes active here (created, accepted,
	// loaded at start) and when we leave one, so that the node finds the
	// members and syncs with them.
	Active func(group parley.ConversationID)
	Logger *slog.Logger
}

// Groups runs a node's group chats: it keeps each group's keys, ops and
// membership, publishes and validates envelopes on the group's topic, and
// stores what arrives (from the topic or from sync through Ingest).
type Groups struct {
	cfg    Config
	self   peer.ID
	log    *slog.Logger
	limits peerLimiters

	ctx    context.Context // cancelled by Close; owns the topic readers
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool                             // guarded by mu
	groups map[parley.ConversationID]*group // guarded by mu
}

// group is one group in memory. Its mutex guards everything in it; it is
// never held across a network call or a store write.
type group struct {
	id parley.ConversationID

	mu      sync.Mutex
	rec     storage.Group
	ops     []Op
	state   *State
	keys    map[[identity.KeyIDSize]byte]*identity.SendKey
	keyHLC  map[[identity.KeyIDSize]byte]parley.HLC
	current *identity.SendKey // the newest epoch's key: what we seal with
	topic   *gossipsub.Topic  // nil unless joined
	sub     *gossipsub.Subscription
	stop    context.CancelFunc // ends the subscription's reader
	// readerDone is closed when the reader has returned.
	readerDone chan struct{}
	// held: keys from peers not (yet) known as admins, by sender; in
	// memory only, bounded (holdKeys).
	held map[peer.ID][]storage.GroupKey
}

// NewGroups loads every stored group and joins the topics of those we are
// in.
func NewGroups(cfg Config) (*Groups, error) {
	if cfg.Host == nil || cfg.Router == nil || cfg.Identity == nil || cfg.Store == nil || cfg.Clock == nil ||
		cfg.SelfName == nil || cfg.SendKeys == nil || cfg.Notify == nil || cfg.Active == nil {
		return nil, errors.New("pubsub: every Groups config field but Logger is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OnFileOffer == nil {
		cfg.OnFileOffer = func(parley.ConversationID, parley.EnvelopeID, peer.ID, *pb.FileOffer) error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Groups{
		cfg:    cfg,
		self:   cfg.Host.ID(),
		log:    cfg.Logger.With("service", "groups"),
		ctx:    ctx,
		cancel: cancel,
		groups: make(map[parley.ConversationID]*group),
	}
	recs, err := cfg.Store.Groups()
	if err != nil {
		cancel()
		return nil, err
	}
	for _, rec := range recs {
		g, err := s.load(rec)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.groups[rec.ID] = g
		if rec.State == parley.GroupJoined {
			if err := s.join(g); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	return s, nil
}

// Close leaves every topic and stops the readers.
func (s *Groups) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	groups := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	for _, g := range groups {
		s.part(g)
	}
	s.cancel()
	s.wg.Wait()
	return nil
}

// load rebuilds a group from the store: keys, then ops, then the state.
func (s *Groups) load(rec storage.Group) (*group, error) {
	g := &group{id: rec.ID, rec: rec}
	keys, err := s.cfg.Store.GroupKeys(rec.ID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		g.addKey(&identity.SendKey{ID: k.ID, Key: k.Key}, k.HLC)
	}
	entries, err := s.cfg.Store.GroupOps(rec.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		op, err := g.openOp(e.ID, e.Envelope)
		if err != nil {
			s.log.Warn("skipping a stored group op that does not open", "group", rec.ID, "id", e.ID, "err", err)
			continue
		}
		g.ops = append(g.ops, op)
	}
	g.state = Replay(g.id, g.ops)
	return g, nil
}

func (g *group) addKey(k *identity.SendKey, hlc parley.HLC) {
	if g.keys == nil {
		g.keys = make(map[[identity.KeyIDSize]byte]*identity.SendKey)
		g.keyHLC = make(map[[identity.KeyIDSize]byte]parley.HLC)
	}
	if g.keys[k.ID] != nil {
		return
	}
	g.keys[k.ID] = k
	g.keyHLC[k.ID] = hlc
	if g.current == nil || hlc > g.keyHLC[g.current.ID] ||
		hlc == g.keyHLC[g.current.ID] && string(k.ID[:]) > string(g.current.ID[:]) {
		g.current = k
	}
}

// newestKeyHLC is when the current epoch began.
func (g *group) newestKeyHLC() parley.HLC {
	if g.current == nil {
		return 0
	}
	return g.keyHLC[g.current.ID]
}

// openOp opens a stored op envelope with the group's keys.
func (g *group) openOp(id parley.EnvelopeID, raw []byte) (Op, error) {
	env, err := identity.ParseEnvelope(raw)
	if err != nil {
		return Op{}, err
	}
	k := g.keys[[identity.KeyIDSize]byte(env.KeyId)]
	if k == nil {
		return Op{}, fmt.Errorf("no key %x", env.KeyId)
	}
	o, err := identity.OpenEnvelope(env, k)
	if err != nil {
		return Op{}, err
	}
	body, ok := o.Body.Kind.(*pb.Body_GroupOp)
	if !ok {
		return Op{}, fmt.Errorf("%w: indexed as an op but holds another kind", parley.ErrMalformed)
	}
	return Op{ID: id, Author: o.Sender, HLC: o.HLC, Body: body.GroupOp}, nil
}

// join subscribes to the group's topic with its validator.
func (s *Groups) join(g *group) error {
	name := TopicName(g.id)
	ps := s.cfg.Router.PubSub()
	if err := ps.RegisterTopicValidator(name, s.validator(g)); err != nil {
		return fmt.Errorf("pubsub: validator for group %s: %w", g.id, err)
	}
	topic, err := ps.Join(name)
	if err != nil {
		_ = ps.UnregisterTopicValidator(name)
		return fmt.Errorf("pubsub: joining group %s: %w", g.id, err)
	}
	if err := topic.SetScoreParams(topicScoreParams()); err != nil {
		_ = topic.Close()
		_ = ps.UnregisterTopicValidator(name)
		return fmt.Errorf("pubsub: scoring group %s: %w", g.id, err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		_ = topic.Close()
		_ = ps.UnregisterTopicValidator(name)
		return fmt.Errorf("pubsub: subscribing to group %s: %w", g.id, err)
	}
	ctx, stop := context.WithCancel(s.ctx)
	done := make(chan struct{})
	g.mu.Lock()
	g.topic, g.sub, g.stop, g.readerDone = topic, sub, stop, done
	g.mu.Unlock()
	// Validators store what arrives; the subscription only has to be
	// drained so that pubsub keeps us in the mesh.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
	return nil
}

// part leaves the group's topic, if joined.
func (s *Groups) part(g *group) {
	g.mu.Lock()
	topic, sub, stop, done := g.topic, g.sub, g.stop, g.readerDone
	g.topic, g.sub, g.stop, g.readerDone = nil, nil, nil, nil
	g.mu.Unlock()
	if topic == nil {
		return
	}
	stop()
	<-done
	// Cancel is handed to pubsub's event loop before it returns, so the
	// topic has no subscription left when Close's request is served.
	sub.Cancel()
	if err := topic.Close(); err != nil {
		s.log.Warn("leaving a group's topic", "group", g.id, "err", err)
	}
	_ = s.cfg.Router.PubSub().UnregisterTopicValidator(TopicName(g.id))
}

func (s *Groups) get(id parley.ConversationID) (*group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("pubsub: groups are closed")
	}
	g := s.groups[id]
	if g == nil {
		return nil, fmt.Errorf("%w %s", parley.ErrUnknownGroup, id)
	}
	return g, nil
}

// Resolve finds a group by ID (hex) or by name, ignoring case. Groups we
// are in win over those we left or were invited to, so an old group
// cannot make a current one's name ambiguous.
func (s *Groups) Resolve(nameOrID string) (parley.ConversationID, error) {
	nameOrID = strings.TrimSpace(nameOrID)
	if id, err := parley.ParseConversationID(nameOrID); err == nil {
		if _, err := s.get(id); err != nil {
			return id, err
		}
		return id, nil
	}
	s.mu.Lock()
	var found, joined []parley.ConversationID
	for id, g := range s.groups {
		g.mu.Lock()
		name, state := g.name(), g.rec.State
		g.mu.Unlock()
		if strings.EqualFold(name, nameOrID) {
			found = append(found, id)
			if state == parley.GroupJoined {
				joined = append(joined, id)
			}
		}
	}
	s.mu.Unlock()
	if len(joined) > 0 {
		found = joined
	}
	switch len(found) {
	case 0:
		return parley.ConversationID{}, fmt.Errorf("%w %q", parley.ErrUnknownGroup, nameOrID)
	case 1:
		return found[0], nil
	default:
		return parley.ConversationID{}, fmt.Errorf("%w: %d groups are called %q; use the group ID", parley.ErrAmbiguous, len(found), nameOrID)
	}
}

// name is the group's name: the ops' once we hold them, else the invite's.
func (g *group) name() string {
	if g.state != nil && g.state.Created {
		return g.state.Name
	}
	return g.rec.Name
}

// view is the group as listed. Call with g.mu held.
func (s *Groups) view(g *group) parley.Group {
	v := parley.Group{ID: g.id, Name: g.name(), State: g.rec.State, InvitedBy: g.rec.InvitedBy, Members: len(g.state.Members)}
	if m := g.state.Members[s.self]; m != nil {
		v.Role = m.Role
	}
	return v
}

// State is where we stand in a group (no store read, unlike View).
func (s *Groups) State(id parley.ConversationID) (parley.GroupState, error) {
	g, err := s.get(id)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rec.State, nil
}

// View describes one group.
func (s *Groups) View(id parley.ConversationID) (parley.Group, error) {
	g, err := s.get(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	v := s.view(g)
	g.mu.Unlock()
	if c, err := s.cfg.Store.Conversation(id); err == nil {
		v.LastHLC, v.Unread = c.LastHLC, c.Unread
	}
	return v, nil
}

// List returns the groups in the given states, most recent first.
func (s *Groups) List(states ...parley.GroupState) ([]parley.Group, error) {
	s.mu.Lock()
	ids := make([]parley.ConversationID, 0, len(s.groups))
	for id, g := range s.groups {
		g.mu.Lock()
		if slices.Contains(states, g.rec.State) {
			ids = append(ids, id)
		}
		g.mu.Unlock()
	}
	s.mu.Unlock()
	out := make([]parley.Group, 0, len(ids))
	for _, id := range ids {
		v, err := s.View(id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b parley.Group) int {
		return cmp.Or(cmp.Compare(b.LastHLC, a.LastHLC), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Create starts a group with us as its creator and only admin.
func (s *Groups) Create(name string) (parley.Group, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return parley.Group{}, fmt.Errorf("%w: a group needs a name", parley.ErrMalformed)
	}
	if err := identity.CheckName(name); err != nil {
		return parley.Group{}, err
	}
	id, nonce := identity.NewGroupID(s.self)
	key := identity.NewGroupKey(id)
	hlc := s.cfg.Clock.Now()
	if _, err := s.cfg.Store.PutGroupKeys(id, []storage.GroupKey{{ID: key.ID, Key: key.Key, HLC: hlc}}); err != nil {
		return parley.Group{}, err
	}
	rec, err := s.cfg.Store.UpdateGroup(id, func(g *storage.Group, _ bool) (bool, error) {
		g.Name, g.State = name, parley.GroupJoined
		return true, nil
	})
	if err != nil {
		return parley.Group{}, err
	}
	g := &group{id: id, rec: rec, state: Replay(id, nil)}
	g.addKey(key, hlc)
	s.mu.Lock()
	s.groups[id] = g
	s.mu.Unlock()
	if err := s.join(g); err != nil {
		return parley.Group{}, err
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_CREATE, Name: name, Nonce: nonce,
		MemberHpkeKey: s.cfg.Identity.HPKEPublicKey(), MemberName: s.cfg.SelfName()}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return parley.Group{}, err
	}
	s.cfg.Active(id)
	return s.View(id)
}

// Invite adds a contact to a group and sends them its keys. Only admins
// may; inviting a member again sends the keys again.
func (s *Groups) Invite(id parley.ConversationID, c parley.Contact) (parley.GroupMember, error) {
	g, err := s.joined(id)
	if err != nil {
		return parley.GroupMember{}, err
	}
	p, err := peer.Decode(c.PeerID)
	if err != nil || len(c.HPKEKey) == 0 || c.State != parley.ContactAccepted {
		return parley.GroupMember{}, fmt.Errorf("%w: %s is not a contact with a known key; add them by invite first", parley.ErrUnknownContact, c.PeerID)
	}
	g.mu.Lock()
	admin, already := g.state.IsAdmin(s.self), g.state.IsMember(p)
	g.mu.Unlock()
	if !admin {
		return parley.GroupMember{}, parley.ErrNotAdmin
	}
	if !already {
		op := &pb.GroupOp{Type: pb.GroupOp_TYPE_ADD, Member: []byte(p), Role: pb.GroupOp_ROLE_MEMBER,
			MemberHpkeKey: c.HPKEKey, MemberName: c.Name}
		if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
			return parley.GroupMember{}, err
		}
	}
	if err := s.sendKeys(g, c, true, nil); err != nil {
		return parley.GroupMember{}, err
	}
	for _, m := range s.members(g) {
		if m.PeerID == c.PeerID {
			return m, nil
		}
	}
	return parley.GroupMember{}, fmt.Errorf("%w: %s was not added (an admin's concurrent change won)", parley.ErrNotMember, c.PeerID)
}

// sendKeys hands c the group's keys: all of them (only), or just one.
func (s *Groups) sendKeys(g *group, c parley.Contact, invite bool, only *identity.SendKey) error {
	g.mu.Lock()
	gk := &pb.GroupKeys{GroupId: g.id[:], Name: g.name(), Invite: invite}
	for kid, k := range g.keys {
		if only == nil || only.ID == kid {
			gk.Keys = append(gk.Keys, &pb.GroupKey{KeyId: k.ID[:], Key: k.Key[:], Hlc: uint64(g.keyHLC[kid])})
		}
	}
	// The newest keys first, so a long history cut at the limit keeps
	// what matters.
	slices.SortFunc(gk.Keys, func(a, b *pb.GroupKey) int { return cmp.Compare(b.Hlc, a.Hlc) })
	gk.Keys = gk.Keys[:min(len(gk.Keys), identity.MaxGroupKeys)]
	for _, m := range g.state.SortedMembers() {
		if len(gk.Members) < identity.MaxGroupMembersHint && m.Peer.String() != c.PeerID {
			gk.Members = append(gk.Members, []byte(m.Peer))
		}
	}
	g.mu.Unlock()
	return s.cfg.SendKeys(c, gk)
}

func (s *Groups) joined(id parley.ConversationID) (*group, error) {
	g, err := s.get(id)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rec.State != parley.GroupJoined {
		return nil, fmt.Errorf("%w: you are not in %q (%s)", parley.ErrNotMember, g.name(), g.rec.State)
	}
	return g, nil
}

// Accept joins a group we were invited to.
func (s *Groups) Accept(id parley.ConversationID) (parley.Group, error) {
	g, err := s.get(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	state := g.rec.State
	g.mu.Unlock()
	switch state {
	case parley.GroupJoined:
		return s.View(id)
	case parley.GroupInvited:
	default:
		return parley.Group{}, fmt.Errorf("%w: no pending invite to this group", parley.ErrNotMember)
	}
	if err := s.setState(g, parley.GroupJoined); err != nil {
		return parley.Group{}, err
	}
	if err := s.join(g); err != nil {
		return parley.Group{}, err
	}
	s.cfg.Active(id)
	s.notifyGroup(id)
	return s.View(id)
}

func (s *Groups) setState(g *group, state parley.GroupState) error {
	rec, err := s.cfg.Store.UpdateGroup(g.id, func(r *storage.Group, _ bool) (bool, error) {
		r.State = state
		return true, nil
	})
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.rec = rec
	g.mu.Unlock()
	return nil
}

// Decline turns an invite down: we leave the group, which its members see.
func (s *Groups) Decline(id parley.ConversationID) error {
	g, err := s.get(id)
	if err != nil {
		return err
	}
	g.mu.Lock()
	state := g.rec.State
	g.mu.Unlock()
	if state != parley.GroupInvited {
		return fmt.Errorf("%w: no pending invite to this group", parley.ErrNotMember)
	}
	return s.leave(g)
}

// Leave leaves a group. The history stays here; nothing new arrives.
func (s *Groups) Leave(id parley.ConversationID) error {
	g, err := s.joined(id)
	if err != nil {
		return err
	}
	return s.leave(g)
}

func (s *Groups) leave(g *group) error {
	// The op is stored first, so the sync that Active starts can hand it
	// to the members even when no one is on the topic now.
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_LEAVE}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return err
	}
	if err := s.setState(g, parley.GroupLeft); err != nil {
		return err
	}
	s.part(g)
	s.cfg.Active(g.id)
	s.notifyGroup(g.id)
	return nil
}

// Remove takes a member out (admins only) and starts a new epoch whose key
// goes to the remaining members alone.
func (s *Groups) Remove(id parley.ConversationID, member peer.ID) error {
	g, err := s.joined(id)
	if err != nil {
		return err
	}
	g.mu.Lock()
	admin, present := g.state.IsAdmin(s.self), g.state.IsMember(member)
	g.mu.Unlock()
	switch {
	case !admin:
		return parley.ErrNotAdmin
	case !present:
		return fmt.Errorf("%w: %s", parley.ErrNotMember, member)
	case member == s.self:
		return fmt.Errorf("%w: to remove yourself, leave the group", parley.ErrMalformed)
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_REMOVE, Member: []byte(member)}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return err
	}
	return s.rekey(g)
}

// Rename renames a group (admins only).
func (s *Groups) Rename(id parley.ConversationID, name string) (parley.Group, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return parley.Group{}, fmt.Errorf("%w: a group needs a name", parley.ErrMalformed)
	}
	if err := identity.CheckName(name); err != nil {
		return parley.Group{}, err
	}
	g, err := s.joined(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	admin := g.state.IsAdmin(s.self)
	g.mu.Unlock()
	if !admin {
		return parley.Group{}, parley.ErrNotAdmin
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_RENAME, Name: name}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return parley.Group{}, err
	}
	return s.View(id)
}

// SetRole makes a member an admin or a plain member (admins only). An
// admin may step down; the last admin may too, leaving a group no one can
// add to.
func (s *Groups) SetRole(id parley.ConversationID, member peer.ID, role parley.Role) (parley.GroupMember, error) {
	var r pb.GroupOp_Role
	switch role {
	case parley.RoleAdmin:
		r = pb.GroupOp_ROLE_ADMIN
	case parley.RoleMember:
		r = pb.GroupOp_ROLE_MEMBER
	default:
		return parley.GroupMember{}, fmt.Errorf("%w: role %q (want admin or member)", parley.ErrMalformed, role)
	}
	g, err := s.joined(id)
	if err != nil {
		return parley.GroupMember{}, err
	}
	g.mu.Lock()
	admin, present := g.state.IsAdmin(s.self), g.state.IsMember(member)
	g.mu.Unlock()
	switch {
	case !admin:
		return parley.GroupMember{}, parley.ErrNotAdmin
	case !present:
		return parley.GroupMember{}, fmt.Errorf("%w: %s", parley.ErrNotMember, member)
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_ROLE, Member: []byte(member), Role: r}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return parley.GroupMember{}, err
	}
	for _, m := range s.members(g) {
		if m.PeerID == member.String() {
			return m, nil
		}
	}
	return parley.GroupMember{}, fmt.Errorf("%w: %s", parley.ErrNotMember, member)
}

// rekey starts a new epoch: a fresh key, kept, then sent to every other
// current member. Messages sealed after it are unreadable to anyone who
// left before.
func (s *Groups) rekey(g *group) error {
	key := identity.NewGroupKey(g.id)
	hlc := s.cfg.Clock.Now()
	if _, err := s.cfg.Store.PutGroupKeys(g.id, []storage.GroupKey{{ID: key.ID, Key: key.Key, HLC: hlc}}); err != nil {
		return err
	}
	g.mu.Lock()
	g.addKey(key, hlc)
	members := g.state.SortedMembers()
	g.mu.Unlock()
	var errs []error
	for _, m := range members {
		if m.Peer == s.self {
			continue
		}
		c := s.contactFor(m)
		if err := s.sendKeys(g, c, false, key); err != nil {
			errs = append(errs, fmt.Errorf("sending the new key to %s: %w", m.Peer, err))
		}
	}
	return errors.Join(errs...)
}

// contactFor is what SendKeys needs to reach a member: our contact record
// when there is one, else the key and name the op that added them carried.
func (s *Groups) contactFor(m *Member) parley.Contact {
	if c, err := s.cfg.Store.Contact(m.Peer.String()); err == nil && len(c.HPKEKey) > 0 {
		return c
	}
	return parley.Contact{PeerID: m.Peer.String(), Name: m.Name, HPKEKey: m.HPKEKey}
}

// Members lists a group's members.
func (s *Groups) Members(id parley.ConversationID) ([]parley.GroupMember, error) {
	g, err := s.get(id)
	if err != nil {
		return nil, err
	}
	return s.members(g), nil
}

func (s *Groups) members(g *group) []parley.GroupMember {
	g.mu.Lock()
	ms := g.state.SortedMembers()
	g.mu.Unlock()
	out := make([]parley.GroupMember, 0, len(ms))
	for _, m := range ms {
		gm := parley.GroupMember{PeerID: m.Peer.String(), Name: m.Name, Role: m.Role, AddedBy: m.AddedBy.String(), Self: m.Peer == s.self}
		if c, err := s.cfg.Store.Contact(gm.PeerID); err == nil && c.Name != "" && (c.State == parley.ContactAccepted || gm.Self) {
			gm.Name = c.Name
		}
		out = append(out, gm)
	}
	return out
}

// MemberPeers lists the peers worth connecting to for a group: its current
// members (but us) and, before we hold the ops, the invite's hints.
func (s *Groups) MemberPeers(id parley.ConversationID) []peer.ID {
	g, err := s.get(id)
	if err != nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []peer.ID
	for p := range g.state.Members {
		if p != s.self {
			out = append(out, p)
		}
	}
	if !g.state.Created {
		for _, h := range append(slices.Clone(g.rec.MemberHints), g.rec.InvitedBy) {
			if p, err := peer.Decode(h); err == nil && p != s.self && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Active lists the groups we are in.
func (s *Groups) Active() []parley.ConversationID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []parley.ConversationID
	for id, g := range s.groups {
		g.mu.Lock()
		if g.rec.State == parley.GroupJoined {
			out = append(out, id)
		}
		g.mu.Unlock()
	}
	return out
}

// MaySync reports whether remote may sync group id with us: it is a
// member now, or, while we are still catching up and do not hold the ops,
// one the invite named.
func (s *Groups) MaySync(id parley.ConversationID, remote peer.ID) bool {
	g, err := s.get(id)
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rec.State == parley.GroupInvited {
		return false
	}
	if g.state.Created {
		return g.state.IsMember(remote)
	}
	return remote.String() == g.rec.InvitedBy || slices.Contains(g.rec.MemberHints, remote.String())
}

// KeyIDs lists the keys we hold for a group.
func (s *Groups) KeyIDs(id parley.ConversationID) ([][identity.KeyIDSize]byte, error) {
	g, err := s.get(id)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([][identity.KeyIDSize]byte, 0, len(g.keys))
	for kid := range g.keys {
		out = append(out, kid)
	}
	return out, nil
}

// Send writes text to a group: stored, then published.
func (s *Groups) Send(id parley.ConversationID, text string) (parley.Message, error) {
	if err := parley.CheckText(text); err != nil {
		return parley.Message{}, err
	}
	g, err := s.joined(id)
	if err != nil {
		return parley.Message{}, err
	}
	g.mu.Lock()
	removed := g.state.Created && !g.state.IsMember(s.self)
	g.mu.Unlock()
	if removed {
		return parley.Message{}, fmt.Errorf("%w: you are no longer in this group", parley.ErrNotMember)
	}
	return s.write(g, &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: text}}})
}

// SendFile offers a file to a group; the files service serves it.
func (s *Groups) SendFile(id parley.ConversationID, offer *pb.FileOffer) (parley.Message, error) {
	g, err := s.joined(id)
	if err != nil {
		return parley.Message{}, err
	}
	g.mu.Lock()
	removed := g.state.Created && !g.state.IsMember(s.self)
	g.mu.Unlock()
	if removed {
		return parley.Message{}, fmt.Errorf("%w: you are no longer in this group", parley.ErrNotMember)
	}
	return s.write(g, &pb.Body{Kind: &pb.Body_FileOffer{FileOffer: offer}})
}

// write seals body under the current key, stores it, applies it (an op)
// and publishes it.
func (s *Groups) write(g *group, body *pb.Body) (parley.Message, error) {
	bodyBytes, err := proto.Marshal(body)
	if err != nil {
		return parley.Message{}, err
	}
	g.mu.Lock()
	key, topic := g.current, g.topic
	g.mu.Unlock()
	if key == nil {
		return parley.Message{}, fmt.Errorf("%w: no key for this group yet", parley.ErrNotMember)
	}
	hlc := s.cfg.Clock.Now()
	env, eid, err := s.cfg.Identity.SealEnvelope(g.id, key, false, hlc, bodyBytes, nil)
	if err != nil {
		return parley.Message{}, err
	}
	msg := parley.Message{ID: eid, Conversation: g.id, From: s.self.String(), Outgoing: true, HLC: hlc, Status: parley.StatusQueued}
	switch b := body.Kind.(type) {
	case *pb.Body_Text:
		msg.Kind, msg.Text = parley.KindText, b.Text.Text
	case *pb.Body_GroupOp:
		msg.Kind = parley.KindGroupOp
	case *pb.Body_FileOffer:
		msg.Kind, msg.Text, msg.FileID = parley.KindFile, b.FileOffer.Name, hex.EncodeToString(b.FileOffer.FileId)
	}
	// Groups have no per-member acknowledgement: "sent" means someone on
	// the topic got it; "queued" that no one was there, and sync will
	// hand it over when a member appears.
	if topic != nil && len(topic.ListPeers()) > 0 {
		msg.Status = parley.StatusSent
	}
	if _, err := s.cfg.Store.PutRecords([]storage.Record{{Message: msg, Envelope: env, Group: true, KeyID: key.ID}}); err != nil {
		return parley.Message{}, err
	}
	if b, ok := body.Kind.(*pb.Body_GroupOp); ok {
		s.applyOp(g, Op{ID: eid, Author: s.self, HLC: hlc, Body: b.GroupOp})
	} else {
		s.cfg.Notify(parley.Event{Type: parley.EventMessage, Message: &msg})
	}
	if topic != nil {
		if err := topic.Publish(s.ctx, env); err != nil {
			s.log.Debug("publishing to a group", "group", g.id, "err", err)
		}
	}
	return msg, nil
}

// Messages lists a group's text messages; markRead marks the incoming
// ones shown as read (here only: groups send no read receipts).
func (s *Groups) Messages(id parley.ConversationID, limit int, markRead bool) ([]parley.Message, error) {
	if _, err := s.get(id); err != nil {
		return nil, err
	}
	msgs, err := s.cfg.Store.Messages(id, limit)
	if err != nil {
		return nil, err
	}
	if !markRead {
		return msgs, nil
	}
	var ids []parley.EnvelopeID
	for _, m := range msgs {
		if !m.Outgoing && m.Status < parley.StatusRead {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) > 0 {
		if _, err := s.cfg.Store.AdvanceStatus(ids, parley.StatusRead); err != nil {
			return nil, err
		}
		for i := range msgs {
			if !msgs[i].Outgoing && msgs[i].Status < parley.StatusRead {
				msgs[i].Status = parley.StatusRead
			}
		}
		s.cfg.Notify(parley.Event{Type: parley.EventRead, Conversation: id})
	}
	return msgs, nil
}

func (s *Groups) notifyGroup(id parley.ConversationID) {
	if v, err := s.View(id); err == nil {
		s.cfg.Notify(parley.Event{Type: parley.EventGroup, Group: &v})
	}
}
