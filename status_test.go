package parley_test

import (
	"testing"

	"github.com/parley-im/parley"
)

// TestStatusStored: stored keeps its number on disk (after failed), its
// name in JSON, and its place between sent and delivered.
func TestStatusStored(t *testing.T) {
	if parley.StatusStored != 5 {
		t.Fatalf("StatusStored = %d: stored statuses are bytes on disk, never renumbered", parley.StatusStored)
	}
	b, err := parley.StatusStored.MarshalText()
	if err != nil || string(b) != "stored" {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	var s parley.Status
	if err := s.UnmarshalText([]byte("stored")); err != nil || s != parley.StatusStored {
		t.Fatalf("UnmarshalText(stored) = %v, %v", s, err)
	}
	order := []parley.Status{parley.StatusQueued, parley.StatusSent, parley.StatusStored, parley.StatusDelivered, parley.StatusRead}
	for i := 1; i < len(order); i++ {
		if order[i-1].Rank() >= order[i].Rank() {
			t.Errorf("%s does not rank below %s", order[i-1], order[i])
		}
	}
	if parley.StatusFailed.Rank() >= 0 || parley.Status(99).Rank() >= 0 {
		t.Error("failed and unknown statuses rank on the line")
	}
}
