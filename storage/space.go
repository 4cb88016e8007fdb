package storage

import (
	"log/slog"
	"sync"
	"time"

	parley "github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/diskspace"
)

// The write gate: the store takes no write while the disk holding it has
// less than a watermark free, so badger never runs out of space.
//
// Badger does not fail cleanly on a full disk: its write-ahead log (the
// memtable's .mem file) and value log are files it truncates to their full
// size at creation and then writes through mmap. The truncation makes a
// sparse file, which takes no space yet; it is writing a page of it that
// takes a block, and when the file system has none left the kernel answers
// with SIGBUS, which kills the process (logFile.writeEntry). Flushing a
// memtable writes a table through mmap too. So the only safe way is never
// to let badger get there: refuse writes while free space is below
// MinFree, which must cover everything badger may touch once a write is let
// through (see DefaultMinFree).
//
// A refused write fails before anything reaches badger: the writer commits
// through a read-only badger transaction, so an op that sets or deletes a
// key fails with a *parley.DiskFullError and leaves nothing behind, and an
// op that turns out to write nothing (a contact update that finds nothing
// to change) still succeeds.

// Badger's sizes (badgerOptions), and the watermark made of them.
const (
	memTableSize     = 8 << 20
	valueLogFileSize = 32 << 20
	// spaceHeadroom covers what the memtable and value-log figures leave
	// out: compaction writes its new tables before it deletes the old
	// ones, and MANIFEST, the keystore, settings and the API file grow a
	// little.
	spaceHeadroom = 16 << 20
	// DefaultMinFree is the write watermark: one value-log file (values of
	// 1 MiB or more go there; it is rotated at ValueLogFileSize), one
	// memtable's worth twice (its write-ahead log fills up to
	// MemTableSize, and flushing it writes a table of about that size
	// before the log is deleted), and the headroom: 32 + 16 + 16 = 64 MiB.
	DefaultMinFree = valueLogFileSize + 2*memTableSize + spaceHeadroom
	// openMinFree is the least free space in which a store that did not
	// close cleanly can still be opened: read-only badger cannot replay
	// and truncate its write-ahead log, so it is opened read-write, which
	// flushes what the log held (up to a memtable) and starts a new log.
	// Below this Open refuses, with the disk-full error.
	openMinFree = 2*memTableSize + spaceHeadroom
	// spaceCheckEvery is how old a free-space reading may be when the
	// disk is far from the watermark, and how often the watcher measures.
	spaceCheckEvery = time.Second
)

// SpaceState is what the store knows of its disk.
type SpaceState struct {
	// Free is the space left on the disk holding the store, in bytes, as
	// last measured; -1 where it cannot be told (the gate is then open).
	Free int64
	// MinFree is the watermark: below it the store takes no writes.
	MinFree int64
	// Full: the store refuses writes until Free is back above MinFree
	// (with a margin, so it does not flap).
	Full bool
}

// Err is the error a write gets in this state: nil, or a
// *parley.DiskFullError.
func (s SpaceState) Err() error {
	if !s.Full {
		return nil
	}
	return &parley.DiskFullError{Free: max(s.Free, 0)}
}

// spaceGate measures free space and decides whether writes may go.
type spaceGate struct {
	dir     string
	minFree int64
	resume  int64 // writes resume at this much free: minFree plus a margin
	measure func(dir string) (int64, error)
	maxAge  time.Duration

	// changed wakes the watcher when a measure flips Full. Capacity 1:
	// wakes coalesce.
	changed chan struct{}

	mu   sync.Mutex
	at   time.Time // guarded by mu: when free was measured; zero: never
	free int64     // guarded by mu; -1: cannot be told
	full bool      // guarded by mu
}

func newSpaceGate(dir string, minFree int64, measure func(string) (int64, error), every time.Duration) *spaceGate {
	if minFree <= 0 {
		minFree = DefaultMinFree
	}
	if measure == nil {
		measure = diskspace.Free
	}
	if every <= 0 {
		every = spaceCheckEvery
	}
	return &spaceGate{dir: dir, minFree: minFree, resume: minFree + minFree/8, measure: measure, maxAge: every,
		changed: make(chan struct{}, 1), free: -1}
}

// state returns the gate's state, measured anew when fresh is set, when the
// last reading is older than maxAge, or when it was within a watermark of
// the watermark: there every write measures (a statfs costs about 1.5 µs,
// a synced commit a millisecond or more), farther away once a second.
func (g *spaceGate) state(fresh bool) SpaceState {
	g.mu.Lock()
	defer g.mu.Unlock()
	if fresh || g.at.IsZero() || time.Since(g.at) >= g.maxAge || (g.free >= 0 && g.free < 2*g.minFree) {
		g.at = time.Now()
		free, err := g.measure(g.dir)
		if err != nil {
			free = -1 // not told: the gate stays open, as it always was
		}
		g.free = free
		var full bool
		switch {
		case free < 0:
			full = false
		case g.full:
			full = free < g.resume
		default:
			full = free < g.minFree
		}
		if full != g.full {
			g.full = full
			select {
			case g.changed <- struct{}{}:
			default:
			}
		}
	}
	return SpaceState{Free: g.free, MinFree: g.minFree, Full: g.full}
}

// Space reports whether the store takes writes, and how much space is
// free. Cheap: it measures at most about once a second.
func (db *DB) Space() SpaceState {
	st := db.space.state(false)
	// A store opened read-only stays so until the watcher reopens it.
	st.Full = st.Full || db.readOnly.Load()
	return st
}

// SpaceErr is nil while the store takes writes, else the
// *parley.DiskFullError a write would get. For callers that write beside
// the store on the same disk (downloads), and that would rather not start
// what they could not finish.
func (db *DB) SpaceErr() error { return db.Space().Err() }

// watchSpace measures free space every spaceCheckEvery, reopens a store
// that opened read-only once space is back, and tells Options.OnSpace when
// the store turns read-only or writable. It runs from Open to Close.
// reported is the state Open's caller was given.
func (db *DB) watchSpace(onSpace func(SpaceState), reported bool) {
	defer close(db.watcherDone)
	t := time.NewTicker(db.space.maxAge)
	defer t.Stop()
	for {
		select {
		case <-db.quit:
			return
		case <-t.C:
			db.space.state(true)
		case <-db.space.changed:
		}
		if db.readOnly.Load() && !db.space.state(false).Full {
			if !db.reopenWritable() {
				continue // still read-only; tried again on the next tick
			}
		}
		st := db.Space()
		if st.Full == reported {
			continue
		}
		reported = st.Full
		if st.Full {
			db.log.Warn(st.Err().Error(), spaceAttrs(st)...)
		} else {
			db.log.Info("disk space is back: Parley takes writes again", "free_mb", st.Free>>20)
		}
		if onSpace != nil {
			onSpace(st)
		}
	}
}

// reopenWritable asks the writer to reopen a read-only store read-write,
// and reports whether it is writable now.
func (db *DB) reopenWritable() bool {
	reply := make(chan error, 1)
	select {
	case db.reopen <- reply:
	case <-db.quit:
		return false
	}
	var err error
	select {
	case err = <-reply:
	case <-db.quit:
		return false
	}
	if err != nil {
		db.log.Warn("reopening the store for writing", "err", err)
		return false
	}
	return true
}

func spaceAttrs(st SpaceState) []any {
	return []any{slog.Int64("free_bytes", st.Free), slog.Int64("min_free_bytes", st.MinFree)}
}
