package pubsub

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxMessageSize caps one pubsub message at the RPC layer. It is well
// above identity.MaxEnvelopeSize on purpose: a message between the two
// reaches the topic validator, which rejects it and so lowers the sender's
// score; one above this is dropped unseen with the whole RPC.
const MaxMessageSize = 1 << 20

// Router is the GossipSub router shared by all of a node's groups.
type Router struct {
	ps     *gossipsub.PubSub
	cancel context.CancelFunc // pubsub has no Close: its context is its lifetime

	scoresMu sync.Mutex
	scores   map[peer.ID]float64 // guarded by scoresMu: the latest inspection
}

// NewRouter starts GossipSub on h. Close stops it.
func NewRouter(h host.Host, logger *slog.Logger, extra ...gossipsub.Option) (*Router, error) {
	if logger == nil {
		logger = slog.Default()
	}
	params, thresholds := ScoreParams()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{cancel: cancel}
	opts := []gossipsub.Option{
		// StrictNoSign refuses signed messages; NoAuthor also leaves out
		// the author and sequence number, which StrictNoSign alone keeps.
		gossipsub.WithMessageSignaturePolicy(gossipsub.StrictNoSign),
		gossipsub.WithNoAuthor(),
		gossipsub.WithMessageIdFn(MessageID),
		gossipsub.WithMaxMessageSize(MaxMessageSize),
		// Our own messages go to every peer on the topic (above the
		// publish threshold), not only to the mesh: the mesh takes a
		// heartbeat to include a peer that just arrived, and a message
		// published in that second would reach no one until sync. Groups
		// are small, so the extra copies cost little.
		gossipsub.WithFloodPublish(true),
		// The default queues (32 RPCs per peer, 32 messages waiting for
		// validation) overflow in a busy group on a loaded machine, and
		// what they drop waits for sync; a few hundred cost little memory.
		gossipsub.WithPeerOutboundQueueSize(peerQueueSize),
		gossipsub.WithValidateQueueSize(validateQueueSize),
		gossipsub.WithPeerScore(params, thresholds),
		gossipsub.WithPeerScoreInspect(gossipsub.PeerScoreInspectFn(r.keepScores), scoreInspectPeriod),
		gossipsub.WithLogger(logger.With("service", "gossipsub")),
	}
	ps, err := gossipsub.NewGossipSub(ctx, h, append(opts, extra...)...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gossipsub: %w", err)
	}
	r.ps = ps
	return r, nil
}

// Queue sizes, in RPCs per peer and in messages awaiting validation.
const (
	peerQueueSize     = 256
	validateQueueSize = 512
)

// scoreInspectPeriod is how often Score's figures are refreshed.
const scoreInspectPeriod = 500 * time.Millisecond

func (r *Router) keepScores(scores map[peer.ID]float64) {
	r.scoresMu.Lock()
	defer r.scoresMu.Unlock()
	r.scores = scores
}

// Score is a peer's GossipSub score as last inspected (0 for a peer not
// scored), for diagnostics and tests.
func (r *Router) Score(p peer.ID) float64 {
	r.scoresMu.Lock()
	defer r.scoresMu.Unlock()
	return r.scores[p]
}

// PubSub is the underlying router, for joining topics.
func (r *Router) PubSub() *gossipsub.PubSub { return r.ps }

// Close stops the router and every topic on it.
func (r *Router) Close() error {
	r.cancel()
	return nil
}

// MessageID is the SHA-256 of the message data: with StrictNoSign there is
// no sender or sequence number to build an ID from, and a content hash makes
// the same envelope one message however it arrives.
func MessageID(m *pb.Message) string {
	h := sha256.Sum256(m.Data)
	return string(h[:])
}

// Scoring: the peer-level parameters and the thresholds, written out so
// that nothing depends on library defaults. Each group's topic adds its own
// parameters when it is joined (topicScoreParams, in topic.go).
const (
	scoreDecayInterval  = time.Second
	scoreDecayToZero    = 0.01
	scoreRetain         = 10 * time.Minute
	topicScoreCap       = 100
	ipColocationWeight  = -10 // many peers from one IP: a Sybil hint
	ipColocationMax     = 8   // LANs and NATs put several honest peers on one IP
	behaviourWeight     = -10
	behaviourThreshold  = 2
	behaviourDecay      = 0.9
	gossipThreshold     = -100
	publishThreshold    = -500
	graylistThreshold   = -1000
	acceptPXThreshold   = 10
	opportunisticGraftT = 3
)

// ScoreParams returns GossipSub v1.1 scoring parameters and thresholds.
func ScoreParams() (*gossipsub.PeerScoreParams, *gossipsub.PeerScoreThresholds) {
	params := &gossipsub.PeerScoreParams{
		Topics:                      map[string]*gossipsub.TopicScoreParams{},
		TopicScoreCap:               topicScoreCap,
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    ipColocationWeight,
		IPColocationFactorThreshold: ipColocationMax,
		BehaviourPenaltyWeight:      behaviourWeight,
		BehaviourPenaltyThreshold:   behaviourThreshold,
		BehaviourPenaltyDecay:       behaviourDecay,
		DecayInterval:               scoreDecayInterval,
		DecayToZero:                 scoreDecayToZero,
		RetainScore:                 scoreRetain,
	}
	thresholds := &gossipsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           acceptPXThreshold,
		OpportunisticGraftThreshold: opportunisticGraftT,
	}
	return params, thresholds
}
