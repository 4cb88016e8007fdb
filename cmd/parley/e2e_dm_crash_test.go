package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// A sender killed with SIGKILL while acks arrive (it shows "delivered" as
// an ack comes and writes it with the store's next commit) shows every
// message delivered again after it restarts: one whose write the kill beat
// is queued again and pushed again, and the recipient keeps one copy.
func TestKill9WhileAcksArriveLosesNoDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)

	const n = 10
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("racing the acks #%d", i)
		alice.CLI("send", "bob", texts[i])
	}
	parleytest.Eventually(t, "the first delivered", func() bool {
		return slices.ContainsFunc(alice.Messages("bob"), func(m parleytest.CLIMessage) bool { return m.Status == "delivered" })
	})
	alice.Kill9()
	alice.Start()
	parleytest.Eventually(t, "every message delivered after the restart", func() bool {
		ms := alice.Messages("bob")
		for _, text := range texts {
			if i := slices.IndexFunc(ms, func(m parleytest.CLIMessage) bool { return m.Text == text }); i < 0 || ms[i].Status == "queued" {
				return false
			}
		}
		return true
	})
	got := bob.Messages("alice")
	for _, text := range texts {
		if c := parleytest.Count(got, text); c != 1 {
			t.Errorf("bob holds %q %d times, want once", text, c)
		}
	}
}
