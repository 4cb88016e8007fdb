package node

import (
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
