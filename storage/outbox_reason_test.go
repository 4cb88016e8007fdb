package storage

import (
	"strings"
	"testing"

	parley "github.com/parley-im/parley"
)

// TestQueuedReason: a reason is kept for each of a peer's queued entries
// that no mailbox holds, survives a restart, and goes once the entry is
// deposited or leaves the outbox; a long one is cut.
func TestQueuedReason(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	a, b, c := queued(bob, 1), queued(bob, 2), queued(bob, 3)
	put(t, db, a, b, c)
	aID, bID, cID := recIDs(a)[0], recIDs(b)[0], recIDs(c)[0]
	if _, err := db.MarkDeposited(bob, []parley.EnvelopeID{cID}); err != nil {
		t.Fatal(err)
	}
	reason := func(id parley.EnvelopeID) string {
		t.Helper()
		r, err := db.QueuedReason(id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := reason(aID); r != "" {
		t.Fatalf("reason before any: %q", r)
	}
	if err := db.SetQueuedReason(bob, "recipient offline"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetQueuedReason(bob, "mailbox full"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	if ra, rb, rc := reason(aID), reason(bID), reason(cID); ra != "mailbox full" || rb != "mailbox full" || rc != "" {
		t.Fatalf("reasons after a restart: %q, %q, %q; want the latest for the two in no mailbox", ra, rb, rc)
	}
	if _, err := db.MarkDeposited(bob, []parley.EnvelopeID{aID}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RemoveFromOutbox(bob, []parley.EnvelopeID{bID}, parley.StatusDelivered); err != nil {
		t.Fatal(err)
	}
	if ra, rb := reason(aID), reason(bID); ra != "" || rb != "" {
		t.Fatalf("reasons once stored and delivered: %q, %q; want none", ra, rb)
	}
	d := queued(bob, 4)
	put(t, db, d)
	if err := db.SetQueuedReason(bob, "delivery failed: "+strings.Repeat("é", MaxQueuedReason)); err != nil {
		t.Fatal(err)
	}
	if r := reason(recIDs(d)[0]); len(r) > MaxQueuedReason || !strings.HasPrefix(r, "delivery failed: ") || !strings.HasSuffix(r, "é") {
		t.Fatalf("a long reason kept as %d bytes %q", len(r), r)
	}
	if err := db.SetQueuedReason("", "x"); err == nil {
		t.Fatal("an empty peer ID: no error")
	}
}
