package pubsub

import (
	"sync"
	"sync/atomic"
	"time"
)

// The receipt lane: group receipts that arrive on a topic are stored in
// batches, behind messages.
//
// Every member sends each group a receipt envelope per round
// (node/group_receipts.go), and every member stores each one: stored one
// at a time, as the validator stores a message, a group of 10 made each
// member commit (and sync) nine receipt envelopes per round, all within a
// few milliseconds of one another, on the same writer and disk as the
// messages, which then waited behind them (BenchmarkGroupLatency: the p99
// was 4× the durable floor with receipts, 1.4–2.1× without).
//
// So the validator checks a receipt (decrypt, verify, membership), queues
// it here and accepts it, and the lane stores what it holds in one write
// (synced, as any) receiptLinger after the first arrived, once no message
// is being stored, or at the latest receiptMaxWait after the first: the
// lane never starves. A receipt is thus forwarded before it is durable
// here, unlike a message; what a crash loses of the lane is receipts no
// user was shown yet (the event follows the write), which the author
// stored before publishing and sync brings again (PROTOCOL.md §10.3).
const (
	receiptLinger  = 250 * time.Millisecond
	receiptMaxWait = 2 * time.Second
	// maxLaneReceipts bounds the receipts held: beyond it the validator
	// ignores them (neither stored nor forwarded) and sync brings them.
	maxLaneReceipts = 1024
)

type laneItem struct {
	g  *group
	in *incoming
}

// receiptLane holds the receipts waiting to be stored. Groups.laneLoop
// stores them; Groups owns it and flushes it on Close.
type receiptLane struct {
	kick chan struct{} // capacity 1: receipts wait
	// quiet is signalled (capacity 1) when the last message being stored
	// is; storing counts them.
	quiet   chan struct{}
	storing atomic.Int32

	mu     sync.Mutex
	items  []laneItem // guarded by mu
	closed bool       // guarded by mu
}

func newReceiptLane() *receiptLane {
	return &receiptLane{kick: make(chan struct{}, 1), quiet: make(chan struct{}, 1)}
}

// add queues a checked receipt; false: the lane is full or closed.
func (l *receiptLane) add(g *group, in *incoming) bool {
	l.mu.Lock()
	if l.closed || len(l.items) >= maxLaneReceipts {
		l.mu.Unlock()
		return false
	}
	l.items = append(l.items, laneItem{g, in})
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns what waits; closing, it also refuses more.
func (l *receiptLane) take(closing bool) []laneItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	items := l.items
	l.items = nil
	l.closed = l.closed || closing
	return items
}

// messageStoring and messageStored bracket the storing of a message (one
// that arrived on a topic, or one of ours), so that the lane waits for it.
func (l *receiptLane) messageStoring() { l.storing.Add(1) }

func (l *receiptLane) messageStored() {
	if l.storing.Add(-1) == 0 {
		select {
		case l.quiet <- struct{}{}:
		default:
		}
	}
}

// laneLoop stores the lane's receipts until Close, then what is left.
func (s *Groups) laneLoop() {
	defer s.wg.Done()
	l := s.lane
	linger := time.NewTimer(receiptLinger)
	linger.Stop()
	defer linger.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.storeReceipts(l.take(true))
			return
		case <-l.kick:
		}
		first := time.Now()
		linger.Reset(receiptLinger)
		select {
		case <-s.ctx.Done():
			s.storeReceipts(l.take(true))
			return
		case <-linger.C:
		}
		// Behind messages: wait while one is being stored, up to
		// receiptMaxWait after the first receipt came.
		for l.storing.Load() > 0 {
			linger.Reset(max(0, receiptMaxWait-time.Since(first)))
			select {
			case <-s.ctx.Done():
				s.storeReceipts(l.take(true))
				return
			case <-l.quiet:
				linger.Stop()
				continue
			case <-linger.C:
			}
			break
		}
		s.storeReceipts(l.take(false))
	}
}

// storeReceipts stores receipts from the lane, one batch per group (one
// group commit for all of them), and tells the node of the new ones.
func (s *Groups) storeReceipts(items []laneItem) {
	if len(items) == 0 {
		return
	}
	var order []*group
	byGroup := make(map[*group][]*incoming)
	for _, it := range items {
		if byGroup[it.g] == nil {
			order = append(order, it.g)
		}
		byGroup[it.g] = append(byGroup[it.g], it.in)
	}
	var wg sync.WaitGroup
	for _, g := range order {
		// Concurrently, so that the store's writer commits them together.
		wg.Go(func() {
			if _, err := s.keep(g, byGroup[g]); err != nil {
				s.log.Warn("storing group receipts", "group", g.id, "err", err)
			}
		})
	}
	wg.Wait()
}
