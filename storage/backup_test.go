package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	parley "github.com/parley-im/parley"
)

// A store loaded from a backup holds what the original held when the
// backup began (contacts, messages, the outbox), and takes writes; writes
// made to the original meanwhile do not disturb the backup.
func TestBackupLoadRoundTrip(t *testing.T) {
	key := newKey(t)
	db := openTemp(t)
	if err := db.PutContact(parley.Contact{PeerID: bob, Name: "bob", State: parley.ContactAccepted}); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for i := range 300 {
		r := text(bob, i%2 == 0, parley.HLC(1000+i), "message")
		if i%2 == 0 {
			r.QueueTo = bob
		}
		recs = append(recs, r)
	}
	put(t, db, recs...)
	conv := parley.DMConversationID(self, bob)
	want, err := db.Messages(conv, 0)
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := db.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	put(t, db, text(bob, false, 5000, "after the backup"))

	dir := filepath.Join(t.TempDir(), "db")
	if err := Load(Options{Dir: dir, EncryptionKey: key, Logger: quietLogger()}, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	loaded := openAt(t, dir, key)
	got, err := loaded.Messages(conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("loaded %d messages, want %d (and not the one written after)", len(got), len(want))
	}
	if cs, err := loaded.Contacts(); err != nil || len(cs) != 1 || cs[0].Name != "bob" {
		t.Fatalf("contacts %+v, %v", cs, err)
	}
	if n, err := loaded.OutboxLen(bob); err != nil || n != 150 {
		t.Fatalf("outbox to bob: %d entries, %v; want 150", n, err)
	}
	put(t, loaded, text(bob, false, 6000, "written to the loaded store"))

	// Load never writes over a store.
	if err := Load(Options{Dir: dir, EncryptionKey: key}, bytes.NewReader(buf.Bytes())); err == nil {
		t.Fatal("Load into a store's directory succeeded")
	}
}

// A stream announcing a list larger than maxLoadFrame is refused before
// badger allocates it.
func TestLoadRefusesHugeLists(t *testing.T) {
	var stream [8]byte
	binary.LittleEndian.PutUint64(stream[:], 1<<62)
	err := Load(Options{Dir: t.TempDir(), EncryptionKey: newKey(t), Logger: quietLogger()}, bytes.NewReader(stream[:]))
	if !errors.Is(err, ErrFrameTooLarge) || !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
}

// Backup after Close is ErrClosed, and a cancelled context stops it.
func TestBackupClosedOrCancelled(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Backup(ctx, &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	db.Close()
	if err := db.Backup(context.Background(), &bytes.Buffer{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
}

// FuzzLoad: whatever the stream, Load returns (an error or not) without
// panicking or allocating what a length prefix claims.
func FuzzLoad(f *testing.F) {
	db, err := Open(Options{Dir: f.TempDir(), EncryptionKey: make([]byte, 32), Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	var seed bytes.Buffer
	if err := db.Backup(context.Background(), &seed); err != nil {
		f.Fatal(err)
	}
	db.Close()
	f.Add(seed.Bytes())
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, stream []byte) {
		dir := t.TempDir()
		_ = Load(Options{Dir: dir, EncryptionKey: make([]byte, 32), Logger: quietLogger()}, bytes.NewReader(stream))
		os.RemoveAll(dir)
	})
}

// BenchmarkBackupLoad backs up a store of 20,000 messages and loads it
// into a new one: MB/s of backup stream, per operation.
func BenchmarkBackupLoad(b *testing.B) {
	key := newKey(b)
	db := openAt(b, b.TempDir(), key)
	for i := range 20 {
		var recs []Record
		for j := range 1000 {
			recs = append(recs, text(bob, j%2 == 0, parley.HLC(i*1000+j+1), "a message of some ordinary length, about as long as people write"))
		}
		put(b, db, recs...)
	}
	var size int64
	for b.Loop() {
		var buf bytes.Buffer
		if err := db.Backup(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
		size = int64(buf.Len())
		if err := Load(Options{Dir: filepath.Join(b.TempDir(), "db"), EncryptionKey: key, Logger: quietLogger()}, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
	b.ReportMetric(float64(size)/(1<<20), "MB/backup")
}
