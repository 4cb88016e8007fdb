package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

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
	// WriteRefused, when set, refuses every envelope this node would
	// write, before anything is stored: a linked device, until writing from
	// one is built (parley.ErrLinkedDeviceWrite).
	WriteRefused error
	// SendKeys hands group keys to one member over the DM protocol. It
	// returns once they are queued durably.
	SendKeys func(to parley.Contact, keys *pb.GroupKeys) error
	// Notify receives events (group changes, messages). It must not block.
	Notify func(parley.Event)
	// OnFileOffer takes a file a member offered, once its envelope is
	// stored (the files service). Optional. An error is a local failure.
	OnFileOffer func(group parley.ConversationID, msg parley.EnvelopeID, from peer.ID, offer *pb.FileOffer) error
	// Judge refuses a member's edit, delete or reaction that its author
	// may not make (an edit of another's message): the envelope is
	// rejected. Optional: all are taken. Called without any group lock.
	Judge func(parley.Message) error
	// Timer is a group's disappearing-messages timer in seconds (0: off),
	// which each text and file written carries. Optional: none.
	Timer func(parley.ConversationID) uint32
	// OnMailboxGrant takes a member's mailbox grant to the group (ours
	// too), once its envelope is stored. Optional. An error is a local
	// failure.
	OnMailboxGrant func(group parley.ConversationID, from peer.ID, msg parley.Message, grant *pb.GroupMailboxGrant) error
	// OnEpoch is told that we hold new keys of a group (maybe a new
	// epoch). Optional; it must not block.
	OnEpoch func(group parley.ConversationID)
	// Active is told when a group becomes active here (created, accepted,
	// loaded at start) and when we leave one, so that the node finds the
	// members and syncs with them.
	Active func(group parley.ConversationID)
	Logger *slog.Logger
	// OnTyping is told that a member is typing (active) in a group, or
	// stopped (presence.go). Optional: nil joins no typing topics.
	OnTyping func(group parley.ConversationID, from peer.ID, active bool)
	// Hidden reports whether a member's messages are hidden from the user
	// (a peer the user blocked): stored and synced like any, never listed
	// (storage.Record.Hidden). Optional: none are.
	Hidden func(author peer.ID) bool
}

// Groups runs a node's group chats: it keeps each group's keys, ops and
// membership, publishes and validates envelopes on the group's topic, and
// stores what arrives (from the topic or from sync through Ingest).
type Groups struct {
	cfg    Config
	self   peer.ID
	log    *slog.Logger
	limits peerLimiters
	lane   *receiptLane

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
	newKey  chan struct{}     // closed when current changes; nil until someone waits
	topic   *gossipsub.Topic  // nil unless joined
	sub     *gossipsub.Subscription
	stop    context.CancelFunc // ends the subscription's reader
	// readerDone is closed when the reader has returned.
	readerDone chan struct{}
	// held: keys from peers not (yet) known as admins, by sender; in
	// memory only, bounded (holdKeys).
	held map[peer.ID][]storage.GroupKey
	// typing is the group's typing topic; nil unless joined (presence.go).
	typing *typingTopic
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
	if cfg.Judge == nil {
		cfg.Judge = func(parley.Message) error { return nil }
	}
	if cfg.Hidden == nil {
		cfg.Hidden = func(peer.ID) bool { return false }
	}
	if cfg.Timer == nil {
		cfg.Timer = func(parley.ConversationID) uint32 { return 0 }
	}
	if cfg.OnFileOffer == nil {
		cfg.OnFileOffer = func(parley.ConversationID, parley.EnvelopeID, peer.ID, *pb.FileOffer) error { return nil }
	}
	if cfg.OnMailboxGrant == nil {
		cfg.OnMailboxGrant = func(parley.ConversationID, peer.ID, parley.Message, *pb.GroupMailboxGrant) error { return nil }
	}
	if cfg.OnEpoch == nil {
		cfg.OnEpoch = func(parley.ConversationID) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Groups{
		cfg:    cfg,
		self:   cfg.Host.ID(),
		log:    cfg.Logger.With("service", "groups"),
		ctx:    ctx,
		cancel: cancel,
		groups: make(map[parley.ConversationID]*group),
		lane:   newReceiptLane(),
	}
	s.wg.Add(1)
	go s.laneLoop()
	recs, err := cfg.Store.Groups()
	if err != nil {
		s.Close()
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
		if g.newKey != nil {
			close(g.newKey)
			g.newKey = nil
		}
	}
}

// sealingKey returns the key to seal with now and the topic (nil unless
// joined).
func (g *group) sealingKey() (*identity.SendKey, *gossipsub.Topic, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil {
		return nil, nil, fmt.Errorf("%w: no key for this group yet", parley.ErrNotMember)
	}
	return g.current, g.topic, nil
}

// staleKey reports whether the current key's epoch began before someone
// left, so that whoever left could read what it seals, while an admin is
// there to start a new epoch; then newKeyCh is closed when a newer key
// comes. Call with g.mu held.
func (g *group) staleKey() (stale bool, newKeyCh <-chan struct{}) {
	if g.current == nil || g.state.LastDeparture <= g.keyHLC[g.current.ID] || !g.state.HasAdmin() {
		return false, nil
	}
	if g.newKey == nil {
		g.newKey = make(chan struct{})
	}
	return true, g.newKey
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

// get finds a group we know of, in any state (parley.ErrUnknownGroup).
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

// joined finds a group we are in (parley.ErrNotMember for one we were
// invited to, left or were removed from).
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
