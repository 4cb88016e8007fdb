package parley_test

import (
	"testing"
	"time"

	"github.com/parley-im/parley"
)

func TestClockNeverGoesBack(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	c := parley.NewClock(func() time.Time { return now })
	a := c.Now()
	now = now.Add(-time.Second) // the wall clock jumps back
	b := c.Now()
	if b <= a {
		t.Fatalf("clock went back: %d then %d", a, b)
	}
	c.Observe(b + 100)
	if got := c.Now(); got <= b+100 {
		t.Fatalf("Now after Observe = %d, want > %d", got, b+100)
	}
	far := parley.NewHLC(now.Add(parley.MaxClockSkew+time.Hour), 0)
	c.Observe(far)
	if got := c.Now(); got >= far {
		t.Fatal("a timestamp far in the future dragged the clock along")
	}
}

func TestDMConversationIDIsSymmetric(t *testing.T) {
	if parley.DMConversationID("a", "b") != parley.DMConversationID("b", "a") {
		t.Fatal("DM conversation ID depends on argument order")
	}
	if parley.DMConversationID("a", "b") == parley.DMConversationID("a", "c") {
		t.Fatal("different pairs share a conversation ID")
	}
}
