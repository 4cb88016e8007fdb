package node

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

// A large group's receipts go out less often than a small one's, so that
// the group's receipt envelopes (each stored by every member) stay about
// receiptGroupUnit per delay; stopping still sends everything.
func TestReceiptsToALargeGroupAreSpacedOut(t *testing.T) {
	const delay = 2 * time.Second
	small, large := parley.ConversationID{1}, parley.ConversationID{2}
	members := map[parley.ConversationID]int{small: 5, large: 50}
	b := newReceiptBatcher(delay, false)
	b.spacing = func(conv parley.ConversationID) time.Duration { return receiptSpacing(delay, members[conv]) }
	if got := receiptSpacing(delay, 50); got != 5*delay {
		t.Fatalf("spacing for 50 members = %v, want %v", got, 5*delay)
	}

	start := time.Now()
	b.add(small, []parley.EnvelopeID{{1}}, false)
	b.add(large, []parley.EnvelopeID{{2}}, false)
	if got := b.take(start, false); len(got) != 2 {
		t.Fatalf("first round: receipts for %d groups, want both", len(got))
	}

	later := start.Add(delay)
	b.add(small, []parley.EnvelopeID{{3}}, false)
	b.add(large, []parley.EnvelopeID{{4}}, false)
	got := b.take(later, false)
	if _, ok := got[small]; !ok || len(got) != 1 {
		t.Fatalf("one delay later: receipts for %v, want the small group's only", got)
	}
	if !b.more() {
		t.Fatal("the large group's receipt was dropped, not held")
	}
	if got := b.take(start.Add(5*delay), false); len(got[large][0]) != 1 || got[large][0][0] != (parley.EnvelopeID{4}) {
		t.Fatalf("after the large group's spacing: %v, want its held receipt", got)
	}

	b.add(large, []parley.EnvelopeID{{5}}, false)
	if got := b.take(start.Add(5*delay+time.Millisecond), true); len(got[large][0]) != 1 {
		t.Fatalf("taking everything (as the node stops): %v, want the large group's receipt", got)
	}
	if b.more() {
		t.Fatal("receipts still waiting after taking everything")
	}
}

// Receipts that fail to go for a reason that may pass (here a full disk)
// go in the group's next round; those for a group we are no longer in are
// dropped, and so is everything as the node stops.
func TestReceiptsThatFailedToGoGoLater(t *testing.T) {
	kept, left := parley.ConversationID{1}, parley.ConversationID{2}
	b := newReceiptBatcher(time.Second, false)
	b.add(kept, []parley.EnvelopeID{{1}}, false)
	b.add(kept, []parley.EnvelopeID{{2}}, true)
	b.add(left, []parley.EnvelopeID{{3}}, false)
	failing := func(conv parley.ConversationID, delivered, read []parley.EnvelopeID) error {
		if conv == left {
			return fmt.Errorf("%w: you are not in it", parley.ErrNotMember)
		}
		return &parley.DiskFullError{}
	}
	now := time.Now()
	b.send(now, false, failing)

	sent := make(map[parley.ConversationID][2][]parley.EnvelopeID)
	succeeding := func(conv parley.ConversationID, delivered, read []parley.EnvelopeID) error {
		sent[conv] = [2][]parley.EnvelopeID{delivered, read}
		return nil
	}
	b.send(now.Add(time.Second), false, succeeding)
	want := [2][]parley.EnvelopeID{{{1}}, {{2}}}
	if got, ok := sent[kept]; !ok || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Fatalf("the next round sent %v for the group, want delivered %v and read %v again", got, want[0], want[1])
	}
	if _, ok := sent[left]; ok || b.more() {
		t.Fatalf("receipts for a group we left were kept: sent %v, more waiting %v", sent, b.more())
	}

	b.add(kept, []parley.EnvelopeID{{4}}, false)
	b.send(now.Add(2*time.Second), true, failing)
	if b.more() {
		t.Fatal("stopping kept receipts that failed: it would never end")
	}
}
