package storage

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
	"github.com/parley-im/parley/storage/fulltext"
)

func mustQuery(t testing.TB, q string) fulltext.Query {
	t.Helper()
	pq, err := fulltext.ParseQuery(q)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", q, err)
	}
	return pq
}

// searchIDs runs a search and returns the IDs found, newest first.
func searchIDs(t testing.TB, db *DB, q string, opts SearchOptions) []parley.EnvelopeID {
	t.Helper()
	if opts.Limit == 0 {
		opts.Limit = 100
	}
	msgs, _, err := db.Search(mustQuery(t, q), opts)
	if err != nil {
		t.Fatalf("Search(%q): %v", q, err)
	}
	ids := make([]parley.EnvelopeID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

func waitIndexed(t testing.TB, db *DB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !db.SearchIndexComplete() {
		if time.Now().After(deadline) {
			t.Fatal("the search backfill did not finish in a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// searchCorpus writes n messages over 16 conversations, of words drawn
// from a vocabulary of 5,000, the i-th with HLC i+1; the message at
// needleAt also holds "zanzibar".
func searchCorpus(t testing.TB, db *DB, n, needleAt int) parley.EnvelopeID {
	t.Helper()
	var needle parley.EnvelopeID
	const batch = 4000
	for start := 0; start < n; start += batch {
		recs := make([]Record, 0, batch)
		for i := start; i < min(n, start+batch); i++ {
			var b strings.Builder
			for j := range 8 {
				// A skewed draw: low word numbers are common, as in speech.
				w := (i*7919 + j*104729) % 5000
				w = w * w / 5000
				fmt.Fprintf(&b, "w%d ", w)
			}
			if i == needleAt {
				b.WriteString("Zanzibar! w1")
			}
			r := text(fmt.Sprintf("12D3KooWPeer%02d", i%16), i%3 == 0, parley.HLC(i+1), b.String())
			if i == needleAt {
				needle = r.Message.ID
			}
			recs = append(recs, r)
		}
		put(t, db, recs...)
	}
	return needle
}

// TestSearchAmong100k: one word in one message of 100,000 is found, by
// the whole word and by its first letters, and a word no message has
// finds nothing.
func TestSearchAmong100k(t *testing.T) {
	db := openTemp(t)
	needle := searchCorpus(t, db, 100000, 61234)
	for _, q := range []string{"zanzibar", "ZANZIBAR", "zanz", "w1 zanzibar"} {
		if ids := searchIDs(t, db, q, SearchOptions{}); len(ids) != 1 || ids[0] != needle {
			t.Errorf("Search(%q) = %v, want [%s]", q, ids, needle)
		}
	}
	if ids := searchIDs(t, db, "zanzibar nowhere", SearchOptions{}); len(ids) != 0 {
		t.Errorf("Search(zanzibar nowhere) = %v, want none", ids)
	}
	// A common word: the newest first, and a cursor that pages on.
	msgs, next, err := db.Search(mustQuery(t, "w0"), SearchOptions{Limit: 10})
	if err != nil || len(msgs) != 10 || next == nil {
		t.Fatalf("Search(w0) = %d messages, next %v, %v", len(msgs), next, err)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].HLC >= msgs[i-1].HLC {
			t.Fatalf("not newest first: %d then %d", msgs[i-1].HLC, msgs[i].HLC)
		}
	}
	more, _, err := db.Search(mustQuery(t, "w0"), SearchOptions{Limit: 10, After: next})
	if err != nil || len(more) == 0 || more[0].HLC >= msgs[9].HLC {
		t.Fatalf("the next page: %d messages, %v", len(more), err)
	}
}

// TestSearchConversation: a search narrowed to one conversation finds only
// its messages.
func TestSearchConversation(t *testing.T) {
	db := openTemp(t)
	a := text(bob, false, 1, "lunch at noon")
	b := text(carol, false, 2, "lunch tomorrow")
	put(t, db, a, b)
	conv := a.Message.Conversation
	if ids := searchIDs(t, db, "lunch", SearchOptions{Conversation: &conv}); len(ids) != 1 || ids[0] != a.Message.ID {
		t.Errorf("in bob's conversation: %v", ids)
	}
	if ids := searchIDs(t, db, "lunch", SearchOptions{}); len(ids) != 2 || ids[0] != b.Message.ID {
		t.Errorf("everywhere: %v, want carol's then bob's", ids)
	}
}

// TestSearchEditIndexed: an edit's words find the message, whichever of the
// two arrived first (the node checks each hit against the latest text).
func TestSearchEditIndexed(t *testing.T) {
	for _, editFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("editFirst=%v", editFirst), func(t *testing.T) {
			db := openTemp(t)
			msg := text(bob, false, 10, "see you at the station")
			edit := annotation(bob, parley.KindEdit, msg.Message.ID, 11, "see you at the harbour")
			if editFirst {
				put(t, db, edit)
				put(t, db, msg)
			} else {
				put(t, db, msg, edit)
			}
			if ids := searchIDs(t, db, "harbour", SearchOptions{}); len(ids) != 1 || ids[0] != msg.Message.ID {
				t.Errorf("Search(harbour) = %v, want the message", ids)
			}
		})
	}
}

// TestSearchPurgeLeavesNoWord: deleted for everyone or for me, a message
// and its edit are found no more, and no key or value of the store, in
// any version, holds a word of theirs: the postings are dropped, not
// only deleted.
func TestSearchPurgeLeavesNoWord(t *testing.T) {
	for _, forEveryone := range []bool{true, false} {
		t.Run(fmt.Sprintf("forEveryone=%v", forEveryone), func(t *testing.T) {
			db := openTemp(t)
			msg := text(bob, false, 10, "the password is quixotically")
			edit := annotation(bob, parley.KindEdit, msg.Message.ID, 11, "the password is xylophonist")
			keep := text(bob, false, 12, "the password stays")
			put(t, db, msg, edit, keep)
			purge := db.PurgeForMe
			if forEveryone {
				purge = db.PurgeForEveryone
			}
			if ok, err := purge(msg.Message.ID); err != nil || !ok {
				t.Fatalf("purge = %v, %v", ok, err)
			}
			for _, w := range []string{"quixotically", "xylophonist"} {
				if ids := searchIDs(t, db, w, SearchOptions{}); len(ids) != 0 {
					t.Errorf("Search(%s) after the purge = %v", w, ids)
				}
				if held, err := db.Holds([]byte(w)); err != nil || held {
					t.Errorf("Holds(%s) = %v, %v after the purge", w, held, err)
				}
			}
			if ids := searchIDs(t, db, "password", SearchOptions{}); len(ids) != 1 || ids[0] != keep.Message.ID {
				t.Errorf("Search(password) = %v, want only the message kept", ids)
			}
			if n := countKeys(t, db, prefixSearchPurge); n != 0 {
				t.Errorf("%d purge markers left after the drop", n)
			}
		})
	}
}

func countKeys(t testing.TB, db *DB, prefix string) int {
	t.Helper()
	n := 0
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefix, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSearchPurgeInterrupted: a purge whose drop a crash prevented (its
// transaction committed, its postings still live) is finished at the next
// Open: the words go from every version.
func TestSearchPurgeInterrupted(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db, err := Open(Options{Dir: dir, EncryptionKey: key, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	msg := text(bob, false, 10, "meet by the obelisk")
	put(t, db, msg)
	// PurgeForEveryone without its drop: what a crash after the commit
	// leaves.
	if err := db.submit(1, func(w *wtxn, _ int) error {
		_, _, err := purge(w.txn, msg.Message.ID, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if held, _ := db.Holds([]byte("obelisk")); !held {
		t.Fatal("the posting is not live before the drop: the test tests nothing")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	if held, err := db.Holds([]byte("obelisk")); err != nil || held {
		t.Errorf("Holds(obelisk) = %v, %v after reopening", held, err)
	}
	if n := countKeys(t, db, prefixSearchPurge); n != 0 {
		t.Errorf("%d purge markers left", n)
	}
}

// TestSearchBackfill: a store written before the index is indexed at
// Open, in the background; and the backfill resumes where it stopped
// (here, told it had reached the middle: what lies before is not indexed
// again).
func TestSearchBackfill(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	old, err := OpenWithoutSearchIndex(Options{Dir: dir, EncryptionKey: key, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]Record, 2500)
	for i := range recs {
		recs[i] = text(bob, false, parley.HLC(i+1), fmt.Sprintf("old message number%d", i))
	}
	put(t, old, recs...)
	if ids := searchIDs(t, old, "message", SearchOptions{}); len(ids) != 0 {
		t.Fatalf("found %d in a store without the index", len(ids))
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db := openAt(t, dir, key)
	waitIndexed(t, db)
	for _, i := range []int{0, 1234, 2499} {
		q := fmt.Sprintf("number%d ", i)
		if ids := searchIDs(t, db, q, SearchOptions{}); len(ids) != 1 || ids[0] != recs[i].Message.ID {
			t.Errorf("Search(%s) = %v after the backfill", q, ids)
		}
	}
	if msgs, _, err := db.Search(mustQuery(t, "old message"), SearchOptions{Limit: MaxSearchLimit}); err != nil || len(msgs) != 1000 {
		t.Errorf("Search(old message) = %d, %v; want a full page of 1000", len(msgs), err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Resuming: a fresh unindexed store, its backfill said to be past
	// the record with the middle ID.
	dir, key = t.TempDir(), newKey(t)
	old, err = OpenWithoutSearchIndex(Options{Dir: dir, EncryptionKey: key, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	put(t, old, recs[:200]...)
	ids, err := old.recordIDsAfter(nil, 1000)
	if err != nil || len(ids) != 200 {
		t.Fatal(len(ids), err)
	}
	mid := ids[99]
	if err := old.submit(1, func(w *wtxn, _ int) error { return w.txn.Set([]byte(keySearchBackfill), mid[:]) }); err != nil {
		t.Fatal(err)
	}
	old.Close()
	db = openAt(t, dir, key)
	waitIndexed(t, db)
	found := make(map[parley.EnvelopeID]bool)
	msgs, _, err := db.Search(mustQuery(t, "old"), SearchOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		found[m.ID] = true
	}
	for i, id := range ids {
		if found[id] != (i >= 100) {
			t.Errorf("record %d of 200 (by ID) found %v", i, found[id])
		}
	}
}

// TestSearchCrash: a process writing messages is killed (SIGKILL) at a
// random point; every message it was told was stored is found by its own
// word after reopening, and every posting names a stored message.
func TestSearchCrash(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSearchHelperProcess$")
	cmd.Env = append(os.Environ(), "PARLEY_SEARCH_HELPER=write", "PARLEY_STORAGE_DIR="+dir, "PARLEY_STORAGE_KEY="+hex.EncodeToString(key))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "stored "); ok {
			acked, _ = strconv.Atoi(n)
		}
		if acked >= 300 {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 300 {
		t.Fatalf("the writer stopped after %d messages", acked)
	}
	db := openAt(t, dir, key)
	for i := 0; i <= acked; i += 7 {
		q := fmt.Sprintf("crashword%d ", i) // a whole word, not a prefix
		if ids := searchIDs(t, db, q, SearchOptions{}); len(ids) != 1 {
			t.Errorf("Search(%s) = %v after the crash", q, ids)
		}
	}
	// Every posting names a stored, searchable message at its HLC.
	err = db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixSearchWord, func(k, _ []byte) error {
			id, _ := parley.EnvelopeIDFromBytes(k[len(k)-32:])
			m, err := getMessage(txn, id)
			if err != nil || !searchable(m) {
				t.Errorf("posting %q: message %v, %v", k, m.ID, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSearchHelperProcess is not a test: TestSearchCrash runs it in a
// child process, which writes until it is killed.
func TestSearchHelperProcess(t *testing.T) {
	if os.Getenv("PARLEY_SEARCH_HELPER") != "write" {
		t.Skip("runs only as a child of TestSearchCrash")
	}
	key, _ := hex.DecodeString(os.Getenv("PARLEY_STORAGE_KEY"))
	db, err := Open(Options{Dir: os.Getenv("PARLEY_STORAGE_DIR"), EncryptionKey: key, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		put(t, db, text(bob, i%2 == 0, parley.HLC(i+1), fmt.Sprintf("message crashword%d of the crash test", i)))
		fmt.Printf("stored %d\n", i)
	}
}
