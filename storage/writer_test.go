package storage

import (
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// These tests call runBatch directly, as the writer goroutine would, to
// control exactly which ops share a batch. No other write runs meanwhile.

func putOp(r Record, added *bool) *op {
	return &op{units: 1, done: make(chan struct{}), apply: func(w *wtxn, _ int) error {
		ok, _, err := putRecord(w, r, nil)
		*added = ok
		return err
	}}
}

func TestBatchIsolatesFailedOp(t *testing.T) {
	db := openTemp(t)
	a, b, c := text(bob, false, 1, "a"), text(bob, false, 2, "b"), text(bob, false, 3, "c")
	var addedA, addedB, addedC bool
	boom := errors.New("boom")
	failing := &op{units: 2, done: make(chan struct{}), apply: func(w *wtxn, i int) error {
		if i == 0 {
			_, _, err := putRecord(w, b, nil) // written, then the op fails: must not persist
			return err
		}
		return boom
	}}
	ops := []*op{putOp(a, &addedA), failing, putOp(c, &addedC)}
	db.runBatch(ops)

	if ops[0].err != nil || ops[2].err != nil || !errors.Is(ops[1].err, boom) {
		t.Fatalf("errs = %v, %v, %v", ops[0].err, ops[1].err, ops[2].err)
	}
	for _, o := range ops {
		select {
		case <-o.done:
		default:
			t.Fatal("an op was not finished")
		}
	}
	if !addedA || !addedC {
		t.Fatalf("added = %v, %v", addedA, addedC)
	}
	if ok, _ := db.HasEnvelope(b.Message.ID); ok {
		t.Fatal("the failed op's write was committed")
	}
	if c := conversation(t, db, bob); c.Unread != 2 {
		t.Fatalf("Unread = %d, want 2 (a and c only)", c.Unread)
	}
	_ = addedB
}

func TestBatchSplitsAtTransactionLimit(t *testing.T) {
	db := openTemp(t)
	// Records of 600 KB (below badger's 1 MiB value threshold, so they count
	// fully against its 1.2 MB transaction limit): no two fit in one
	// transaction, so the batch takes several commits. Op 2 alone exceeds the
	// limit and fails alone.
	var ops []*op
	var recs []Record
	added := make([]bool, 4)
	for i := range 4 {
		r := text(bob, true, parley.HLC(i), "")
		r.Envelope = make([]byte, 600<<10)
		r.Envelope[0] = byte(i) // distinct IDs
		r.Message.ID = parley.NewEnvelopeID(r.Envelope)
		r.QueueTo = bob
		recs = append(recs, r)
		ops = append(ops, putOp(r, &added[i]))
	}
	ops[2] = &op{units: 1, done: make(chan struct{}), apply: func(w *wtxn, _ int) error {
		for k := range 3 {
			if err := w.txn.Set([]byte{'x', byte(k)}, make([]byte, 600<<10)); err != nil {
				return err
			}
		}
		return nil
	}}
	db.runBatch(ops)
	for i, o := range ops {
		if (o.err != nil) != (i == 2) {
			t.Fatalf("op %d: err = %v", i, o.err)
		}
	}
	if !errors.Is(ops[2].err, badger.ErrTxnTooBig) {
		t.Fatalf("op 2: %v, want ErrTxnTooBig", ops[2].err)
	}
	out, _ := db.Outbox(bob, 0)
	equalIDs(t, "outbox", entryIDs(out), recIDs(recs[0], recs[1], recs[3]))
	if !added[0] || !added[1] || !added[3] {
		t.Fatalf("added = %v", added)
	}
}
