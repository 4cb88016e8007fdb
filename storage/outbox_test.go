package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	parley "github.com/parley-im/parley"
)

func queued(peer string, hlc parley.HLC) Record {
	r := text(peer, true, hlc, "queued")
	r.QueueTo = peer
	return r
}

func TestOutbox(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)

	// Queue order is not HLC order: the outbox keeps the order of queueing.
	b1, c1, b2, b3, c2 := queued(bob, 50), queued(carol, 1), queued(bob, 10), queued(bob, 40), queued(carol, 2)
	put(t, db, b1, c1)
	put(t, db, b2)
	put(t, db, b3, c2)

	check := func(db *DB, peer string, want ...Record) {
		t.Helper()
		got, err := db.Outbox(peer, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalIDs(t, "Outbox("+peer+")", entryIDs(got), recIDs(want...))
		for i, e := range got {
			if !bytes.Equal(e.Envelope, want[i].Envelope) {
				t.Fatalf("entry %d: envelope differs", i)
			}
		}
		if n, err := db.OutboxLen(peer); n != len(want) || err != nil {
			t.Fatalf("OutboxLen(%s) = %d, %v; want %d", peer, n, err, len(want))
		}
	}
	check(db, bob, b1, b2, b3)
	check(db, carol, c1, c2)
	first, _ := db.Outbox(bob, 2)
	equalIDs(t, "Outbox(bob, 2)", entryIDs(first), recIDs(b1, b2))
	peers, err := db.OutboxPeers()
	if err != nil || !slices.Equal(peers, []string{bob, carol}) {
		t.Fatalf("OutboxPeers = %v, %v", peers, err)
	}

	// Order survives a restart, and new entries go after the old ones.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	check(db, bob, b1, b2, b3)
	b4 := queued(bob, 1)
	put(t, db, b4)
	check(db, bob, b1, b2, b3, b4)

	// An ack removes entries and marks them delivered; IDs not in this
	// peer's outbox (carol's, unknown) are ignored.
	changed, err := db.RemoveFromOutbox(bob, []parley.EnvelopeID{b2.Message.ID, c1.Message.ID, {7}}, parley.StatusDelivered)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "changed", ids(changed), recIDs(b2))
	if changed[0].Status != parley.StatusDelivered {
		t.Fatalf("status = %v", changed[0].Status)
	}
	check(db, bob, b1, b3, b4)
	check(db, carol, c1, c2)

	// A refusal marks them failed.
	changed, err = db.RemoveFromOutbox(carol, recIDs(c1, c2), parley.StatusFailed)
	if err != nil || len(changed) != 2 || changed[0].Status != parley.StatusFailed {
		t.Fatalf("RemoveFromOutbox(failed) = %+v, %v", changed, err)
	}
	check(db, carol)
	peers, _ = db.OutboxPeers()
	if !slices.Equal(peers, []string{bob}) {
		t.Fatalf("OutboxPeers = %v, want [bob]", peers)
	}

	// Removing an entry whose message already moved past the new status
	// still removes it, and reports no status change.
	if _, err := db.AdvanceStatus(recIDs(b1), parley.StatusRead); err != nil {
		t.Fatal(err)
	}
	changed, err = db.RemoveFromOutbox(bob, recIDs(b1), parley.StatusDelivered)
	if err != nil || len(changed) != 0 {
		t.Fatalf("RemoveFromOutbox = %+v, %v; want no change", changed, err)
	}
	check(db, bob, b3, b4)
}

func TestOutboxRejectsBadPeer(t *testing.T) {
	db := openTemp(t)
	for _, peer := range []string{"", "a\x00b"} {
		if _, err := db.Outbox(peer, 0); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("Outbox(%q): %v", peer, err)
		}
		if _, err := db.RemoveFromOutbox(peer, nil, parley.StatusDelivered); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("RemoveFromOutbox(%q): %v", peer, err)
		}
	}
}

// Reads of an outbox start past the entries removed (outboxFloors): what
// is left, and what is queued after, still comes in order, on every read
// and after reopening.
func TestOutboxAfterRemovals(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	var recs []Record
	for i := range 5 {
		recs = append(recs, queued(bob, parley.HLC(i+1)))
	}
	put(t, db, recs...)
	put(t, db, queued(carol, 1))
	want := func(when string, rs ...Record) {
		t.Helper()
		out, err := db.Outbox(bob, 0)
		if err != nil {
			t.Fatal(err)
		}
		equalIDs(t, when, entryIDs(out), recIDs(rs...))
		if n, err := db.OutboxLen(carol); err != nil || n != 1 {
			t.Fatalf("%s: carol's outbox %d, %v", when, n, err)
		}
	}
	remove := func(rs ...Record) {
		t.Helper()
		if _, err := db.RemoveFromOutbox(bob, recIDs(rs...), parley.StatusDelivered); err != nil {
			t.Fatal(err)
		}
	}
	want("queued", recs...)
	remove(recs[0], recs[1])
	want("the first two removed", recs[2:]...)
	remove(recs[3]) // out of order: a refusal, say
	want("the fourth removed", recs[2], recs[4])
	later := []Record{queued(bob, 6), queued(bob, 7)}
	put(t, db, later...)
	want("two more queued", recs[2], recs[4], later[0], later[1])
	remove(recs[2], recs[4], later[0], later[1])
	want("all removed")
	last := queued(bob, 8)
	put(t, db, last)
	want("queued after all were removed", last)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	want("after reopening", last)
}

// More envelopes queued than the cache of just-queued ones holds: the
// outbox still gives each its own bytes, from the cache or the store.
func TestOutboxEnvelopesPastTheCache(t *testing.T) {
	db := openAt(t, t.TempDir(), newKey(t))
	var recs []Record
	for i := range maxQueuedEnvelopes + 10 {
		r := queued(bob, parley.HLC(i+1))
		r.Envelope = []byte(fmt.Sprintf("envelope %d", i))
		recs = append(recs, r)
	}
	put(t, db, recs...)
	out, err := db.Outbox(bob, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(recs) {
		t.Fatalf("%d entries, want %d", len(out), len(recs))
	}
	for i, e := range out {
		if e.ID != recs[i].Message.ID || !bytes.Equal(e.Envelope, recs[i].Envelope) {
			t.Fatalf("entry %d: %s %q, want %s %q", i, e.ID, e.Envelope, recs[i].Message.ID, recs[i].Envelope)
		}
	}
}

// TestDropOutbox: a peer's outbox empties, its messages keep their status,
// and other peers' outboxes stay.
func TestDropOutbox(t *testing.T) {
	db := openAt(t, t.TempDir(), newKey(t))
	b1, b2, c1 := queued(bob, 1), queued(bob, 2), queued(carol, 3)
	put(t, db, b1, b2, c1)
	if n, err := db.DropOutbox(bob); n != 2 || err != nil {
		t.Fatalf("DropOutbox(bob) = %d, %v; want 2", n, err)
	}
	if n, err := db.OutboxLen(bob); n != 0 || err != nil {
		t.Errorf("bob's outbox holds %d (%v) after the drop", n, err)
	}
	if n, err := db.OutboxLen(carol); n != 1 || err != nil {
		t.Errorf("carol's outbox holds %d (%v), want 1", n, err)
	}
	if n, err := db.DropOutbox(bob); n != 0 || err != nil {
		t.Errorf("DropOutbox again = %d, %v", n, err)
	}
}
