package storage

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

// TestExpireDueLeavesNoTrace: a disappearing message and its edit, once
// expired, are in no key or value of the open store (every version), and,
// after Reclaim (value-log GC) and Close, in no byte of its files (written
// unencrypted); the message is no longer listed, its unread mark is gone,
// a copy arriving again is not stored, and a message with no timer or one
// not yet due stays.
func TestExpireDueLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenPlaintext(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const canary, edited = "canary-expire-5c1e0d", "canary-expire-edit-93fa"
	sent := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	hlc := parley.HLC(uint64(sent.UnixMilli()) << 16)
	msg := text(bob, false, hlc, canary)
	msg.Message.Timer = 300
	msg.Envelope = append([]byte("sealed:"+canary), msg.Envelope...)
	msg.Message.ID = parley.NewEnvelopeID(msg.Envelope)
	edit := annotation(bob, parley.KindEdit, msg.Message.ID, hlc+1<<16, edited)
	later := text(bob, false, hlc+2<<16, "stays a while")
	later.Message.Timer = 3600
	keeps := text(bob, false, hlc+3<<16, "stays for good")
	put(t, db, msg, edit, later, keeps)

	if at, ok, err := db.NextExpiry(); err != nil || !ok || !at.Equal(sent.Add(5*time.Minute)) {
		t.Fatalf("NextExpiry = %v, %v, %v; want %v", at, ok, err, sent.Add(5*time.Minute))
	}
	if gone, err := db.ExpireDue(sent.Add(5*time.Minute - time.Millisecond)); err != nil || len(gone) != 0 {
		t.Fatalf("ExpireDue before the expiry = %v, %v", gone, err)
	}
	gone, err := db.ExpireDue(sent.Add(10 * time.Minute))
	if err != nil || len(gone) != 1 || gone[0].ID != msg.Message.ID || gone[0].Text != canary {
		t.Fatalf("ExpireDue = %+v, %v", gone, err)
	}
	if at, ok, _ := db.NextExpiry(); !ok || !at.Equal(sent.Add(2*time.Millisecond+time.Hour)) {
		t.Errorf("next expiry %v, %v; want the later message's", at, ok)
	}
	if err := db.Reclaim(); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.Messages(msg.Message.Conversation, 0)
	if err != nil || len(msgs) != 2 || msgs[0].ID != later.Message.ID || msgs[1].ID != keeps.Message.ID {
		t.Fatalf("listed after expiry: %+v, %v", msgs, err)
	}
	if conv, _ := db.Conversation(msg.Message.Conversation); conv.Unread != 2 {
		t.Errorf("unread %d after expiry, want 2", conv.Unread)
	}
	if added := put(t, db, msg); added[0] {
		t.Error("an expired message arriving again was stored")
	}
	for _, c := range []string{canary, edited} {
		if held, err := db.Holds([]byte(c)); err != nil || held {
			t.Errorf("the store holds %q (err %v)", c, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, c := range []string{canary, edited} {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds %q", filepath.Base(path), c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTimers: timers are listed in (HLC, ID) order whatever order they were
// stored in, and a timer is listed in its conversation but never unread.
func TestTimers(t *testing.T) {
	db := openTemp(t)
	var recs []Record
	for i, secs := range []uint32{3600, 0, 300} {
		r := text(bob, false, parley.HLC(10+i)<<16, "")
		r.Message.Kind, r.Message.Text, r.Message.Timer = parley.KindTimer, "", secs
		recs = append(recs, r)
	}
	put(t, db, recs[2], recs[0], recs[1])
	got, err := db.Timers(recs[0].Message.Conversation)
	if err != nil || len(got) != 3 || got[0].Timer != 3600 || got[1].Timer != 0 || got[2].Timer != 300 {
		t.Fatalf("Timers = %+v, %v", got, err)
	}
	if conv, _ := db.Conversation(recs[0].Message.Conversation); conv.Unread != 0 {
		t.Errorf("unread %d, want 0", conv.Unread)
	}
	if msgs, _ := db.Messages(recs[0].Message.Conversation, 0); len(msgs) != 3 {
		t.Errorf("%d listed, want the 3 timers", len(msgs))
	}
}

// TestReclaimWhileWriting: Reclaim, which the node runs after messages
// expire while messages keep arriving, fails no write and does not fail
// itself. (Its flush once ran beside the writer goroutine: badger then
// refused the writes, and a drop running at once refused the flush.)
func TestReclaimWhileWriting(t *testing.T) {
	db := openTemp(t)
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := text(bob, false, parley.HLC(i+1)<<16, "busy")
			if _, err := db.PutRecords([]Record{r}); err != nil {
				errs <- err
				return
			}
			if i%8 == 0 {
				if _, err := db.PurgeForEveryone(r.Message.ID); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	for range 20 {
		if err := db.Reclaim(); err != nil {
			close(stop)
			t.Fatalf("Reclaim: %v", err)
		}
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatalf("a write beside Reclaim: %v", err)
	}
}
