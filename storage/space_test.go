package storage

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

const mib = 1 << 20

// fakeDisk is a free-space function whose answer a test sets, counting the
// calls.
type fakeDisk struct {
	free  atomic.Int64
	calls atomic.Int64
}

func newFakeDisk(free int64) *fakeDisk {
	d := &fakeDisk{}
	d.free.Store(free)
	return d
}

func (d *fakeDisk) measure(string) (int64, error) {
	d.calls.Add(1)
	return d.free.Load(), nil
}

// openOnDisk opens a store in dir whose free space d tells, with a watcher
// that measures every 10 ms; events receives what OnSpace is told.
func openOnDisk(t *testing.T, dir string, key []byte, d *fakeDisk) (*DB, chan SpaceState, error) {
	t.Helper()
	events := make(chan SpaceState, 16)
	db, err := Open(Options{Dir: dir, EncryptionKey: key, Logger: quietLogger(), FreeSpace: d.measure,
		SpaceCheckEvery: 10 * time.Millisecond, OnSpace: func(st SpaceState) { events <- st }})
	if err == nil {
		t.Cleanup(func() { db.Close() })
	}
	return db, events, err
}

func wantDiskFull(t *testing.T, err error, freeMB int) {
	t.Helper()
	var full *parley.DiskFullError
	if !errors.Is(err, parley.ErrNoSpace) || !errors.As(err, &full) {
		t.Fatalf("err = %v, want a disk-full error", err)
	}
	if want := "disk full: " + strconv.Itoa(freeMB) + " MB free"; !strings.HasPrefix(full.Error(), want) {
		t.Fatalf("message %q, want it to begin %q", full.Error(), want)
	}
}

func awaitSpace(t *testing.T, events chan SpaceState, full bool) SpaceState {
	t.Helper()
	select {
	case st := <-events:
		if st.Full != full {
			t.Fatalf("OnSpace told Full=%v, want %v", st.Full, full)
		}
		return st
	case <-time.After(10 * time.Second):
		t.Fatalf("OnSpace was not told Full=%v", full)
	}
	return SpaceState{}
}

// Below the watermark a write fails with the disk-full error and changes
// nothing; reads go on; the store takes writes again once the disk has the
// watermark plus a margin free.
func TestWritesRefusedBelowWatermark(t *testing.T) {
	d := newFakeDisk(1 << 30)
	db, events, err := openOnDisk(t, t.TempDir(), newKey(t), d)
	if err != nil {
		t.Fatal(err)
	}
	old := text(bob, false, 1, "before the disk filled")
	put(t, db, old)

	// Far from the watermark a reading lasts a while: the watcher sees
	// the change first.
	d.free.Store(10 * mib)
	st := awaitSpace(t, events, true)
	if st.Free != 10*mib || st.MinFree != DefaultMinFree || !db.Space().Full {
		t.Fatalf("state %+v", st)
	}
	queued := text(bob, true, 2, "while full")
	queued.QueueTo = bob
	_, err = db.PutRecords([]Record{queued})
	wantDiskFull(t, err, 10)
	if err := db.PutContact(parley.Contact{PeerID: carol, Name: "Carol", State: parley.ContactAccepted}); !errors.Is(err, parley.ErrNoSpace) {
		t.Fatalf("PutContact on a full disk: %v", err)
	}

	// Reads work, and nothing of the refused writes is there.
	msgs, err := db.Messages(parley.DMConversationID(self, bob), 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "messages", ids(msgs), recIDs(old))
	if n, err := db.OutboxLen(bob); err != nil || n != 0 {
		t.Fatalf("outbox %d, %v", n, err)
	}
	if _, err := db.Contact(carol); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("refused contact: %v", err)
	}
	// A write that finds nothing to do is no write: it succeeds.
	if _, err := db.UpdateContact(bob, func(*parley.Contact, bool) (bool, error) { return false, nil }); err != nil {
		t.Fatalf("a no-op update on a full disk: %v", err)
	}

	// Just above the watermark is not enough: the margin keeps it from
	// flapping.
	d.free.Store(DefaultMinFree + mib)
	if _, err := db.PutRecords([]Record{queued}); !errors.Is(err, parley.ErrNoSpace) {
		t.Fatalf("within the margin: %v", err)
	}
	d.free.Store(DefaultMinFree + DefaultMinFree/8)
	put(t, db, queued)
	awaitSpace(t, events, false)
	if n, err := db.OutboxLen(bob); err != nil || n != 1 {
		t.Fatalf("outbox %d, %v", n, err)
	}
	if db.Space().Full {
		t.Fatal("still full")
	}
}

// The watcher notices a disk that fills while nothing is written.
func TestSpaceWatcherNoticesAFullDisk(t *testing.T) {
	d := newFakeDisk(1 << 30)
	db, events, err := openOnDisk(t, t.TempDir(), newKey(t), d)
	if err != nil {
		t.Fatal(err)
	}
	d.free.Store(5 * mib)
	awaitSpace(t, events, true)
	if err := db.SpaceErr(); !errors.Is(err, parley.ErrNoSpace) {
		t.Fatalf("SpaceErr = %v", err)
	}
	d.free.Store(1 << 30)
	awaitSpace(t, events, false)
	if err := db.SpaceErr(); err != nil {
		t.Fatalf("SpaceErr = %v", err)
	}
}

// Free space is measured about once a second far from the watermark, not
// once per write.
func TestSpaceMeasuredOncePerInterval(t *testing.T) {
	d := newFakeDisk(1 << 30)
	db, err := Open(Options{Dir: t.TempDir(), EncryptionKey: newKey(t), Logger: quietLogger(), FreeSpace: d.measure,
		SpaceCheckEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := d.calls.Load()
	for i := range 200 {
		put(t, db, text(bob, false, parley.HLC(i+1), "hello"))
	}
	if n := d.calls.Load() - before; n > 1 {
		t.Fatalf("200 writes far from the watermark measured %d times, want at most 1", n)
	}
	// Near the watermark, every write measures.
	d.free.Store(DefaultMinFree + 10*mib)
	db.space.state(true)
	before = d.calls.Load()
	for i := range 20 {
		put(t, db, text(bob, false, parley.HLC(i+1000), "hello"))
	}
	if n := d.calls.Load() - before; n < 20 {
		t.Fatalf("20 writes near the watermark measured %d times, want 20", n)
	}
}

// A store opened on a full disk is read-only: badger itself opens
// read-only, reads work, writes fail with the disk-full error; once space
// is back it is reopened for writing with no restart.
func TestOpenReadOnlyOnAFullDisk(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	first := openAt(t, dir, key)
	old := text(bob, true, 1, "queued before")
	old.QueueTo = bob
	put(t, first, old)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	d := newFakeDisk(20 * mib)
	db, events, err := openOnDisk(t, dir, key, d)
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	if !db.readOnly.Load() || !db.Space().Full {
		t.Fatal("not read-only")
	}
	msgs, err := db.Messages(parley.DMConversationID(self, bob), 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "messages", ids(msgs), recIDs(old))
	entries, err := db.Outbox(bob, 10)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "outbox", entryIDs(entries), recIDs(old))
	// Even with the gate open (space freed, watcher not yet run), badger
	// open read-only refuses: the error is still the disk-full one.
	_, err = db.PutRecords([]Record{text(bob, false, 2, "refused")})
	wantDiskFull(t, err, 20)

	d.free.Store(1 << 30)
	awaitSpace(t, events, false)
	if db.readOnly.Load() {
		t.Fatal("told writable, but badger is still read-only")
	}
	next := text(bob, true, 3, "after")
	next.QueueTo = bob
	put(t, db, next)
	entries, err = db.Outbox(bob, 10)
	if err != nil {
		t.Fatal(err)
	}
	// The outbox sequence was reloaded: the new entry queues after the old.
	equalIDs(t, "outbox", entryIDs(entries), recIDs(old, next))
}

// A store that did not close cleanly (its write-ahead log needs replay)
// cannot be opened read-only: with enough space for badger to replay it,
// it opens and takes no writes; with less, Open says the disk is full.
func TestOpenAfterCrashOnAFullDisk(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	runHelper(t, "crash", dir, key)

	if _, _, err := openOnDisk(t, dir, key, newFakeDisk(4*mib)); !errors.Is(err, parley.ErrNoSpace) ||
		!strings.Contains(err.Error(), "did not close cleanly") {
		t.Fatalf("open after a crash with 4 MB free: %v", err)
	}
	d := newFakeDisk(openMinFree)
	db, events, err := openOnDisk(t, dir, key, d)
	if err != nil {
		t.Fatalf("open after a crash with %d MB free: %v", openMinFree>>20, err)
	}
	msgs, err := db.Messages(parley.DMConversationID(self, bob), 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %d, %v", len(msgs), err)
	}
	_, err = db.PutRecords([]Record{text(bob, false, 2, "refused")})
	wantDiskFull(t, err, openMinFree>>20)
	d.free.Store(1 << 30)
	awaitSpace(t, events, false)
	put(t, db, text(bob, false, 3, "taken"))
}

// No store is created on a full disk.
func TestNoNewStoreOnAFullDisk(t *testing.T) {
	_, _, err := openOnDisk(t, t.TempDir(), newKey(t), newFakeDisk(10*mib))
	wantDiskFull(t, err, 10)
}
