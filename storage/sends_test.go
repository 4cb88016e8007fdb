package storage

import (
	"errors"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// A send retried with its client ID stores nothing new, whether the two
// arrive in one call, concurrently or across a restart, and the first one
// is found by its client ID.
func TestClientIDStoresOnce(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	cid := parley.NewClientID()
	if _, err := db.MessageByClientID(cid); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("MessageByClientID before any send: %v, want ErrNotFound", err)
	}

	first, again := queued(bob, 1), queued(bob, 2)
	first.ClientID, again.ClientID = cid, cid
	if added := put(t, db, first, again); !added[0] || added[1] {
		t.Fatalf("added = %v, want [true false]", added)
	}

	var wg sync.WaitGroup
	added := make([]bool, 8)
	for i := range added {
		wg.Go(func() {
			r := queued(bob, parley.HLC(10+i))
			r.ClientID = cid
			a, err := db.PutRecords([]Record{r})
			if err != nil {
				t.Error(err)
				return
			}
			added[i] = a[0]
		})
	}
	wg.Wait()
	for i, a := range added {
		if a {
			t.Errorf("concurrent send %d with a used client ID was stored", i)
		}
	}

	db.Close()
	db = openAt(t, dir, key)
	r := queued(bob, 3)
	r.ClientID = cid
	if added := put(t, db, r); added[0] {
		t.Fatal("a send with a used client ID was stored after a restart")
	}
	m, err := db.MessageByClientID(cid)
	if err != nil || m.ID != first.Message.ID {
		t.Fatalf("MessageByClientID = %s, %v; want %s", m.ID, err, first.Message.ID)
	}
	msgs, _ := db.Messages(first.Message.Conversation, 0)
	equalIDs(t, "Messages", ids(msgs), recIDs(first))
	if n, _ := db.OutboxLen(bob); n != 1 {
		t.Errorf("outbox holds %d entries, want 1", n)
	}
}

// Our group messages stored as queued are listed as pending until their
// status moves on; others' messages and ours already sent never are.
func TestPendingGroupSends(t *testing.T) {
	db := openTemp(t)
	group := parley.ConversationID{7}
	groupRec := func(outgoing bool, status parley.Status) Record {
		r := text(bob, outgoing, 1, "hi")
		r.Message.Conversation, r.Message.To, r.Message.Status = group, "", status
		r.Group, r.KeyID = true, [16]byte{9}
		return r
	}
	mine, sent, theirs := groupRec(true, parley.StatusQueued), groupRec(true, parley.StatusSent), groupRec(false, parley.StatusDelivered)
	put(t, db, mine, sent, theirs, queued(bob, 1))
	pending, err := db.PendingGroupSends(group)
	if err != nil || len(pending) != 1 || pending[0] != (PendingSend{ID: mine.Message.ID, KeyID: [16]byte{9}}) {
		t.Fatalf("PendingGroupSends = %v, %v; want only %s", pending, err, mine.Message.ID)
	}
	if _, err := db.AdvanceStatus([]parley.EnvelopeID{mine.Message.ID}, parley.StatusSent); err != nil {
		t.Fatal(err)
	}
	if pending, err := db.PendingGroupSends(group); err != nil || len(pending) != 0 {
		t.Fatalf("PendingGroupSends after sent = %v, %v; want none", pending, err)
	}
}

// A store from before the p/ index (schema 2) lists its queued group
// messages as pending once opened: without that they stayed "queued"
// forever, since only p/ tells catch-up what to move on.
func TestMigrationListsOldPendingGroupSends(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	group := parley.ConversationID{7}
	mine := text(bob, true, 1, "written while everyone was away")
	mine.Message.Conversation, mine.Message.To, mine.Message.Status = group, "", parley.StatusQueued
	mine.Group, mine.KeyID = true, [16]byte{9}
	put(t, db, mine)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// As schema 2 wrote it: the record and its sync entry, no p/ entry.
	bdb, err := badger.Open(badgerOptions(dir, key, quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(txn *badger.Txn) error {
		return errors.Join(txn.Delete(pendingGroupKey(group, mine.Message.ID)), txn.Set([]byte(keySchema), encodeUint64(2)))
	})
	if err := errors.Join(err, bdb.Close()); err != nil {
		t.Fatal(err)
	}

	db = openAt(t, dir, key)
	pending, err := db.PendingGroupSends(group)
	if err != nil || len(pending) != 1 || pending[0] != (PendingSend{ID: mine.Message.ID, KeyID: [16]byte{9}}) {
		t.Fatalf("PendingGroupSends after the migration = %v, %v; want %s", pending, err, mine.Message.ID)
	}
}
