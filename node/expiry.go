package node

import (
	"time"

	"github.com/parley-im/parley"
)

// expirySweeper purges disappearing messages when they expire: at start
// (what expired while the node was down), then at each next expiry, and
// whenever a message arrives that may expire sooner (nudge). It is the
// node's goroutine (run), stopped by Close through n.ctx. Purging goes
// through storage's purge for everyone (DB.ExpireDue), so the text, the
// file record and the edits leave the disk as a delete's do.
type expirySweeper struct {
	n   *Node
	now func() time.Time
	// kick wakes run: a message that expires was stored. Capacity 1.
	kick chan struct{}
}

// maxSweepWait bounds the sweeper's sleep: a clock that jumps (a suspended
// laptop) is noticed within it.
const maxSweepWait = time.Hour

// sweepRetry is how soon a failed sweep (a full disk) is tried again.
const sweepRetry = time.Minute

func newExpirySweeper(n *Node, now func() time.Time) *expirySweeper {
	if now == nil {
		now = time.Now
	}
	return &expirySweeper{n: n, now: now, kick: make(chan struct{}, 1)}
}

// nudge makes the sweeper look again at what expires next. It never
// blocks.
func (s *expirySweeper) nudge() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *expirySweeper) run() {
	defer s.n.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case <-timer.C:
		case <-s.kick:
		}
		timer.Reset(s.sweep())
	}
}

// sweep purges what is due and says how long to wait for the next.
func (s *expirySweeper) sweep() time.Duration {
	n := s.n
	for {
		now := s.now()
		gone, err := n.store.ExpireDue(now)
		if err != nil {
			n.log.Warn("purging disappearing messages", "err", err)
			return sweepRetry
		}
		for _, m := range gone {
			if m.Kind == parley.KindFile && m.FileID != "" {
				if err := n.files.Forget(m.FileID); err != nil {
					n.log.Warn("purging a disappearing file", "file", m.FileID, "err", err)
				}
			}
			shell := parley.Message{ID: m.ID, Conversation: m.Conversation, From: m.From, To: m.To, Outgoing: m.Outgoing,
				Kind: m.Kind, HLC: m.HLC, Status: m.Status, Deleted: true, Timer: m.Timer}
			n.hub.publish(parley.Event{Type: parley.EventExpired, Message: &shell})
		}
		next, ok, err := n.store.NextExpiry()
		switch {
		case err != nil:
			n.log.Warn("reading the next expiry", "err", err)
			return sweepRetry
		case !ok:
			return maxSweepWait
		case next.After(now):
			return min(next.Sub(now), maxSweepWait)
		}
		if n.ctx.Err() != nil {
			return maxSweepWait
		}
	}
}
