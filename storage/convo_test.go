package storage

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// annotation builds an edit, delete or reaction record of target by peer.
func annotation(peer string, kind parley.Kind, target parley.EnvelopeID, hlc parley.HLC, text string) Record {
	r := text_(peer, hlc, text)
	r.Message.Kind, r.Message.Target = kind, &target
	return r
}

func text_(peer string, hlc parley.HLC, body string) Record { return text(peer, false, hlc, body) }

// TestPurgeForEveryoneLeavesNoTrace: after a delete for everyone and
// Reclaim, no key or value of the open store (every version) and no byte
// of its files (written unencrypted) holds the text of the message or of
// its edit; the message is listed as deleted, and a copy arriving again is
// not stored.
func TestPurgeForEveryoneLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenPlaintext(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const canary, edited = "canary-8d1f4c2a", "canary-edit-77ab01"
	msg := text(bob, false, 10<<16, canary)
	edit := annotation(bob, parley.KindEdit, msg.Message.ID, 11<<16, edited)
	msg.Envelope = append([]byte("sealed:"+canary), msg.Envelope...)
	edit.Envelope = append([]byte("sealed:"+edited), edit.Envelope...)
	msg.Message.ID, edit.Message.ID = parley.NewEnvelopeID(msg.Envelope), parley.NewEnvelopeID(edit.Envelope)
	edit.Message.Target = &msg.Message.ID
	put(t, db, msg, edit)
	if conv, _ := db.Conversation(msg.Message.Conversation); conv.Unread != 1 {
		t.Fatalf("unread %d before the delete, want 1", conv.Unread)
	}
	if ok, err := db.PurgeForEveryone(msg.Message.ID); err != nil || !ok {
		t.Fatalf("PurgeForEveryone = %v, %v", ok, err)
	}
	if err := db.Reclaim(); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.Messages(msg.Message.Conversation, 0)
	if err != nil || len(msgs) != 1 || !msgs[0].Deleted || msgs[0].Text != "" {
		t.Fatalf("listed after the delete: %+v, %v", msgs, err)
	}
	if conv, _ := db.Conversation(msg.Message.Conversation); conv.Unread != 0 {
		t.Errorf("unread %d after the delete, want 0", conv.Unread)
	}
	if added := put(t, db, msg); added[0] {
		t.Error("a deleted message arriving again was stored")
	}
	err = db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			for _, c := range []string{canary, edited} {
				if bytes.Contains(it.Item().Key(), []byte(c)) || bytes.Contains(v, []byte(c)) {
					t.Errorf("key %q holds %q", it.Item().Key(), c)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Close flushes what is in memory: the files are searched as they are
	// left.
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

// TestPurgeForMe: the message and its edit are no longer listed or held;
// a DM's envelope is gone and a copy arriving again is skipped.
func TestPurgeForMe(t *testing.T) {
	db := openTemp(t)
	msg := text(bob, false, 10<<16, "hello")
	keep := text(bob, false, 12<<16, "stays")
	edit := annotation(bob, parley.KindEdit, msg.Message.ID, 11<<16, "hello!")
	react := annotation(bob, parley.KindReaction, keep.Message.ID, 13<<16, "")
	react.Message.Emoji = "👍"
	put(t, db, msg, keep, edit, react)
	if ok, err := db.PurgeForMe(msg.Message.ID); err != nil || !ok {
		t.Fatalf("PurgeForMe = %v, %v", ok, err)
	}
	msgs, err := db.Messages(msg.Message.Conversation, 0)
	if err != nil || len(msgs) != 1 || msgs[0].ID != keep.Message.ID {
		t.Fatalf("listed after the delete: %+v, %v", msgs, err)
	}
	for _, id := range []parley.EnvelopeID{msg.Message.ID, edit.Message.ID} {
		if _, err := db.Message(id); err == nil {
			t.Errorf("record %s still held", id)
		}
		if held, _ := db.HasEnvelope(id); !held {
			t.Errorf("HasEnvelope(%s) false: a copy would be fetched again", id)
		}
	}
	if added := put(t, db, msg); added[0] {
		t.Error("a deleted message arriving again was stored")
	}
	ann, err := db.Annotations([]parley.EnvelopeID{keep.Message.ID, msg.Message.ID})
	if err != nil || len(ann[keep.Message.ID]) != 1 || ann[keep.Message.ID][0].Emoji != "👍" || len(ann[msg.Message.ID]) != 0 {
		t.Errorf("annotations: %+v, %v", ann, err)
	}
}

// filesHold reports which files under dir contain needle.
func filesHold(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(needle)) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestInterruptedPurgeFinishesAtOpen: a delete for everyone whose drop
// never ran (a crash right after its transaction) is finished when the
// store opens again: the text leaves the files.
func TestInterruptedPurgeFinishesAtOpen(t *testing.T) {
	dir := t.TempDir()
	open := func() *DB {
		db, err := OpenPlaintext(Options{Dir: dir, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	const canary = "canary-interrupted-3c9e"
	msg := text(bob, false, 10<<16, canary)
	put(t, db, msg)
	// The purge's transaction, without the drop that follows it.
	if err := db.submit(1, func(w *wtxn, _ int) error {
		_, _, err := purge(w.txn, msg.Message.ID, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesHold(t, dir, canary); len(hits) == 0 {
		t.Fatal("the test is void: the text is not in the files before the store opens again")
	}
	db = open()
	if m, err := db.Message(msg.Message.ID); err != nil || !m.Deleted || m.Text != "" {
		t.Fatalf("after reopening: %+v, %v", m, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesHold(t, dir, canary); len(hits) > 0 {
		t.Errorf("%v still hold the deleted text", hits)
	}
}
