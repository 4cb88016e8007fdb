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
	// reclaimDue: messages were purged since the last Reclaim, which
	// rewrites the store's files (value-log GC) and so runs at most every
	// reclaimEvery; lastReclaim is when it last ran. Owned by run.
	reclaimDue  bool
	lastReclaim time.Time
}

// reclaimEvery spaces the store rewrites that follow expiries: a busy
// conversation with a short timer expires a message every few seconds,
// and each purge already drops its keys' every version from the tables.
const reclaimEvery = 5 * time.Minute

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
		timer.Reset(min(s.sweep(), s.reclaim()))
	}
}

// reclaim rewrites the store's files if messages expired since it last
// did and reclaimEvery has passed; it says how long until it may run
// again (maxSweepWait when nothing waits for it).
func (s *expirySweeper) reclaim() time.Duration {
	if !s.reclaimDue {
		return maxSweepWait
	}
	if wait := reclaimEvery - time.Since(s.lastReclaim); wait > 0 {
		return wait
	}
	if err := s.n.store.Reclaim(); err != nil {
		s.n.log.Warn("rewriting the store after messages expired", "err", err)
	}
	s.reclaimDue, s.lastReclaim = false, time.Now()
	return maxSweepWait
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
		s.reclaimDue = s.reclaimDue || len(gone) > 0
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
