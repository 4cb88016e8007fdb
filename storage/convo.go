package storage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Conversation features: edits, deletes and reactions are records like any
// other (PutRecords), of kinds that name a Target. They are indexed by
// their target, so that a message's view is computed from what targets it
// whenever it is read, whatever order they arrived in (the node folds
// them, node/convo.go), and so that one arriving before its target waits
// for it. Deleting purges: the text, file ID and edits of a message are
// removed, and a tombstone keeps a copy arriving again from being stored.

const (
	// cv/t/<target><hlc><id> → empty: an edit, delete or reaction of target.
	prefixAnnotation = "cv/t/"
	// cv/x/<id> → tombstone: the envelope was purged (deleted for everyone,
	// or for me); a copy arriving again is skipped like a duplicate.
	prefixTombstone = "cv/x/"
)

// Tombstone values: the first byte says how the message went. Deleted for
// everyone, the message's shell (its record without text or file, marked
// Deleted) follows: it lives here rather than under r/, so that every
// version of r/<id> can be dropped from the disk (dropKeys). Deleted for me,
// a group message keeps its (sealed) envelope for sync, and the key of its
// sync index entry follows, so that a later delete for everyone can purge
// that too.
const (
	tombstoneForEveryone = 1
	tombstoneForMe       = 2
)

func annotationKey(m parley.Message) []byte {
	return displayKeyAt(prefixAnnotation, parley.ConversationID(*m.Target), m.HLC, m.ID)
}
func annotationPrefix(target parley.EnvelopeID) []byte {
	return key(prefixAnnotation, target[:])
}
func tombstoneKey(id parley.EnvelopeID) []byte { return key(prefixTombstone, id[:]) }

// Annotations returns, for each of targets that has any, the stored edits,
// deletes and reactions that name it, in (HLC, ID) order.
func (db *DB) Annotations(targets []parley.EnvelopeID) (map[parley.EnvelopeID][]parley.Message, error) {
	var out map[parley.EnvelopeID][]parley.Message
	err := db.viewAfterPurges(func(txn *badger.Txn) error {
		out = make(map[parley.EnvelopeID][]parley.Message)
		for _, t := range targets {
			p := annotationPrefix(t)
			var ids []parley.EnvelopeID
			err := scan(txn, string(p), func(k, _ []byte) error {
				id, err := displayKeyID(prefixAnnotation, k)
				if err != nil {
					return err
				}
				ids = append(ids, id)
				return nil
			})
			if err != nil {
				return err
			}
			for _, id := range ids {
				m, err := getMessage(txn, id)
				if err != nil {
					return notFoundIsMalformed(err)
				}
				out[t] = append(out[t], m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: annotations: %w", err)
	}
	return out, nil
}

// Purged reports whether a message was purged (PurgeForEveryone or
// PurgeForMe): it is not held, and a copy arriving is not stored.
func (db *DB) Purged(id parley.EnvelopeID) (bool, error) {
	var ok bool
	err := db.view(func(txn *badger.Txn) (err error) {
		ok, err = exists(txn, tombstoneKey(id))
		return err
	})
	return ok, err
}

// PurgeForEveryone deletes a message for everyone: its envelope, its text
// and file ID, its edits (their envelopes and texts), its unread mark, its
// outbox and pending entries and its sync index entry are removed, and the
// message stays listed as a shell marked Deleted. A message not held (yet)
// is left alone (false): the node purges it when it arrives. Purging twice
// is a no-op.
func (db *DB) PurgeForEveryone(id parley.EnvelopeID) (bool, error) {
	var done bool
	var dropped [][]byte
	err := db.submit(1, func(w *wtxn, _ int) error {
		var err error
		done, dropped, err = purge(w.txn, id, true)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: delete %s for everyone: %w", id, err)
	}
	return done, db.drop(dropped)
}

// PurgeForMe deletes a message here only: it is no longer listed or held,
// nor are its edits. A group message keeps its sealed envelope, which sync
// serves to members who lack it (without it, every sync session would
// bring it back); everything readable goes.
func (db *DB) PurgeForMe(id parley.EnvelopeID) (bool, error) {
	var done bool
	var dropped [][]byte
	err := db.submit(1, func(w *wtxn, _ int) error {
		var err error
		done, dropped, err = purge(w.txn, id, false)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: delete %s for me: %w", id, err)
	}
	return done, db.drop(dropped)
}

// purge deletes one message and its edits; see PurgeForEveryone and
// PurgeForMe. dropped lists the keys whose every version is to be dropped
// from the disk once the transaction commits (DB.drop).
func purge(txn *badger.Txn, id parley.EnvelopeID, forEveryone bool) (done bool, dropped [][]byte, err error) {
	m, err := getMessage(txn, id)
	if errors.Is(err, parley.ErrNotFound) {
		if forEveryone {
			// Deleted for me before: a group envelope kept for sync goes now.
			return false, [][]byte{envelopeKey(id)}, purgeKeptEnvelope(txn, id)
		}
		return false, nil, nil
	}
	switch {
	case err != nil:
		return false, nil, err
	case m.Deleted:
		return false, nil, nil
	case !displayed(m) && m.Kind != parley.KindEdit:
		return false, nil, fmt.Errorf("%w: a %s cannot be deleted", parley.ErrMalformed, m.Kind)
	}
	var edits []parley.Message
	if displayed(m) {
		if err := scan(txn, string(annotationPrefix(id)), func(k, _ []byte) error {
			eid, err := displayKeyID(prefixAnnotation, k)
			if err != nil {
				return err
			}
			e, err := getMessage(txn, eid)
			if err != nil {
				return notFoundIsMalformed(err)
			}
			if e.Kind == parley.KindEdit && !e.Deleted {
				edits = append(edits, e)
			}
			return nil
		}); err != nil {
			return false, nil, err
		}
	}
	// Every word of the message and its edits goes from the search index.
	if dropped, err = purgePostings(txn, m, edits); err != nil {
		return false, nil, err
	}
	for _, e := range append(edits, m) {
		if err := purgeOne(txn, e, forEveryone); err != nil {
			return false, nil, err
		}
		dropped = append(dropped, recordKey(e.ID))
		// Deleted for me, a group message's sealed envelope stays for sync.
		if forEveryone || !isGroupRecord(txn, e) {
			dropped = append(dropped, envelopeKey(e.ID))
		}
	}
	return true, dropped, nil
}

// purgeOne purges one record (a message or one of its edits).
func purgeOne(txn *badger.Txn, m parley.Message, forEveryone bool) error {
	if isUnread(m) {
		if err := txn.Delete(displayKey(prefixUnread, m)); err != nil {
			return err
		}
		c, err := getConversation(txn, m.Conversation)
		if err != nil {
			return notFoundIsMalformed(err)
		}
		c.Unread = max(c.Unread-1, 0)
		if err := txn.Set(conversationKey(c.ID), encodeConversation(c)); err != nil {
			return err
		}
	}
	if m.Outgoing && m.To != "" && checkPeer(m.To) == nil {
		if _, _, err := removeFromOutbox(txn, m.To, m.ID, m.Status); err != nil {
			return err
		}
	}
	if err := txn.Delete(pendingGroupKey(m.Conversation, m.ID)); err != nil {
		return err
	}
	sync := syncIndexKey(m.Conversation, m.HLC, m.ID)
	grouped, err := exists(txn, sync)
	if err != nil {
		return err
	}
	// The record and the envelope stay live until DB.drop removes every
	// version of them: badger's DropPrefix skips keys already deleted.
	if forEveryone {
		shell := parley.Message{
			ID: m.ID, Conversation: m.Conversation, From: m.From, To: m.To, Outgoing: m.Outgoing,
			Kind: m.Kind, HLC: m.HLC, Status: m.Status, ReplyTo: m.ReplyTo, Target: m.Target, Deleted: true,
		}
		if m.Status < parley.StatusRead && !m.Outgoing {
			shell.Status = parley.StatusRead // nothing left to read
		}
		if err := txn.Delete(sync); err != nil {
			return err
		}
		if err := txn.Set(recordKey(m.ID), encodeMessage(shell)); err != nil {
			return err
		}
		return txn.Set(tombstoneKey(m.ID), append([]byte{tombstoneForEveryone}, encodeMessage(shell)...))
	}
	if err := txn.Delete(displayKey(prefixMessages, m)); err != nil { // absent for edits: harmless
		return err
	}
	if m.Target != nil {
		if err := txn.Delete(annotationKey(m)); err != nil {
			return err
		}
	}
	tomb := []byte{tombstoneForMe}
	if grouped {
		tomb = append(tomb, sync...)
	}
	return txn.Set(tombstoneKey(m.ID), tomb)
}

// purgeKeptEnvelope removes the sealed envelope of a group message that
// was deleted for me, when it is deleted for everyone.
func purgeKeptEnvelope(txn *badger.Txn, id parley.EnvelopeID) error {
	tomb, err := getValue(txn, tombstoneKey(id))
	if errors.Is(err, parley.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(tomb) == 0 || tomb[0] != tombstoneForMe || len(tomb) == 1 {
		return nil
	}
	sync := tomb[1:]
	if len(sync) != len(prefixSync)+displayKeyLen || string(sync[:len(prefixSync)]) != prefixSync {
		return fmt.Errorf("%w: tombstone of %s", parley.ErrMalformed, id)
	}
	if err := txn.Delete(sync); err != nil {
		return err
	}
	return nil // its envelope goes with DB.drop; its record went when it was deleted for me
}

// reclaimPrefix names no key: dropping it is how Reclaim makes badger
// flush its memtables.
const reclaimPrefix = "cv/reclaim/"

// Reclaim rewrites the store's files so that what deletes removed is gone
// from the disk, not only from every read: badger keeps a deleted value in
// its memtable's write-ahead log, in older table versions and in the value
// log until compaction and value-log GC drop them. It flushes the
// memtables (DropPrefix of a prefix no key has does that first), compacts
// every level into one (Flatten) and runs value-log GC until nothing is left
// to rewrite. It costs a rewrite of the tables: the node calls it after
// messages expire (at most every few minutes), not per message. Writes go
// on meanwhile: the flush, which refuses writes while it runs, runs on the
// writer goroutine between batches (DB.drop), before mu is taken (the
// writer may need mu to reopen the store); compaction and GC keep drops
// waiting (reclaimMu), so a purge during them waits for them.
func (db *DB) Reclaim() error {
	if err := db.drop([][]byte{[]byte(reclaimPrefix)}); err != nil {
		return fmt.Errorf("storage: reclaim: flush: %w", err)
	}
	db.reclaimMu.Lock()
	defer db.reclaimMu.Unlock()
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if db.readOnly.Load() {
		return nil // nothing can be rewritten; the next Reclaim will
	}
	if err := db.bdb.Flatten(1); err != nil {
		return fmt.Errorf("storage: reclaim: compact: %w", err)
	}
	for {
		err := db.bdb.RunValueLogGC(0.01)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrGCInMemoryMode) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("storage: reclaim: value-log GC: %w", err)
		}
	}
}

// isGroupRecord: m is a group envelope (indexed for sync). Called after
// purgeOne, so it reads the tombstone, which says so.
func isGroupRecord(txn *badger.Txn, m parley.Message) bool {
	tomb, err := getValue(txn, tombstoneKey(m.ID))
	return err == nil && len(tomb) > 1 && tomb[0] == tombstoneForMe
}

// deletedRecord is the record of a message deleted for everyone (its
// shell, kept in its tombstone), or notFound.
func deletedRecord(txn *badger.Txn, id parley.EnvelopeID, notFound error) ([]byte, error) {
	tomb, err := getValue(txn, tombstoneKey(id))
	if errors.Is(err, parley.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if len(tomb) < 2 || tomb[0] != tombstoneForEveryone {
		return nil, notFound // deleted for me: not held
	}
	return tomb[1:], nil
}

// dropReq asks the writer goroutine to drop keys from the disk.
type dropReq struct {
	keys  [][]byte
	reply chan error
}

// drop removes every version of keys from the disk: a deleted key's old
// values otherwise stay in the memtable's write-ahead log and the tables
// until compaction happens to rewrite them. Badger's DropPrefix does it
// (it flushes the memtables and rewrites the tables that hold the keys);
// it refuses writes while it runs, so it runs on the writer goroutine,
// between batches. Each key here is a whole ID-bearing key, so no other
// key has it as a prefix.
func (db *DB) drop(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	d := dropReq{keys: keys, reply: make(chan error, 1)}
	select {
	case db.drops <- d:
	case <-db.quit:
		return ErrClosed
	}
	if err := <-d.reply; err != nil {
		return err
	}
	return db.clearSearchPurges(keys) // search.go
}

// dropKeys runs on the writer goroutine (writeLoop).
func (db *DB) dropKeys(keys [][]byte) error {
	db.reclaimMu.Lock()
	defer db.reclaimMu.Unlock()
	if db.readOnly.Load() {
		return nil // the keys are deleted; their old versions go with the next drop
	}
	if err := db.bdb.DropPrefix(keys...); err != nil {
		return fmt.Errorf("storage: dropping deleted keys: %w", err)
	}
	return nil
}

// Holds reports whether any key or value of the store, in any version it
// still keeps, contains needle: how a test (or an audit) checks that a
// deleted text is gone from the store, not only from what reads return.
// It reads everything; it is not for the message path.
func (db *DB) Holds(needle []byte) (bool, error) {
	found := false
	err := db.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid() && !found; it.Next() {
			item := it.Item()
			if bytes.Contains(item.Key(), needle) {
				found = true
				break
			}
			if err := item.Value(func(v []byte) error {
				found = bytes.Contains(v, needle)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return found, err
}

// PurgeFile removes a file record (its name, size, key and hashes) from
// the store, every version of it: its message was deleted for everyone.
// An unknown file is no error.
func (db *DB) PurgeFile(id string) error {
	k, err := fileKey(id)
	if err != nil {
		return err
	}
	// Dropped while live (DropPrefix skips deleted keys), then deleted in
	// case a write raced it.
	if err := db.drop([][]byte{k}); err != nil {
		return err
	}
	err = db.submit(1, func(w *wtxn, _ int) error { return w.txn.Delete(k) })
	if err != nil {
		return fmt.Errorf("storage: purge file %s: %w", id, err)
	}
	return nil
}

// finishPurges drops from the disk what a purge interrupted by a crash
// left live: the record or envelope of a message its tombstone says is
// deleted (DB.drop runs after the purge's transaction). It runs in Open,
// before the writer starts, so nothing writes concurrently; it costs one
// scan of the tombstones.
func (db *DB) finishPurges() error {
	if db.readOnly.Load() {
		return nil
	}
	var live [][]byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		var ids []parley.EnvelopeID
		var keepEnvelope []bool
		err := scan(txn, prefixTombstone, func(k, v []byte) error {
			id, err := parley.EnvelopeIDFromBytes(k[len(prefixTombstone):])
			if err != nil {
				return err
			}
			ids = append(ids, id)
			// Deleted for me in a group: the sealed envelope stays for sync.
			keepEnvelope = append(keepEnvelope, len(v) > 1 && v[0] == tombstoneForMe)
			return nil
		})
		if err != nil {
			return err
		}
		for i, id := range ids {
			keys := [][]byte{recordKey(id)}
			if !keepEnvelope[i] {
				keys = append(keys, envelopeKey(id))
			}
			for _, k := range keys {
				ok, err := exists(txn, k)
				if err != nil {
					return err
				}
				if ok {
					live = append(live, k)
				}
			}
		}
		return nil
	})
	if err != nil || len(live) == 0 {
		return err
	}
	return db.dropKeys(live)
}
