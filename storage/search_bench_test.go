package storage

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Search benchmarks (docs/benchmarks.md):
//
//	go test -run='^$' -bench='Search' -benchtime=1x ./storage/
//
// The corpus is searchCorpus: 100,000 messages of 8 words drawn (skewed)
// from 5,000, over 16 conversations, and one rare word.

const searchBenchMessages = 100000

// searchBenchStore builds the corpus in a fresh store.
func searchBenchStore(b *testing.B) *DB {
	db := openTemp(b)
	searchCorpus(b, db, searchBenchMessages, searchBenchMessages/2)
	return db
}

// BenchmarkSearch100k times queries over the corpus, each kind run 200
// times, and reports the median and the 99th percentile: one word in one
// message (whole, and as typed: a prefix), a common word (a page of 20),
// two words together, a three-letter prefix that 111 words of the corpus
// begin with (the shortest that is a prefix: the worst case of typing),
// and a one-letter word (a whole word: shorter prefixes are).
func BenchmarkSearch100k(b *testing.B) {
	db := searchBenchStore(b)
	queries := []struct{ name, q string }{
		{"rare-word", "zanzibar "},
		{"rare-prefix", "zanz"},
		{"common-word", "w0 "},
		{"two-words", "w1 zanzibar "},
		{"three-letter-prefix", "w12"},
		{"one-letter-word", "w"},
	}
	for _, qc := range queries {
		b.Run(qc.name, func(b *testing.B) {
			q := mustQuery(b, qc.q)
			var times []time.Duration
			for range b.N {
				for range 200 {
					start := time.Now()
					msgs, _, err := db.Search(q, SearchOptions{Limit: 20})
					times = append(times, time.Since(start))
					if err != nil || len(msgs) == 0 && qc.name != "one-letter-word" {
						b.Fatalf("Search(%q) = %d, %v", qc.q, len(msgs), err)
					}
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkSearchIndexCost writes the corpus with the index and without
// (the baseline, same run), in calls of 4,000 records, and reports
// messages/s of each and the index's size per message: the difference of
// the store's files (LSM tables and value log, after Close flushed the
// memtables) divided by the messages.
func BenchmarkSearchIndexCost(b *testing.B) {
	for range b.N {
		with, withRate := writeCorpusSized(b, Open)
		without, withoutRate := writeCorpusSized(b, OpenWithoutSearchIndex)
		b.ReportMetric(withRate, "msgs/s-indexed")
		b.ReportMetric(withoutRate, "msgs/s-baseline")
		b.ReportMetric(float64(with-without)/searchBenchMessages, "index-bytes/msg")
		b.ReportMetric(float64(without)/searchBenchMessages, "baseline-bytes/msg")
	}
}

func writeCorpusSized(b *testing.B, open func(Options) (*DB, error)) (size int64, rate float64) {
	dir := b.TempDir()
	db, err := open(Options{Dir: dir, EncryptionKey: newKey(b), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	searchCorpus(b, db, searchBenchMessages, 1)
	rate = searchBenchMessages / time.Since(start).Seconds()
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sst") || strings.HasSuffix(e.Name(), ".vlog") {
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			size += fi.Size()
		}
	}
	return size, rate
}
