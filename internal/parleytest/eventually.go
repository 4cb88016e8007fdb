package parleytest

import (
	"testing"
	"time"
)

// Patience is how long Eventually waits: generous, for a loaded machine
// running several nodes under -race.
const Patience = time.Minute

// pollInterval is how often a condition is checked again.
const pollInterval = 20 * time.Millisecond

// Eventually polls cond until it holds, failing the test if Patience
// passes first. what names the condition in the failure.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, Patience, what, cond)
}

// EventuallyWithin is Eventually with a deadline of its own.
func EventuallyWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", what)
		}
	}
}
