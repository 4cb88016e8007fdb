package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
	"github.com/parley-im/parley/storage/fulltext"
)

// Full-text search: an inverted index of the words of every message the
// user sees (texts and file names), written in the same transaction as
// the message, so that a crash never leaves a message unindexed or an
// entry without its message.
//
// A posting is a key sx/w/<word>\x00<^hlc><id>, with no value: the word,
// then the message's HLC inverted (so that a word's postings run newest
// first) and its ID. A query walks the postings of its words in that order
// and intersects them by seeking (a leapfrog join), so it costs about as
// many seeks as the rarest word has postings before the page is full; the
// last word of a query, as the user types it, is a prefix: the union of
// every word that begins with it, found by seeking from word to word.
//
// Edits add the words of the new text under the message's posting and
// remove none: the index holds every version's words, and the node checks
// each hit against the latest text (fulltext.Match), which it reads anyway
// for the snippet. So an edit costs no read of the earlier versions, and
// a purge can find every posting of a message from the texts it purges.
//
// A purge (delete for everyone or for me, or any other: it all goes
// through purge) must leave no word of the message in the store: postings
// are keys, and a deleted key's earlier versions stay in the tables until
// compaction, so they are dropped from the disk (DB.drop, badger's
// DropPrefix, which only drops live keys) after the purge commits, with
// the record and envelope. The purge also writes sx/p/<id>, removed once
// the drop is done: if the process dies in between, Open finds the marker
// and drops the message's postings by scanning the index (it has no text
// left to find them by).
//
// Stores written before the index existed are indexed by a background
// backfill at Open, in batches, that records how far it got in sx/b, so a
// restart resumes it.
const (
	prefixSearchWord  = "sx/w/" // sx/w/<word>\x00<^hlc><id> → empty: a posting
	prefixSearchPurge = "sx/p/" // sx/p/<id> → empty: a purged message whose postings may still be live
	keySearchBackfill = "sx/b"  // the last record ID the backfill indexed, or searchBackfillDone
	prefixSearchEdits = "sx/e/" // sx/e/<target> → edit IDs (32 bytes each) stored before their target
)

// searchBackfillDone is sx/b's value once every record is indexed.
var searchBackfillDone = []byte("done")

// postingSuffixLen is what follows the word and its separator.
const postingSuffixLen = 8 + 32

func postingKey(word string, hlc parley.HLC, id parley.EnvelopeID) []byte {
	k := make([]byte, 0, len(prefixSearchWord)+len(word)+1+postingSuffixLen)
	k = append(k, prefixSearchWord...)
	k = append(k, word...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, ^uint64(hlc))
	return append(k, id[:]...)
}

func wordPrefix(word string) []byte {
	return append(append([]byte(prefixSearchWord), word...), 0)
}

func searchPurgeKey(id parley.EnvelopeID) []byte { return key(prefixSearchPurge, id[:]) }
func searchEditsKey(target parley.EnvelopeID) []byte {
	return key(prefixSearchEdits, target[:])
}

// searchable: a message whose text search finds (a text, or a file by its
// name), while it is not deleted.
func searchable(m parley.Message) bool {
	return (m.Kind == parley.KindText || m.Kind == parley.KindFile) && !m.Deleted
}

// postings lists the posting keys of text under the message at (hlc, id).
func postings(text string, hlc parley.HLC, id parley.EnvelopeID) [][]byte {
	words := fulltext.Words(text)
	keys := make([][]byte, len(words))
	for i, w := range words {
		keys[i] = postingKey(w, hlc, id)
	}
	return keys
}

// indexRecord writes the postings a new record brings: a message's words,
// and with pendingEdits those of edits stored before it; an edit's words
// under its target, when the target is held, or else the edit's ID under
// sx/e/<target>, for the target to find when it comes. (A point read: an
// iterator in the writer's transaction sorts every write pending in it,
// which costs too much per message.)
func indexRecord(txn *badger.Txn, m parley.Message, pendingEdits bool) error {
	set := func(keys [][]byte) error {
		for _, k := range keys {
			if err := txn.Set(k, nil); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case searchable(m):
		if err := set(postings(m.Text, m.HLC, m.ID)); err != nil {
			return err
		}
		if !pendingEdits {
			return nil
		}
		waiting, err := getValue(txn, searchEditsKey(m.ID))
		if errors.Is(err, parley.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for len(waiting) >= 32 {
			id, _ := parley.EnvelopeIDFromBytes(waiting[:32])
			waiting = waiting[32:]
			e, err := getMessage(txn, id)
			if errors.Is(err, parley.ErrNotFound) {
				continue // purged meanwhile
			}
			if err != nil {
				return err
			}
			if e.Kind == parley.KindEdit && !e.Deleted && e.Conversation == m.Conversation {
				if err := set(postings(e.Text, m.HLC, m.ID)); err != nil {
					return err
				}
			}
		}
		return txn.Delete(searchEditsKey(m.ID))
	case m.Kind == parley.KindEdit && m.Target != nil && !m.Deleted:
		t, err := getMessage(txn, *m.Target)
		if errors.Is(err, parley.ErrNotFound) {
			k := searchEditsKey(*m.Target)
			waiting, err := getValue(txn, k)
			if err != nil && !errors.Is(err, parley.ErrNotFound) {
				return err
			}
			for i := 0; i+32 <= len(waiting); i += 32 {
				if bytes.Equal(waiting[i:i+32], m.ID[:]) {
					return nil
				}
			}
			return txn.Set(k, append(waiting, m.ID[:]...))
		}
		if err != nil {
			return err
		}
		if searchable(t) && t.Conversation == m.Conversation {
			return set(postings(m.Text, t.HLC, t.ID))
		}
	}
	return nil
}

// editsOf returns the edits stored for target that are not deleted.
func editsOf(txn *badger.Txn, target parley.EnvelopeID) ([]parley.Message, error) {
	var out []parley.Message
	err := scan(txn, string(annotationPrefix(target)), func(k, _ []byte) error {
		id, err := displayKeyID(prefixAnnotation, k)
		if err != nil {
			return err
		}
		e, err := getMessage(txn, id)
		if err != nil {
			return notFoundIsMalformed(err)
		}
		if e.Kind == parley.KindEdit && !e.Deleted {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// purgePostings is purge's part: the posting keys of m (a message, with
// its edits, or an edit alone) to drop once the purge commits, and the
// marker that says they may still be live.
func purgePostings(txn *badger.Txn, m parley.Message, edits []parley.Message) ([][]byte, error) {
	var keys [][]byte
	switch {
	case searchable(m):
		keys = postings(m.Text, m.HLC, m.ID)
		for _, e := range edits {
			keys = append(keys, postings(e.Text, m.HLC, m.ID)...)
		}
	case m.Kind == parley.KindEdit && m.Target != nil:
		t, err := getMessage(txn, *m.Target)
		if errors.Is(err, parley.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !searchable(t) {
			return nil, nil // purged with its target already
		}
		// An edit alone, its target still shown: keep the words another
		// version of the target still has.
		keep := fulltext.Words(t.Text)
		others, err := editsOf(txn, t.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range others {
			if e.ID != m.ID {
				keep = append(keep, fulltext.Words(e.Text)...)
			}
		}
		for _, w := range fulltext.Words(m.Text) {
			if !slices.Contains(keep, w) {
				keys = append(keys, postingKey(w, t.HLC, t.ID))
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	return keys, txn.Set(searchPurgeKey(m.ID), nil)
}

// clearSearchPurges removes the markers of the messages whose postings
// are among keys, now dropped.
func (db *DB) clearSearchPurges(dropped [][]byte) error {
	var markers [][]byte
	for _, k := range dropped {
		if bytes.HasPrefix(k, []byte(prefixSearchWord)) && len(k) >= len(prefixSearchWord)+1+postingSuffixLen {
			id, _ := parley.EnvelopeIDFromBytes(k[len(k)-32:])
			m := searchPurgeKey(id)
			if !slices.ContainsFunc(markers, func(x []byte) bool { return bytes.Equal(x, m) }) {
				markers = append(markers, m)
			}
		}
	}
	return db.submit(len(markers), func(w *wtxn, i int) error { return w.txn.Delete(markers[i]) })
}

// finishSearchPurges drops the postings of purges a crash interrupted
// before their drop (sx/p/ markers), by scanning the index. It runs in
// Open before the writer starts, like finishPurges.
func (db *DB) finishSearchPurges() error {
	if db.readOnly.Load() {
		return nil
	}
	var markers [][]byte
	var live [][]byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		purged := make(map[parley.EnvelopeID]bool)
		if err := scan(txn, prefixSearchPurge, func(k, _ []byte) error {
			id, err := parley.EnvelopeIDFromBytes(k[len(prefixSearchPurge):])
			if err != nil {
				return err
			}
			purged[id] = true
			markers = append(markers, bytes.Clone(k))
			return nil
		}); err != nil || len(purged) == 0 {
			return err
		}
		p := []byte(prefixSearchWord)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			k := it.Item().Key()
			if len(k) < len(p)+1+postingSuffixLen {
				continue
			}
			if id, err := parley.EnvelopeIDFromBytes(k[len(k)-32:]); err == nil && purged[id] {
				live = append(live, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil || len(markers) == 0 {
		return err
	}
	if len(live) > 0 {
		if err := db.dropKeys(live); err != nil {
			return err
		}
	}
	return db.bdb.Update(func(txn *badger.Txn) error {
		for _, m := range markers {
			if err := txn.Delete(m); err != nil {
				return err
			}
		}
		return nil
	})
}

// searchBackfillNeeded says whether the store holds records the index may
// lack. A store with no record at all (a new one) is marked complete here,
// in Open before the writer starts, so that no goroutine writes behind
// its first user's back.
func (db *DB) searchBackfillNeeded() (bool, error) {
	if db.noSearchIndex {
		return false, nil
	}
	var state []byte
	empty := true
	err := db.bdb.View(func(txn *badger.Txn) (err error) {
		state, err = getValue(txn, []byte(keySearchBackfill))
		if errors.Is(err, parley.ErrNotFound) {
			err = nil
		}
		if err != nil || state != nil {
			return err
		}
		p := []byte(prefixRecord)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		it.Seek(p)
		empty = !it.ValidForPrefix(p)
		return nil
	})
	switch {
	case err != nil:
		return false, fmt.Errorf("storage: search index state: %w", err)
	case bytes.Equal(state, searchBackfillDone):
		db.searchComplete.Store(true)
		return false, nil
	case state == nil && empty && !db.readOnly.Load():
		err := db.bdb.Update(func(txn *badger.Txn) error {
			return txn.Set([]byte(keySearchBackfill), searchBackfillDone)
		})
		if err != nil {
			return false, fmt.Errorf("storage: search index state: %w", err)
		}
		db.searchComplete.Store(true)
		return false, nil
	}
	return true, nil
}

// searchBackfillBatch is how many records one backfill write indexes.
const searchBackfillBatch = 1000

// backfillSearch indexes the records a store held before it had the
// index, from where it last stopped, then marks the index complete. It
// runs on its own goroutine from Open until done or Close; its writes go
// through the writer like any other, so a message stored meanwhile is
// indexed either way (postings are idempotent).
func (db *DB) backfillSearch() {
	defer close(db.backfillDone)
	var after []byte
	err := db.view(func(txn *badger.Txn) (err error) {
		after, err = getValue(txn, []byte(keySearchBackfill))
		if errors.Is(err, parley.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		db.log.Warn("search index: reading how far indexing got", "err", err)
		return
	}
	if bytes.Equal(after, searchBackfillDone) {
		db.searchComplete.Store(true)
		return
	}
	indexed := 0
	for {
		ids, err := db.recordIDsAfter(after, searchBackfillBatch)
		if err != nil {
			db.logBackfillStop(err)
			return
		}
		if len(ids) == 0 {
			err := db.submit(1, func(w *wtxn, _ int) error {
				return w.txn.Set([]byte(keySearchBackfill), searchBackfillDone)
			})
			if err != nil {
				db.logBackfillStop(err)
				return
			}
			db.searchComplete.Store(true)
			if indexed > 0 {
				db.log.Info("search index: older messages indexed", "records", indexed)
			}
			return
		}
		err = db.submit(len(ids), func(w *wtxn, i int) error {
			m, err := getMessage(w.txn, ids[i])
			if err == nil {
				err = indexRecord(w.txn, m, false)
			} else if errors.Is(err, parley.ErrNotFound) {
				err = nil // purged meanwhile
			}
			if err != nil {
				return err
			}
			return w.txn.Set([]byte(keySearchBackfill), ids[i][:])
		})
		if err != nil {
			db.logBackfillStop(err)
			return
		}
		indexed += len(ids)
		after = ids[len(ids)-1][:]
	}
}

func (db *DB) logBackfillStop(err error) {
	if errors.Is(err, ErrClosed) {
		return
	}
	db.log.Warn("search index: indexing older messages stopped; it resumes at the next start", "err", err)
}

// recordIDsAfter lists up to n record IDs after the ID after (all from the
// first when nil), in key order.
func (db *DB) recordIDsAfter(after []byte, n int) ([]parley.EnvelopeID, error) {
	var ids []parley.EnvelopeID
	err := db.view(func(txn *badger.Txn) error {
		p := []byte(prefixRecord)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		start := p
		if after != nil {
			start = append(key(prefixRecord, after), 0)
		}
		for it.Seek(start); it.ValidForPrefix(p) && len(ids) < n; it.Next() {
			id, err := parley.EnvelopeIDFromBytes(it.Item().Key()[len(p):])
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// SearchIndexComplete reports whether every stored message is indexed: false
// while the backfill of a store from before the index is running.
func (db *DB) SearchIndexComplete() bool { return db.searchComplete.Load() }

// SearchOptions narrows Search.
type SearchOptions struct {
	// Conversation, when set, keeps only its messages.
	Conversation *parley.ConversationID
	// After continues a search after the last message a previous call
	// returned (its Next), in the order results come: newest first.
	After *Cursor
	// Limit caps the messages returned; required, at most
	// MaxSearchLimit.
	Limit int
}

// MaxSearchLimit bounds SearchOptions.Limit.
const MaxSearchLimit = 1000

// maxSearchExamined bounds the postings one Search call reads, so that a
// query whose hits are mostly filtered out (by conversation, or deleted)
// returns in bounded time, with a cursor to go on from.
const maxSearchExamined = 20000

// maxPrefixWords is how many words a query's prefix may stand for and
// still take part in the join; beyond it, with other words to drive the
// join, the prefix is left to the caller's check (fulltext.Match).
const maxPrefixWords = 64

// Search returns the stored messages whose indexed words include every
// term of q (its last term, when q.Prefix, as the start of a word), newest
// first (HLC, then ID), up to opts.Limit, and the cursor to continue from
// (nil when there is no more). The index holds the words of every version
// of an edited message: the caller checks the latest text. Deleted
// messages are never returned.
func (db *DB) Search(q fulltext.Query, opts SearchOptions) (msgs []parley.Message, next *Cursor, err error) {
	if len(q.Terms) == 0 {
		return nil, nil, fmt.Errorf("storage: search: %w: no terms", parley.ErrMalformed)
	}
	if opts.Limit <= 0 || opts.Limit > MaxSearchLimit {
		return nil, nil, fmt.Errorf("storage: search: %w: limit %d", parley.ErrMalformed, opts.Limit)
	}
	err = db.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixSearchWord)})
		defer it.Close()
		var lists []postingList
		for _, t := range q.Exact() {
			lists = append(lists, &wordList{it: it, prefix: wordPrefix(t)})
		}
		if p := q.PrefixTerm(); p != "" {
			u, tooMany := expand(it, p, len(lists) > 0)
			switch {
			case tooMany: // the other terms drive the join
			case u == nil:
				return nil // no word begins so
			default:
				lists = append(lists, u)
			}
		}
		pos := make([]byte, postingSuffixLen)
		if opts.After != nil {
			pos = append(suffixOf(opts.After.HLC, opts.After.ID), 0) // strictly after it
		}
		for examined := 0; ; examined++ {
			x, ok := leapfrog(lists, pos)
			if !ok {
				return nil
			}
			hlc := parley.HLC(^binary.BigEndian.Uint64(x[:8]))
			id, _ := parley.EnvelopeIDFromBytes(x[8:])
			if len(msgs) == opts.Limit || examined == maxSearchExamined {
				// More may follow: continue just before this one.
				last := pos[:postingSuffixLen]
				next = &Cursor{HLC: parley.HLC(^binary.BigEndian.Uint64(last[:8]))}
				next.ID, _ = parley.EnvelopeIDFromBytes(last[8:])
				return nil
			}
			pos = append(x, 0)
			m, err := getMessage(txn, id)
			if errors.Is(err, parley.ErrNotFound) {
				continue // purged, its postings not dropped yet
			}
			if err != nil {
				return err
			}
			if !searchable(m) || m.HLC != hlc || opts.Conversation != nil && m.Conversation != *opts.Conversation {
				continue
			}
			msgs = append(msgs, m)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("storage: search: %w", err)
	}
	return msgs, next, nil
}

func suffixOf(hlc parley.HLC, id parley.EnvelopeID) []byte {
	return append(binary.BigEndian.AppendUint64(nil, ^uint64(hlc)), id[:]...)
}

// postingList is the postings of a word, or of several, in order.
type postingList interface {
	// seek returns the first posting suffix at or after pos, or false.
	seek(pos []byte) ([]byte, bool)
}

// wordList is one word's postings, read through the search's iterator.
type wordList struct {
	it     *badger.Iterator
	prefix []byte // sx/w/<word>\x00
}

func (l *wordList) seek(pos []byte) ([]byte, bool) {
	l.it.Seek(append(l.prefix[:len(l.prefix):len(l.prefix)], pos...))
	if !l.it.ValidForPrefix(l.prefix) {
		return nil, false
	}
	k := l.it.Item().Key()
	if len(k) != len(l.prefix)+postingSuffixLen {
		return nil, false // not a posting: the store is corrupt here
	}
	return bytes.Clone(k[len(l.prefix):]), true
}

// unionList is the postings of every word beginning with a prefix. Each
// word's head (its first posting not yet passed) is kept, so a seek moves
// only the words behind it.
type unionList struct {
	words []*wordList
	heads [][]byte // nil: the word has no more postings
}

func (u *unionList) seek(pos []byte) ([]byte, bool) {
	var best []byte
	for i, w := range u.words {
		h := u.heads[i]
		if h != nil && bytes.Compare(h, pos) < 0 {
			h, _ = w.seek(pos)
			u.heads[i] = h
		}
		if h != nil && (best == nil || bytes.Compare(h, best) < 0) {
			best = h
		}
	}
	return best, best != nil
}

// expand finds the words that begin with p, each with its newest posting,
// seeking from one word to the next: nil when there is none. With
// bounded, more than maxPrefixWords of them is tooMany.
func expand(it *badger.Iterator, p string, bounded bool) (u *unionList, tooMany bool) {
	from := append([]byte(prefixSearchWord), p...)
	u = &unionList{}
	var last []byte // the word whose postings the iterator is in
	steps := 0
	it.Seek(from)
	for it.ValidForPrefix(from) {
		k := it.Item().Key()
		rest := k[len(prefixSearchWord):]
		end := bytes.IndexByte(rest, 0)
		if end < 0 || len(rest) != end+1+postingSuffixLen {
			break // not a posting: the store is corrupt here
		}
		if last != nil && bytes.Equal(rest[:end], last) {
			// Still in the last word's postings: a few steps are cheaper
			// than a seek (most words have few postings), then seek.
			if steps++; steps <= expandSteps {
				it.Next()
				continue
			}
			next := append(append([]byte(prefixSearchWord), last...), 1) // past every posting of it
			it.Seek(next)
			continue
		}
		w := &wordList{it: it, prefix: bytes.Clone(k[:len(prefixSearchWord)+end+1])}
		u.words = append(u.words, w)
		u.heads = append(u.heads, bytes.Clone(rest[end+1:]))
		if bounded && len(u.words) > maxPrefixWords {
			return nil, true
		}
		last, steps = bytes.Clone(rest[:end]), 0
		it.Next()
	}
	if len(u.words) == 0 {
		return nil, false
	}
	return u, false
}

// expandSteps is how many postings expand steps over before it seeks.
const expandSteps = 8

// leapfrog returns the first posting at or after pos that every list
// holds.
func leapfrog(lists []postingList, pos []byte) ([]byte, bool) {
	x, ok := lists[0].seek(pos)
	if !ok {
		return nil, false
	}
	agree := 1
	for i := 1; agree < len(lists); i = (i + 1) % len(lists) {
		y, ok := lists[i].seek(x)
		if !ok {
			return nil, false
		}
		if bytes.Equal(x, y) {
			agree++
		} else {
			x, agree = y, 1
		}
	}
	return x, true
}
