package pubsub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/parley-im/parley"
)

// TopicName is a group's GossipSub topic: a hash of the group ID, so that
// peers relaying the topic learn neither the group's name nor its ID.
func TopicName(group parley.ConversationID) string {
	return "/parley/group/1/" + hashHex("parley/group-topic/v1\x00", group)
}

// RendezvousKey is what members advertise in the DHT to find each other:
// another hash of the group ID, unlinkable to the topic name.
func RendezvousKey(group parley.ConversationID) string {
	return "/parley/group-rendezvous/1/" + hashHex("parley/group-rendezvous/v1\x00", group)
}

func hashHex(prefix string, group parley.ConversationID) string {
	h := sha256.New()
	h.Write([]byte(prefix))
	h.Write(group[:])
	return hex.EncodeToString(h.Sum(nil))
}

// Topic scoring (P1, P2 and P4 of GossipSub v1.1). Mesh delivery penalties
// (P3, P3b) stay off: in a small group a quiet mesh peer is normal, not a
// fault. P4 is the square of a counter that decays by invalidDecay each
// second, times invalidWeight: a stray invalid message (a member whose
// group key had not yet arrived) costs -10 and fades in seconds, ten in a
// row cross the graylist threshold.
const (
	topicWeight        = 1
	timeInMeshWeight   = 0.01
	timeInMeshQuantum  = time.Second
	timeInMeshCap      = 3600
	firstDeliveryW     = 1
	firstDeliveryDecay = 0.5
	firstDeliveryCap   = 10
	invalidWeight      = -10
	invalidDecay       = 0.9
)

func topicScoreParams() *gossipsub.TopicScoreParams {
	return &gossipsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    topicWeight,
		TimeInMeshWeight:               timeInMeshWeight,
		TimeInMeshQuantum:              timeInMeshQuantum,
		TimeInMeshCap:                  timeInMeshCap,
		FirstMessageDeliveriesWeight:   firstDeliveryW,
		FirstMessageDeliveriesDecay:    firstDeliveryDecay,
		FirstMessageDeliveriesCap:      firstDeliveryCap,
		InvalidMessageDeliveriesWeight: invalidWeight,
		InvalidMessageDeliveriesDecay:  invalidDecay,
	}
}

// Per-peer rate limit on what a peer forwards to us, before any decryption:
// a flood costs the flooder, not our CPU. Generous, because one mesh peer
// may forward a whole busy group, and GossipSub marks a message seen before
// validating it: what exceeds the limit is ignored (not scored) and reaches
// us only through sync.
const (
	peerRate  = 2000 // messages per second
	peerBurst = 10000
	// maxLimiters bounds the limiter table; past it, it starts over.
	maxLimiters = 4096
)

type peerLimiters struct {
	mu sync.Mutex
	m  map[peer.ID]*rate.Limiter // guarded by mu
}

func (l *peerLimiters) allow(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[p]
	if lim == nil {
		if l.m == nil || len(l.m) >= maxLimiters {
			l.m = make(map[peer.ID]*rate.Limiter)
		}
		lim = rate.NewLimiter(peerRate, peerBurst)
		l.m[p] = lim
	}
	return lim.Allow()
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
	s.joinTyping(g)
	return nil
}

// part leaves the group's topic, if joined.
func (s *Groups) part(g *group) {
	s.partTyping(g)
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
