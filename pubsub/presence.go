package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Group typing (PROTOCOL.md §10.1) travels on a topic of its own beside
// each group's message topic, never on the message topic: nodes that
// predate it parse whatever comes on the message topic as an envelope,
// reject what does not parse, and score its forwarder down (-10 each, ten
// in a row graylist), so typing there would cut its authors off from
// older members. On a separate topic older nodes never see it, and what
// arrives there never reaches ingest, the store or sync.

// PresenceTopicName is a group's typing topic: another hash of the group
// ID, unlinkable to the message topic.
func PresenceTopicName(group parley.ConversationID) string {
	return "/parley/group-presence/1/" + hashHex("parley/group-presence-topic/v1\x00", group)
}

// typingWindow: a typing message dated further than this from our clock is
// dropped (a replay, or a clock far off): it would show a stale "typing".
const typingWindow = 30 * time.Second

// Receive limit on typing, per author (whoever forwards it): a member
// within the protocol sends one per group every 3 s.
const (
	typingRate  = 2 // messages per second
	typingBurst = 10
)

// typingTopic is a group's typing topic, joined.
type typingTopic struct {
	topic *gossipsub.Topic
	sub   *gossipsub.Subscription
	stop  context.CancelFunc
	done  chan struct{}
}

// joinTyping joins the group's typing topic, when Config.OnTyping is set.
// A failure is logged: the group works without typing.
func (s *Groups) joinTyping(g *group) {
	if s.cfg.OnTyping == nil {
		return
	}
	name := PresenceTopicName(g.id)
	ps := s.cfg.Router.PubSub()
	if err := ps.RegisterTopicValidator(name, s.typingValidator(g)); err != nil {
		s.log.Warn("group typing is off for a group", "group", g.id, "err", err)
		return
	}
	topic, err := ps.Join(name)
	if err != nil {
		_ = ps.UnregisterTopicValidator(name)
		s.log.Warn("group typing is off for a group", "group", g.id, "err", err)
		return
	}
	// Scored like the message topic, except that invalid messages cost
	// half: a typing message is worth less than an envelope.
	params := topicScoreParams()
	params.InvalidMessageDeliveriesWeight = invalidWeight / 2
	if err := topic.SetScoreParams(params); err != nil {
		s.log.Debug("scoring a group's typing topic", "group", g.id, "err", err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		_ = topic.Close()
		_ = ps.UnregisterTopicValidator(name)
		s.log.Warn("group typing is off for a group", "group", g.id, "err", err)
		return
	}
	ctx, stop := context.WithCancel(s.ctx)
	tt := &typingTopic{topic: topic, sub: sub, stop: stop, done: make(chan struct{})}
	g.mu.Lock()
	g.typing = tt
	g.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(tt.done)
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
}

// partTyping leaves the group's typing topic, if joined.
func (s *Groups) partTyping(g *group) {
	g.mu.Lock()
	tt := g.typing
	g.typing = nil
	g.mu.Unlock()
	if tt == nil {
		return
	}
	tt.stop()
	<-tt.done
	tt.sub.Cancel()
	_ = tt.topic.Close()
	_ = s.cfg.Router.PubSub().UnregisterTopicValidator(PresenceTopicName(g.id))
}

// errNoTypingTopic: the group's typing topic is not joined (typing is off
// here, or joining failed).
var errNoTypingTopic = errors.New("pubsub: group typing is not available for this group")

// PublishTyping tells the group's members that we are typing (active) or
// stopped. Nothing is stored; members not on the topic now never learn it.
func (s *Groups) PublishTyping(ctx context.Context, id parley.ConversationID, active bool) error {
	g, err := s.writable(id)
	if err != nil {
		return err
	}
	g.mu.Lock()
	key, tt := g.current, g.typing
	g.mu.Unlock()
	if tt == nil {
		return errNoTypingTopic
	}
	if key == nil {
		return fmt.Errorf("%w: no key for this group yet", parley.ErrNotMember)
	}
	raw, err := s.cfg.Identity.SealGroupTyping(id, key, active, time.Now())
	if err != nil {
		return err
	}
	return tt.topic.Publish(ctx, raw)
}

// typingValidator judges what arrives on a group's typing topic and hands
// what is good to Config.OnTyping. Accepted messages are forwarded (a
// member may reach others only through us); rejected ones are a sender's
// fault (malformed, forged, from outside the group); ignored ones are no
// one's provable fault (a key we lack yet, a clock off, a flood).
func (s *Groups) typingValidator(g *group) gossipsub.ValidatorEx {
	limits := &peerLimiters{}
	return func(_ context.Context, from peer.ID, msg *gossipsub.Message) gossipsub.ValidationResult {
		if from == s.self {
			return gossipsub.ValidationAccept
		}
		if !s.limits.allow(from) {
			return gossipsub.ValidationIgnore
		}
		keyID, err := identity.GroupTypingKeyID(msg.Data)
		if err != nil {
			s.log.Debug("rejected a group typing message", "group", g.id, "from", from, "err", err)
			return gossipsub.ValidationReject
		}
		g.mu.Lock()
		key := g.keys[keyID]
		g.mu.Unlock()
		if key == nil {
			return gossipsub.ValidationIgnore
		}
		t, err := identity.OpenGroupTyping(msg.Data, g.id, key)
		if err != nil {
			s.log.Debug("rejected a group typing message", "group", g.id, "from", from, "err", err)
			return gossipsub.ValidationReject
		}
		if t.Sender == s.self {
			return gossipsub.ValidationIgnore // ours, come back around
		}
		g.mu.Lock()
		member := g.state.IsMember(t.Sender)
		g.mu.Unlock()
		if !member {
			s.log.Debug("rejected a group typing message from a non-member", "group", g.id, "from", from, "author", t.Sender)
			return gossipsub.ValidationReject
		}
		if d := time.Since(t.Sent); d > typingWindow || d < -typingWindow {
			return gossipsub.ValidationIgnore
		}
		if !limits.allowAt(t.Sender, typingRate, typingBurst) {
			return gossipsub.ValidationIgnore
		}
		s.cfg.OnTyping(g.id, t.Sender, t.Active)
		return gossipsub.ValidationAccept
	}
}

// allowAt is allow with a rate of its own: r per second, burst b.
func (l *peerLimiters) allowAt(p peer.ID, r rate.Limit, b int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[p]
	if lim == nil {
		if l.m == nil || len(l.m) >= maxLimiters {
			l.m = make(map[peer.ID]*rate.Limiter)
		}
		lim = rate.NewLimiter(r, b)
		l.m[p] = lim
	}
	return lim.Allow()
}

// TypingPeers is how many peers we see on the group's typing topic (0 when
// not joined): diagnostics, and tests that wait for the mesh.
func (s *Groups) TypingPeers(id parley.ConversationID) int {
	g, err := s.get(id)
	if err != nil {
		return 0
	}
	g.mu.Lock()
	tt := g.typing
	g.mu.Unlock()
	if tt == nil {
		return 0
	}
	return len(tt.topic.ListPeers())
}
