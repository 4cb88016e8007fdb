package storage

import (
	"sync"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

func statusOf(t *testing.T, db *DB, id parley.EnvelopeID) parley.Status {
	t.Helper()
	m, err := db.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Status
}

// An answer settled without waiting shows at once, in reads and in the
// outbox, and is on disk after the store closes.
func TestSettleOutboxShowsAtOnceAndLasts(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	b1, b2, b3 := queued(bob, 1), queued(bob, 2), queued(bob, 3)
	put(t, db, b1, b2, b3)

	changed, err := db.SettleOutbox(bob, recIDs(b1, b2), parley.StatusDelivered, nil)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "changed", ids(changed), recIDs(b1, b2))
	for _, m := range changed {
		if m.Status != parley.StatusDelivered || m.Text != "queued" {
			t.Fatalf("changed message %+v", m)
		}
	}
	// Whether or not the commit has landed yet, reads agree.
	for _, r := range []Record{b1, b2} {
		if s := statusOf(t, db, r.Message.ID); s != parley.StatusDelivered {
			t.Fatalf("right after the settle: %v", s)
		}
	}
	out, err := db.Outbox(bob, 0)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "outbox", entryIDs(out), recIDs(b3))
	// The peer's receipt time shows with the status (Message info).
	conv := parley.DMConversationID(self, bob)
	receiptOf := func(db *DB, id parley.EnvelopeID) parley.Receipt {
		t.Helper()
		rs, err := db.Receipts(conv, []parley.EnvelopeID{id})
		if err != nil {
			t.Fatal(err)
		}
		return rs[id][bob]
	}
	if r := receiptOf(db, b1.Message.ID); r.Delivered == 0 {
		t.Fatalf("right after the settle, no delivery time: %+v", r)
	}
	// Settling again changes nothing more.
	if again, err := db.SettleOutbox(bob, recIDs(b1), parley.StatusDelivered, nil); err != nil || len(again) != 0 {
		t.Fatalf("second settle: %v, %v", again, err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	for _, r := range []Record{b1, b2} {
		if s := statusOf(t, db, r.Message.ID); s != parley.StatusDelivered {
			t.Fatalf("after reopening: %v", s)
		}
	}
	out, err = db.Outbox(bob, 0)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "outbox after reopening", entryIDs(out), recIDs(b3))
	if r := receiptOf(db, b2.Message.ID); r.Delivered == 0 {
		t.Fatalf("after reopening, no delivery time: %+v", r)
	}
}

// A received message notes its receipt time in its own write.
func TestReceivedByNotesTheReceipt(t *testing.T) {
	db := openTemp(t)
	in := text(bob, false, 1, "hello")
	in.ReceivedBy = self
	put(t, db, in)
	conv := parley.DMConversationID(self, bob)
	rs, err := db.Receipts(conv, recIDs(in))
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[in.Message.ID][self]; r.Delivered == 0 || r.Read != 0 {
		t.Fatalf("receipt %+v, want a delivery time", r)
	}
}

// Timers answers from memory for conversations without a timer, and finds
// a timer stored now or before the store was opened.
func TestTimersKnownAcrossReopen(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	withTimer, without := parley.DMConversationID(self, bob), parley.DMConversationID(self, carol)
	timer := text(bob, true, 5, "")
	timer.Message.Kind, timer.Message.Timer = parley.KindTimer, 300
	put(t, db, timer, text(carol, false, 1, "no timer here"))
	check := func(db *DB) {
		t.Helper()
		got, err := db.Timers(withTimer)
		if err != nil || len(got) != 1 || got[0].ID != timer.Message.ID {
			t.Fatalf("Timers of the conversation with one: %v, %v", got, err)
		}
		if got, err := db.Timers(without); err != nil || len(got) != 0 {
			t.Fatalf("Timers of the conversation without: %v, %v", got, err)
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check(openAt(t, dir, key))
}

// When the write fails (a full disk), reads keep the status, the envelope
// comes back to the outbox to be pushed again, and the next settle writes
// it.
func TestSettleOutboxWriteFailsThenRetries(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	d := newFakeDisk(1 << 30)
	db, events, err := openOnDisk(t, dir, key, d)
	if err != nil {
		t.Fatal(err)
	}
	m, m2 := queued(bob, 1), queued(bob, 2)
	put(t, db, m, m2)
	if out, err := db.Outbox(bob, 0); err != nil || len(out) != 2 { // where reads of it start from now on
		t.Fatalf("outbox: %v, %v", out, err)
	}
	d.free.Store(10 * mib)
	awaitSpace(t, events, true)

	retried := make(chan struct{})
	changed, err := db.SettleOutbox(bob, recIDs(m), parley.StatusDelivered, func() { close(retried) })
	if err != nil || len(changed) != 1 {
		t.Fatalf("settle on a full disk: %v, %v", changed, err)
	}
	select {
	case <-retried:
	case <-time.After(10 * time.Second):
		t.Fatal("a failed write did not ask for a retry")
	}
	if s := statusOf(t, db, m.Message.ID); s != parley.StatusDelivered {
		t.Fatalf("after the failed write: %v, want delivered still", s)
	}
	out, err := db.Outbox(bob, 0)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "outbox after the failed write", entryIDs(out), recIDs(m, m2))

	d.free.Store(1 << 30)
	awaitSpace(t, events, false)
	if again, err := db.SettleOutbox(bob, recIDs(m), parley.StatusDelivered, nil); err != nil || len(again) != 0 {
		t.Fatalf("settle once space is back: %v, %v (nothing should change as shown)", again, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, _, err = openOnDisk(t, dir, key, d)
	if err != nil {
		t.Fatal(err)
	}
	if s := statusOf(t, db, m.Message.ID); s != parley.StatusDelivered {
		t.Fatalf("after reopening: %v", s)
	}
	if n, err := db.OutboxLen(bob); err != nil || n != 1 {
		t.Fatalf("outbox after reopening: %d, %v", n, err)
	}
}

// Readers racing the commits never see a status go back: each read sees an
// answer in memory or on disk.
func TestSettleOutboxReadsNeverGoBack(t *testing.T) {
	db := openTemp(t)
	const n = 300
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = queued(bob, parley.HLC(i+1))
	}
	put(t, db, recs...)
	conv := parley.DMConversationID(self, bob)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			best := make(map[parley.EnvelopeID]parley.Status)
			for {
				select {
				case <-stop:
					return
				default:
				}
				msgs, err := db.Messages(conv, 0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range msgs {
					if m.Status.Rank() < best[m.ID].Rank() {
						t.Errorf("message %s went from %v back to %v", m.ID, best[m.ID], m.Status)
						return
					}
					best[m.ID] = m.Status
				}
			}
		})
	}
	// Settle in small batches, with other writes between them so that
	// commits land while the readers read.
	for i := 0; i < n; i += 10 {
		if _, err := db.SettleOutbox(bob, recIDs(recs[i:i+10]...), parley.StatusDelivered, nil); err != nil {
			t.Fatal(err)
		}
		put(t, db, text(carol, false, parley.HLC(i+1), "other"))
	}
	close(stop)
	wg.Wait()
	if n, err := db.OutboxLen(bob); err != nil || n != 0 {
		t.Fatalf("outbox %d, %v", n, err)
	}
}

// DeliveryNoted says what Receipts shows: an ack's delivery while its write
// waits (from memory) and once written, nothing for a message not
// delivered or for another member.
func TestDeliveryNotedAgreesWithReceipts(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	b1, b2, b3 := queued(bob, 1), queued(bob, 2), queued(bob, 3)
	put(t, db, b1, b2, b3)
	conv := parley.DMConversationID(self, bob)
	check := func(when string, r Record, member string, want bool) {
		t.Helper()
		got, err := db.DeliveryNoted(conv, r.Message.ID, member)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.Receipts(conv, []parley.EnvelopeID{r.Message.ID})
		if err != nil {
			t.Fatal(err)
		}
		if shown := rs[r.Message.ID][member].Delivered != 0; got != want || shown != want {
			t.Fatalf("%s: DeliveryNoted %v, Receipts %v, want %v", when, got, shown, want)
		}
	}
	if _, err := db.SettleOutbox(bob, recIDs(b1), parley.StatusDelivered, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SettleOutbox(bob, recIDs(b3), parley.StatusFailed, nil); err != nil {
		t.Fatal(err)
	}
	check("right after the settle", b1, bob, true)
	check("another member", b1, carol, false)
	check("not answered", b2, bob, false)
	check("refused", b3, bob, false)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	check("after reopening", b1, bob, true)
	check("not answered, after reopening", b2, bob, false)
}
