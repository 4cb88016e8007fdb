package storage

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"

	parley "github.com/parley-im/parley"
)

func TestPutRecordsIdempotent(t *testing.T) {
	db := openTemp(t)
	r := text(bob, false, 100, "hello")
	if added := put(t, db, r); !added[0] {
		t.Fatal("first put: added = false")
	}
	before, _ := db.Message(r.Message.ID)

	// Same ID again, with different contents and side effects: none apply.
	again := r
	again.Message.Text = "changed"
	again.Message.HLC = 999
	again.QueueTo = bob
	again.MarkRead = []parley.EnvelopeID{r.Message.ID}
	if added := put(t, db, again); added[0] {
		t.Fatal("second put: added = true")
	}
	after, err := db.Message(r.Message.ID)
	if err != nil || after.Text != before.Text || after.HLC != before.HLC || after.Status != parley.StatusDelivered {
		t.Fatalf("message changed: %+v, %v", after, err)
	}
	if c := conversation(t, db, bob); c.Unread != 1 || c.LastHLC != 100 {
		t.Fatalf("conversation = %+v, want Unread 1 and LastHLC 100", c)
	}
	if n, _ := db.OutboxLen(bob); n != 0 {
		t.Fatalf("outbox has %d entries, want 0", n)
	}
	if ms, _ := db.Messages(r.Message.Conversation, 0); len(ms) != 1 {
		t.Fatalf("Messages returned %d, want 1", len(ms))
	}

	// Duplicates within one call: only the first counts.
	r2 := text(bob, false, 101, "twice")
	added := put(t, db, r2, r2, r)
	if !slices.Equal(added, []bool{true, false, false}) {
		t.Fatalf("added = %v, want [true false false]", added)
	}
	if c := conversation(t, db, bob); c.Unread != 2 {
		t.Fatalf("Unread = %d, want 2", c.Unread)
	}
	if env, err := db.Envelope(r2.Message.ID); err != nil || !bytes.Equal(env, r2.Envelope) {
		t.Fatalf("Envelope = %x, %v", env, err)
	}
	if ok, err := db.HasEnvelope(r2.Message.ID); !ok || err != nil {
		t.Fatalf("HasEnvelope = %v, %v", ok, err)
	}
}

func TestNotFound(t *testing.T) {
	db := openTemp(t)
	var id parley.EnvelopeID
	if ok, err := db.HasEnvelope(id); ok || err != nil {
		t.Fatalf("HasEnvelope = %v, %v", ok, err)
	}
	if _, err := db.Envelope(id); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("Envelope: %v, want ErrNotFound", err)
	}
	if _, err := db.Message(id); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("Message: %v, want ErrNotFound", err)
	}
	if _, err := db.Conversation(parley.ConversationID{}); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("Conversation: %v, want ErrNotFound", err)
	}
	if ms, err := db.Messages(parley.ConversationID{}, 10); len(ms) != 0 || err != nil {
		t.Fatalf("Messages = %v, %v", ms, err)
	}
}

func TestPutRecordsValidates(t *testing.T) {
	db := openTemp(t)
	good := text(bob, false, 1, "ok")
	noEnv := text(bob, false, 2, "no envelope")
	noEnv.Envelope = nil
	badQueue := text(bob, true, 3, "bad queue")
	badQueue.QueueTo = "a\x00b"
	badStatus := text(bob, true, 4, "bad status")
	badStatus.Message.Status = 9
	for _, bad := range []Record{noEnv, badQueue, badStatus} {
		if _, err := db.PutRecords([]Record{good, bad}); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("PutRecords(%q): %v, want ErrMalformed", bad.Message.Text, err)
		}
	}
	if ok, _ := db.HasEnvelope(good.Message.ID); ok {
		t.Fatal("a rejected call stored its valid record")
	}
}

func TestDisplayOrder(t *testing.T) {
	db := openTemp(t)
	// Three messages share HLC 200: they order by ID bytes.
	recs := []Record{
		text(bob, false, 300, "c"),
		text(bob, true, 200, "b1"),
		text(bob, false, 200, "b2"),
		text(bob, true, 200, "b3"),
		text(bob, false, 100, "a"),
		text(carol, false, 250, "other conversation"),
	}
	put(t, db, recs[:3]...) // in two calls: order comes from keys, not insertion
	put(t, db, recs[3:]...)

	same := []Record{recs[1], recs[2], recs[3]}
	slices.SortFunc(same, func(a, b Record) int { return bytes.Compare(a.Message.ID[:], b.Message.ID[:]) })
	want := recIDs(append(append([]Record{recs[4]}, same...), recs[0])...)

	conv := parley.DMConversationID(self, bob)
	all, err := db.Messages(conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "Messages(all)", ids(all), want)
	for _, limit := range []int{1, 2, 5, 6} {
		last, err := db.Messages(conv, limit)
		if err != nil {
			t.Fatal(err)
		}
		equalIDs(t, "Messages(limit)", ids(last), want[max(len(want)-limit, 0):])
	}
	if all[0].Text != "a" || all[0].From != bob || all[0].Outgoing {
		t.Fatalf("first message = %+v", all[0])
	}
}

func TestReceiptsNotListed(t *testing.T) {
	db := openTemp(t)
	in := receipt(bob, 50)
	in.Message.Outgoing, in.Message.From, in.Message.To = false, bob, self
	in.QueueTo = ""
	out := receipt(bob, 60)
	put(t, db, in, out)

	conv := parley.DMConversationID(self, bob)
	if ms, _ := db.Messages(conv, 0); len(ms) != 0 {
		t.Fatalf("Messages lists %d receipts", len(ms))
	}
	if ms, _ := db.Unread(conv); len(ms) != 0 {
		t.Fatalf("Unread lists %d receipts", len(ms))
	}
	if _, err := db.Conversation(conv); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("a receipt created a conversation: %v", err)
	}
	m, err := db.Message(out.Message.ID)
	if err != nil || m.Kind != parley.KindReceipt {
		t.Fatalf("Message = %+v, %v", m, err)
	}
	// Idempotency covers receipts too.
	if added := put(t, db, in, out); added[0] || added[1] {
		t.Fatalf("receipts stored twice: %v", added)
	}
}

func TestConversationUpsert(t *testing.T) {
	db := openTemp(t)
	put(t, db, text(bob, true, 100, "hi bob"))
	c := conversation(t, db, bob)
	want := parley.Conversation{ID: parley.DMConversationID(self, bob), Kind: parley.ConversationDM, Peer: bob, LastHLC: 100}
	if c != want {
		t.Fatalf("after outgoing: %+v, want %+v", c, want)
	}

	put(t, db, text(bob, false, 300, "hi"), text(bob, false, 200, "older, arrives later"))
	read := text(bob, false, 250, "already read")
	read.Message.Status = parley.StatusRead
	put(t, db, read)
	c = conversation(t, db, bob)
	if c.LastHLC != 300 || c.Unread != 2 || c.Peer != bob {
		t.Fatalf("after incoming: %+v, want LastHLC 300, Unread 2", c)
	}

	put(t, db, text(carol, false, 400, "carol first"))
	if c := conversation(t, db, carol); c.Peer != carol || c.Unread != 1 {
		t.Fatalf("carol: %+v", c)
	}
	convs, err := db.Conversations()
	if err != nil || len(convs) != 2 || convs[0].Peer != carol || convs[1].Peer != bob {
		t.Fatalf("Conversations = %+v, %v; want carol, then bob", convs, err)
	}
}

func TestMarkReadInSameTransaction(t *testing.T) {
	db := openTemp(t)
	m1, m2 := text(bob, false, 10, "one"), text(bob, false, 20, "two")
	mine := text(bob, true, 15, "mine")
	put(t, db, m1, m2, mine)
	conv := parley.DMConversationID(self, bob)
	unread, _ := db.Unread(conv)
	equalIDs(t, "Unread before", ids(unread), recIDs(m1, m2))

	// The read receipt for m1 is queued; m1 becomes read with it. An
	// outgoing ID in MarkRead is not ours to mark read, and is ignored.
	rc := receipt(bob, 30, m1.Message.ID, mine.Message.ID)
	put(t, db, rc)

	if m, _ := db.Message(m1.Message.ID); m.Status != parley.StatusRead {
		t.Fatalf("m1 status = %v, want read", m.Status)
	}
	if m, _ := db.Message(mine.Message.ID); m.Status != parley.StatusQueued {
		t.Fatalf("outgoing message status = %v, want queued", m.Status)
	}
	unread, _ = db.Unread(conv)
	equalIDs(t, "Unread after", ids(unread), recIDs(m2))
	if c := conversation(t, db, bob); c.Unread != 1 {
		t.Fatalf("Unread = %d, want 1", c.Unread)
	}
	out, _ := db.Outbox(bob, 0)
	equalIDs(t, "outbox", entryIDs(out), recIDs(rc))
}

func TestStatusAdvances(t *testing.T) {
	Q, S, D, R, F := parley.StatusQueued, parley.StatusSent, parley.StatusDelivered, parley.StatusRead, parley.StatusFailed
	allowed := map[[2]parley.Status]bool{
		{Q, S}: true, {Q, D}: true, {Q, R}: true, {Q, F}: true,
		{S, D}: true, {S, R}: true, {S, F}: true,
		{D, R}: true,
	}
	for _, from := range []parley.Status{Q, S, D, R, F} {
		for _, to := range []parley.Status{Q, S, D, R, F} {
			if got := statusAdvances(from, to); got != allowed[[2]parley.Status{from, to}] {
				t.Errorf("statusAdvances(%v, %v) = %v", from, to, got)
			}
		}
	}
}

func TestAdvanceStatus(t *testing.T) {
	db := openTemp(t)
	a, b := text(bob, true, 1, "a"), text(bob, true, 2, "b")
	in := text(bob, false, 3, "in")
	put(t, db, a, b, in)

	steps := []struct {
		ids  []parley.EnvelopeID
		to   parley.Status
		want []parley.EnvelopeID // changed
	}{
		{recIDs(a, b), parley.StatusSent, recIDs(a, b)},
		{recIDs(a), parley.StatusQueued, nil}, // backwards
		{recIDs(a), parley.StatusDelivered, recIDs(a)},
		{recIDs(a), parley.StatusFailed, nil}, // not from delivered
		{recIDs(a), parley.StatusSent, nil},   // backwards
		{recIDs(b), parley.StatusFailed, recIDs(b)},
		{recIDs(b), parley.StatusDelivered, nil}, // failed is final
		{append(recIDs(a), parley.EnvelopeID{9}), parley.StatusRead, recIDs(a)},
		{recIDs(in, in), parley.StatusRead, recIDs(in)},
	}
	for i, s := range steps {
		changed, err := db.AdvanceStatus(s.ids, s.to)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		equalIDs(t, "changed", ids(changed), s.want)
		for _, m := range changed {
			if m.Status != s.to {
				t.Fatalf("step %d: returned status %v, want %v", i, m.Status, s.to)
			}
		}
	}
	for _, c := range []struct {
		r    Record
		want parley.Status
	}{{a, parley.StatusRead}, {b, parley.StatusFailed}, {in, parley.StatusRead}} {
		if m, _ := db.Message(c.r.Message.ID); m.Status != c.want {
			t.Errorf("%s: status %v, want %v", c.r.Message.Text, m.Status, c.want)
		}
	}
	if c := conversation(t, db, bob); c.Unread != 0 {
		t.Fatalf("Unread = %d after reading the only incoming message", c.Unread)
	}
	if _, err := db.AdvanceStatus(recIDs(a), 7); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("invalid status: %v", err)
	}
}

// Many goroutines writing to one conversation: every write lands, the
// unread count is exact (no lost read-modify-write), and nothing conflicts.
func TestConcurrentWriters(t *testing.T) {
	db := openTemp(t)
	const writers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := text(bob, false, parley.HLC(w*each+i), "x")
				if i%2 == 1 {
					r.QueueTo = bob // exercise the outbox sequence too
				}
				if _, err := db.PutRecords([]Record{r}); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					if _, err := db.AdvanceStatus(recIDs(r), parley.StatusRead); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	conv := parley.DMConversationID(self, bob)
	all, _ := db.Messages(conv, 0)
	unread, _ := db.Unread(conv)
	read := writers * each / 5
	if len(all) != writers*each || len(unread) != writers*each-read {
		t.Fatalf("%d messages, %d unread; want %d, %d", len(all), len(unread), writers*each, writers*each-read)
	}
	if c := conversation(t, db, bob); c.Unread != len(unread) {
		t.Fatalf("Conversation.Unread = %d, index has %d", c.Unread, len(unread))
	}
	if n, _ := db.OutboxLen(bob); n != writers*each/2 {
		t.Fatalf("outbox length %d, want %d", n, writers*each/2)
	}
}

// More records than one badger transaction holds are split across
// transactions and all stored.
func TestPutRecordsLargerThanOneTransaction(t *testing.T) {
	db := openTemp(t)
	const n = 3000 // about 3 MB with indexes: badger's limit here is 1.2 MB
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = text(bob, false, parley.HLC(i), "")
		recs[i].Envelope = append(recs[i].Envelope, make([]byte, 800)...)
		recs[i].QueueTo = bob
	}
	added := put(t, db, recs...)
	if slices.Contains(added, false) {
		t.Fatal("a record was not added")
	}
	conv := parley.DMConversationID(self, bob)
	all, _ := db.Messages(conv, 0)
	if len(all) != n || conversation(t, db, bob).Unread != n {
		t.Fatalf("%d messages stored, Unread %d; want %d", len(all), conversation(t, db, bob).Unread, n)
	}
	out, _ := db.Outbox(bob, 0)
	equalIDs(t, "outbox", entryIDs(out), recIDs(recs...))

	// A value above badger's 1 MiB value threshold goes to its value log
	// and counts little against the transaction limit.
	big := text(bob, false, 1, "")
	big.Envelope = bytes.Repeat([]byte{7}, 2<<20)
	put(t, db, big)
	if env, err := db.Envelope(big.Message.ID); err != nil || !bytes.Equal(env, big.Envelope) {
		t.Fatalf("2 MiB envelope: %d bytes, %v", len(env), err)
	}
}

func TestCorruptValuesAreMalformed(t *testing.T) {
	db := openTemp(t)
	r := text(bob, false, 1, "x")
	put(t, db, r)
	err := db.bdb.Update(func(txn *badgerTxn) error {
		if err := txn.Set(recordKey(r.Message.ID), []byte{formatV1, 0xff}); err != nil {
			return err
		}
		return txn.Set(conversationKey(r.Message.Conversation), []byte("garbage"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Message(r.Message.ID); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("Message: %v", err)
	}
	if _, err := db.Messages(r.Message.Conversation, 0); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("Messages: %v", err)
	}
	if _, err := db.Conversations(); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("Conversations: %v", err)
	}
	if _, err := db.AdvanceStatus(recIDs(r), parley.StatusRead); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("AdvanceStatus: %v", err)
	}
	// A dangling index entry is corruption, not "no messages".
	err = db.bdb.Update(func(txn *badgerTxn) error { return txn.Delete(recordKey(r.Message.ID)) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Messages(r.Message.Conversation, 0); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("Messages with a dangling index: %v", err)
	}
}
