package storage

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	parley "github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/diskspace"
)

// The benchmarks write incoming text messages with 200-byte envelopes,
// spread over 16 conversations, into a fresh store per iteration, and report
// msgs/s. Compare each with its raw badger baseline
// from the same run (same options, same sync) as a ratio.

const benchRecords = 10000

// benchSerialRecords bounds the benchmarks that pay one sync per record, so
// a run stays short on a slow disk; msgs/s is comparable all the same.
const benchSerialRecords = 2000

func benchSet() []Record {
	recs := make([]Record, benchRecords)
	for i := range recs {
		recs[i] = text(fmt.Sprintf("12D3KooWPeer%02d", i%16), false, parley.HLC(i), "a message of a typical length, say forty")
	}
	return recs
}

// benchRun times write(db) on a fresh store for each iteration.
func benchRun(b *testing.B, n int, write func(b *testing.B, db *DB, recs []Record)) {
	benchRunWith(b, n, nil, write)
}

// benchRunWith is benchRun with a free-space function for the store (nil:
// statfs).
func benchRunWith(b *testing.B, n int, free func(string) (int64, error), write func(b *testing.B, db *DB, recs []Record)) {
	recs := benchSet()[:n]
	b.ResetTimer()
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		db, err := Open(Options{Dir: b.TempDir(), EncryptionKey: newKey(b), Logger: quietLogger(), FreeSpace: free})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		write(b, db, recs)
		elapsed += time.Since(start)
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "msgs/s")
}

// benchRawRun is benchRun on a raw badger with the store's options.
func benchRawRun(b *testing.B, n int, write func(b *testing.B, bdb *badger.DB, recs []Record)) {
	recs := benchSet()[:n]
	b.ResetTimer()
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		bdb, err := badger.Open(badgerOptions(b.TempDir(), newKey(b), quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		write(b, bdb, recs)
		elapsed += time.Since(start)
		b.StopTimer()
		if err := bdb.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkPutRecordsBatch: PutRecords in calls of 256 records, each call
// durable before it returns.
func BenchmarkPutRecordsBatch(b *testing.B) {
	benchRun(b, benchRecords, func(b *testing.B, db *DB, recs []Record) {
		for i := 0; i < len(recs); i += 256 {
			if _, err := db.PutRecords(recs[i:min(i+256, len(recs))]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBadgerBaselineWriteBatch: the floor for BenchmarkPutRecordsBatch.
// A synced badger WriteBatch of the same data (envelope and encoded message
// per record), without the store's duplicate check, indexes, conversation
// and per-call durability.
func BenchmarkBadgerBaselineWriteBatch(b *testing.B) {
	benchRawRun(b, benchRecords, func(b *testing.B, bdb *badger.DB, recs []Record) {
		wb := bdb.NewWriteBatch()
		defer wb.Cancel()
		for _, r := range recs {
			if err := wb.Set(envelopeKey(r.Message.ID), r.Envelope); err != nil {
				b.Fatal(err)
			}
			if err := wb.Set(recordKey(r.Message.ID), encodeMessage(r.Message)); err != nil {
				b.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPutRecordsConcurrent: 64 goroutines each storing one record per
// call, as concurrent DM streams do. Group commit lets them share syncs.
func BenchmarkPutRecordsConcurrent(b *testing.B) {
	benchRun(b, benchRecords, func(b *testing.B, db *DB, recs []Record) {
		concurrently(b, 64, len(recs), func(i int) error {
			_, err := db.PutRecords(recs[i : i+1])
			return err
		})
	})
}

// BenchmarkPutRecordsConcurrentNearWatermark is BenchmarkPutRecordsConcurrent
// on a disk just above the write watermark, where every commit measures
// free space (a real statfs): what the gate costs at its dearest.
func BenchmarkPutRecordsConcurrentNearWatermark(b *testing.B) {
	nearFull := func(dir string) (int64, error) {
		if _, err := diskspace.Free(dir); err != nil {
			return 0, err
		}
		return DefaultMinFree + 16<<20, nil
	}
	benchRunWith(b, benchRecords, nearFull, func(b *testing.B, db *DB, recs []Record) {
		concurrently(b, 64, len(recs), func(i int) error {
			_, err := db.PutRecords(recs[i : i+1])
			return err
		})
	})
}

// BenchmarkPutRecordsSerial: one goroutine, one record per call: every
// record pays a whole sync. The ratio to BenchmarkPutRecordsConcurrent is
// what group commit buys.
func BenchmarkPutRecordsSerial(b *testing.B) {
	benchRun(b, benchSerialRecords, func(b *testing.B, db *DB, recs []Record) {
		for i := range recs {
			if _, err := db.PutRecords(recs[i : i+1]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBadgerBaselineConcurrent: 64 goroutines each committing one
// synced badger transaction per record (envelope and message), relying on
// badger's own batching, which still syncs once per transaction.
func BenchmarkBadgerBaselineConcurrent(b *testing.B) {
	benchRawRun(b, benchSerialRecords, func(b *testing.B, bdb *badger.DB, recs []Record) {
		concurrently(b, 64, len(recs), func(i int) error {
			r := recs[i]
			return bdb.Update(func(txn *badger.Txn) error {
				if err := txn.Set(envelopeKey(r.Message.ID), r.Envelope); err != nil {
					return err
				}
				return txn.Set(recordKey(r.Message.ID), encodeMessage(r.Message))
			})
		})
	})
}

// concurrently calls fn(0..n-1) from the given number of goroutines.
func concurrently(b *testing.B, goroutines, n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range goroutines {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// Paging deep into a long conversation: a page of 50 messages that lie
// 10,000 messages back. BenchmarkMessagePageDeep seeks the cursor;
// BenchmarkMessagePageDeepByWindow is what the API did before the store
// had cursors (its baseline, in the same run): read the newest 10,050 and
// keep the oldest 50 (the API in fact read growing windows up to that).
const (
	pageHistory = 20000
	pageDepth   = 10000
	pageSize    = 50
)

func deepConversation(b *testing.B) (*DB, parley.ConversationID, Cursor) {
	db := openTemp(b)
	recs := make([]Record, pageHistory)
	for i := range recs {
		recs[i] = text(bob, i%2 == 0, parley.HLC(i+1), "a message of a typical length, say forty")
	}
	if _, err := db.PutRecords(recs); err != nil {
		b.Fatal(err)
	}
	at := recs[pageHistory-pageDepth].Message
	return db, at.Conversation, CursorOf(at)
}

func BenchmarkMessagePageDeep(b *testing.B) {
	db, conv, cur := deepConversation(b)
	b.ResetTimer()
	for range b.N {
		msgs, err := db.MessagePage(conv, Page{Before: &cur, Limit: pageSize})
		if err != nil || len(msgs) != pageSize {
			b.Fatal(len(msgs), err)
		}
	}
}

func BenchmarkMessagePageDeepByWindow(b *testing.B) {
	db, conv, _ := deepConversation(b)
	b.ResetTimer()
	for range b.N {
		msgs, err := db.Messages(conv, pageDepth+pageSize)
		if err != nil || len(msgs) != pageDepth+pageSize {
			b.Fatal(len(msgs), err)
		}
	}
}
