package storage

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"testing"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Peers in the tests: we are "self".
const (
	self  = "12D3KooWSelf"
	bob   = "12D3KooWBob"
	carol = "12D3KooWCarol"
)

type badgerTxn = badger.Txn

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openAt opens a store and closes it when the test ends (a second Close is
// harmless, so tests may close it themselves).
func openAt(t testing.TB, dir string, key []byte) *DB {
	t.Helper()
	db, err := Open(Options{Dir: dir, EncryptionKey: key, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func openTemp(t testing.TB) *DB { return openAt(t, t.TempDir(), newKey(t)) }

// text builds a text record between self and peer. Its envelope is random,
// so every call makes a distinct ID.
func text(peer string, outgoing bool, hlc parley.HLC, body string) Record {
	env := make([]byte, 200)
	rand.Read(env)
	m := parley.Message{
		ID:           parley.NewEnvelopeID(env),
		Conversation: parley.DMConversationID(self, peer),
		Outgoing:     outgoing,
		Kind:         parley.KindText,
		Text:         body,
		HLC:          hlc,
		Status:       parley.StatusDelivered,
	}
	if outgoing {
		m.From, m.To, m.Status = self, peer, parley.StatusQueued
	} else {
		m.From, m.To = peer, self
	}
	return Record{Message: m, Envelope: env}
}

// receipt builds an outgoing read receipt to peer, queued to it.
func receipt(peer string, hlc parley.HLC, read ...parley.EnvelopeID) Record {
	r := text(peer, true, hlc, "")
	r.Message.Kind = parley.KindReceipt
	r.QueueTo = peer
	r.MarkRead = read
	return r
}

func put(t testing.TB, db *DB, recs ...Record) []bool {
	t.Helper()
	added, err := db.PutRecords(recs)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	return added
}

func ids(ms []parley.Message) []parley.EnvelopeID {
	out := make([]parley.EnvelopeID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func recIDs(rs ...Record) []parley.EnvelopeID {
	out := make([]parley.EnvelopeID, len(rs))
	for i, r := range rs {
		out[i] = r.Message.ID
	}
	return out
}

func entryIDs(es []OutboxEntry) []parley.EnvelopeID {
	out := make([]parley.EnvelopeID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func short(ids []parley.EnvelopeID) string {
	s := "["
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%x", id[:3])
	}
	return s + "]"
}

func equalIDs(t testing.TB, what string, got, want []parley.EnvelopeID) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d IDs %s, want %d %s", what, len(got), short(got), len(want), short(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %s, want %s", what, short(got), short(want))
		}
	}
}

func conversation(t testing.TB, db *DB, peer string) parley.Conversation {
	t.Helper()
	c, err := db.Conversation(parley.DMConversationID(self, peer))
	if err != nil {
		t.Fatalf("Conversation(%s): %v", peer, err)
	}
	return c
}
