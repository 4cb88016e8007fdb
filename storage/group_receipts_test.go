package storage

import (
	crand "crypto/rand"
	"maps"
	"math/rand/v2"
	"testing"

	parley "github.com/parley-im/parley"
)

// groupReceipt builds a group receipt from member.
func groupReceipt(conv parley.ConversationID, member string, hlc parley.HLC, delivered, read []parley.EnvelopeID) Record {
	env := make([]byte, 120)
	crand.Read(env)
	return Record{Group: true, Envelope: env, Message: parley.Message{
		ID: parley.NewEnvelopeID(env), Conversation: conv, From: member, Kind: parley.KindGroupReceipt, HLC: hlc,
		Status: parley.StatusDelivered, Receipted: &parley.ReceiptIDs{Delivered: delivered, Read: read},
	}}
}

// Receipts stored in any order, and again, give each member's earliest
// delivered and read times; a receipt in another group names nothing
// here.
func TestGroupReceiptsIndex(t *testing.T) {
	conv, other := parley.ConversationID{1}, parley.ConversationID{2}
	m1, m2 := parley.EnvelopeID{0xa}, parley.EnvelopeID{0xb}
	recs := []Record{
		groupReceipt(conv, "bob", 30, []parley.EnvelopeID{m1, m2}, nil),
		groupReceipt(conv, "bob", 50, nil, []parley.EnvelopeID{m1}),
		groupReceipt(conv, "bob", 40, nil, []parley.EnvelopeID{m1}),
		groupReceipt(conv, "carol", 20, nil, []parley.EnvelopeID{m2}), // read, never "delivered" alone
		groupReceipt(other, "dave", 10, []parley.EnvelopeID{m1}, []parley.EnvelopeID{m1}),
	}
	want := map[parley.EnvelopeID]map[string]parley.Receipt{
		m1: {"bob": {Delivered: 30, Read: 40}},
		m2: {"bob": {Delivered: 30}, "carol": {Delivered: 20, Read: 20}},
	}
	for round := range 5 {
		db := openTemp(t)
		rand.New(rand.NewPCG(uint64(round), 1)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		for _, r := range recs {
			put(t, db, r, r) // twice: the second is a duplicate
		}
		got, err := db.Receipts(conv, []parley.EnvelopeID{m1, m2, {0xc}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || !maps.EqualFunc(got, want, func(a, b map[string]parley.Receipt) bool { return maps.Equal(a, b) }) {
			t.Fatalf("round %d: %v, want %v", round, got, want)
		}
	}
}

// MessagesByID returns, in one read, the messages held among the IDs
// asked for, and leaves out the others.
func TestMessagesByID(t *testing.T) {
	db := openTemp(t)
	conv := parley.ConversationID{1}
	a := groupReceipt(conv, "bob", 30, []parley.EnvelopeID{{0xa}}, nil)
	b := groupReceipt(conv, "carol", 40, nil, []parley.EnvelopeID{{0xa}})
	put(t, db, a, b)
	got, err := db.MessagesByID([]parley.EnvelopeID{a.Message.ID, {0xc}, b.Message.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a.Message.ID].From != "bob" || got[b.Message.ID].From != "carol" || got[b.Message.ID].HLC != 40 {
		t.Fatalf("got %+v", got)
	}
}
