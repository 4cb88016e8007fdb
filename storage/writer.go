package storage

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// The writer: one goroutine applies every write, so that writes from many
// callers share one synced commit (group commit) and never conflict.
//
// Badger's own batching is not enough: its write goroutine collects the
// transactions that arrive while a write is in flight, but it then syncs the
// WAL once per transaction (DB.writeRequests calls writeToLSM per request,
// which ends in memTable.SyncWAL). Where this was written (2 cores, ext4),
// 64 goroutines storing one record each reached about 6,500 records/s as one
// badger transaction per record (BenchmarkBadgerBaselineConcurrent) and
// about 35,000/s through this writer (BenchmarkPutRecordsConcurrent), against
// about 3,800/s for one goroutine (BenchmarkPutRecordsSerial).
//
// A caller's write is an op: a number of units (say, one per record) and a
// function that applies unit i to a transaction. The writer applies the units
// of every waiting op in order and commits as few transactions as badger's
// size limit allows. It may discard a transaction and apply the same units
// again (when a unit overflows the size limit, or an op fails and must not
// leave half its writes behind), so apply must put all its effects in the
// transaction or in a per-unit result slot that a second run overwrites.

// op is one caller's write.
type op struct {
	units int
	apply func(w *wtxn, i int) error

	err  error         // set by the writer before done is closed
	done chan struct{} // closed when the op is committed or failed
	// then, when set, is called once with err when done is closed, from
	// the writer's goroutine (submitAsync).
	then func(error)
}

func (o *op) finish() {
	select {
	case <-o.done:
	default:
		close(o.done)
		if o.then != nil {
			o.then(o.err)
		}
	}
}

// wtxn is the writer's transaction and the state that commits with it.
type wtxn struct {
	txn *badger.Txn
	seq uint64 // next outbox sequence number; becomes db.outboxSeq on commit
	// noSearchIndex: leave the search index out (a benchmark's baseline).
	noSearchIndex bool
	// timerConvs: DB.timerConvs, told of a timer before its commit.
	timerConvs *sync.Map
}

// submit queues a write and waits until it is durable or has failed. An op
// that spans several transactions may fail after its first ones committed.
func (db *DB) submit(units int, apply func(w *wtxn, i int) error) error {
	if units == 0 {
		return nil
	}
	o := &op{units: units, apply: apply, done: make(chan struct{})}
	select {
	case db.writes <- o:
	case <-db.quit:
		return ErrClosed
	}
	<-o.done
	return o.err
}

// submitAsync queues a write without waiting for it: then is called with
// its result, from the writer's goroutine, once it is committed or failed.
// It never blocks, so that a caller on the network path does not wait for
// the sync in flight; the write joins the next group commit.
func (db *DB) submitAsync(units int, apply func(w *wtxn, i int) error, then func(error)) {
	o := &op{units: units, apply: apply, done: make(chan struct{}), then: then}
	db.asyncMu.Lock()
	if db.asyncClosed {
		db.asyncMu.Unlock()
		o.err = ErrClosed
		o.finish()
		return
	}
	db.asyncOps = append(db.asyncOps, o)
	db.asyncMu.Unlock()
	select {
	case db.asyncReady <- struct{}{}:
	default: // the writer is already told
	}
}

// takeAsync returns the queued asynchronous ops; closing, it also stops
// taking more (later ones fail with ErrClosed).
func (db *DB) takeAsync(closing bool) []*op {
	db.asyncMu.Lock()
	defer db.asyncMu.Unlock()
	ops := db.asyncOps
	db.asyncOps = nil
	db.asyncClosed = db.asyncClosed || closing
	return ops
}

func (db *DB) writeLoop() {
	defer close(db.writerDone)
	for {
		var batch []*op
		select {
		case o := <-db.writes:
			batch = append(batch, o)
		case <-db.asyncReady:
			batch = append(batch, db.takeAsync(false)...)
		case reply := <-db.reopen:
			reply <- db.reopenRW()
			continue
		case d := <-db.drops:
			d.reply <- db.dropKeys(d.keys)
			continue
		case <-db.quit:
			// Answers settled without waiting are written before the
			// store closes, as writes already taken are.
			if ops := db.takeAsync(true); len(ops) > 0 {
				db.runBatch(ops)
			}
			return
		}
		// Take every op whose caller is already waiting: they arrived while
		// the previous batch was being synced, and will share the next sync.
	drain:
		for {
			select {
			case o := <-db.writes:
				batch = append(batch, o)
			case <-db.asyncReady:
				batch = append(batch, db.takeAsync(false)...)
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			db.runBatch(batch)
		}
	}
}

// pos is a unit of an op in a batch.
type pos struct{ op, unit int }

func (p pos) before(q pos) bool { return p.op < q.op || p.op == q.op && p.unit < q.unit }

// live moves p past finished and failed ops to the next unit to apply.
func live(ops []*op, p pos) pos {
	for p.op < len(ops) && (ops[p.op].err != nil || p.unit >= ops[p.op].units) {
		p = pos{p.op + 1, 0}
	}
	return p
}

// runBatch commits every unit of ops, in order, and finishes each op.
func (db *DB) runBatch(ops []*op) {
	end := pos{len(ops), 0}
	from, stop := pos{}, end
	for {
		from = live(ops, from)
		if !from.before(end) {
			break
		}
		// Below the watermark the transaction is read-only: an op that
		// writes fails (and is told the disk is full), one that finds
		// nothing to write succeeds. A read-only badger makes it so too.
		space := db.space.state(false)
		w := &wtxn{txn: db.bdb.NewTransaction(!space.Full), seq: db.outboxSeq, noSearchIndex: db.noSearchIndex, timerConvs: &db.timerConvs}
		at, applied, err := fill(w, ops, from, stop)
		switch {
		case err == nil:
			if err := w.txn.Commit(); err != nil {
				failRange(ops, from, at, fmt.Errorf("storage: commit: %w", err))
			} else {
				db.outboxSeq = w.seq
				for i := from.op; i < at.op; i++ {
					ops[i].finish() // done early: it need not wait for the rest
				}
			}
			from, stop = at, end
		case errors.Is(err, badger.ErrTxnTooBig) && applied > 0:
			// Unit `at` overflowed, and some of its writes may be in the txn:
			// redo the units before it, commit those, then start afresh.
			w.txn.Discard()
			stop = at
		default:
			// Op at.op failed (or one unit alone exceeds the limit). Drop it
			// and redo the others, so none of its writes reach the disk.
			w.txn.Discard()
			switch {
			case errors.Is(err, badger.ErrTxnTooBig):
				err = fmt.Errorf("storage: one write is too large for a transaction: %w", err)
			case errors.Is(err, badger.ErrReadOnlyTxn):
				space.Full = true // also when badger itself is open read-only
				err = space.Err()
			}
			ops[at.op].err = err
		}
	}
	for _, o := range ops {
		o.finish()
	}
}

// fill applies units from `from` up to, not including, `stop`. It returns
// where it stopped, how many units it applied, and the error of the unit at
// that position, if any.
func fill(w *wtxn, ops []*op, from, stop pos) (pos, int, error) {
	p, n := from, 0
	for {
		p = live(ops, p)
		if !p.before(stop) {
			return p, n, nil
		}
		if err := ops[p.op].apply(w, p.unit); err != nil {
			return p, n, err
		}
		n++
		p.unit++
	}
}

// failRange fails every op with a unit in [from, to) that has not failed yet.
func failRange(ops []*op, from, to pos, err error) {
	last := to.op
	if to.unit == 0 {
		last--
	}
	for i := from.op; i <= last && i < len(ops); i++ {
		if ops[i].err == nil {
			ops[i].err = err
		}
	}
}

// enqueue appends an envelope ID to a peer's outbox, after everything
// queued before it; the sequence counter is stored in the same transaction.
func (w *wtxn) enqueue(peer string, id [32]byte) error {
	seq := w.seq
	w.seq++
	if err := w.txn.Set(outboxKey(peer, seq), encodeOutboxEntry(id)); err != nil {
		return err
	}
	if err := w.txn.Set(outboxIndexKey(peer, id), encodeUint64(seq)); err != nil {
		return err
	}
	return w.txn.Set([]byte(keyOutboxSeq), encodeUint64(w.seq))
}
