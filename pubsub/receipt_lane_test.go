package pubsub

import (
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

// receiptPair starts alice and bob in a group, meshed, with bob's message
// stored by both; alice's receipts for it are what the tests watch. stored
// says when a member's service announced an envelope (zero: not yet).
func receiptPair(t *testing.T) (alice, bob *member, g parley.ConversationID, msg parley.Message, stored func(name string, id parley.EnvelopeID) time.Time) {
	t.Helper()
	tn := newTestNet()
	var mu sync.Mutex
	type key struct {
		name string
		id   parley.EnvelopeID
	}
	at := make(map[key]time.Time)
	tn.onEvent = func(name string, ev parley.Event) {
		if ev.Type == parley.EventMessage && ev.Message != nil {
			mu.Lock()
			at[key{name, ev.Message.ID}] = time.Now()
			mu.Unlock()
		}
	}
	alice, bob = tn.start(t, "alice"), tn.start(t, "bob")
	grp, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, grp.ID)
	connect(t, alice.host, bob.host)
	meshed(t, grp.ID, alice, bob)
	msg, err = bob.groups.Send(grp.ID, "did you get this?", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice storing bob's message", func() bool { return len(texts(t, alice, grp.ID)) == 1 })
	return alice, bob, grp.ID, msg, func(name string, id parley.EnvelopeID) time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at[key{name, id}]
	}
}

// deliveredBy reports whether m's receipt index says member got id.
func deliveredBy(t *testing.T, m *member, g parley.ConversationID, id parley.EnvelopeID, member *member) bool {
	t.Helper()
	rs, err := m.store.Receipts(g, []parley.EnvelopeID{id})
	if err != nil {
		t.Fatal(err)
	}
	return rs[id][member.host.ID().String()].Delivered != 0
}

// A receipt arriving while a message is being stored waits for it, and
// never longer than receiptMaxWait: a member that is always storing
// messages still stores (and shows) the receipts it gets.
func TestReceiptLaneNeverStarves(t *testing.T) {
	alice, bob, g, msg, stored := receiptPair(t)
	// A message being stored for the whole test: the lane may wait for it
	// up to its bound only.
	bob.groups.lane.messageStoring()
	defer bob.groups.lane.messageStored()
	sent := time.Now()
	r, err := alice.groups.SendReceipt(g, []parley.EnvelopeID{msg.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob storing alice's receipt", func() bool { return !stored("bob", r.ID).IsZero() })
	if !deliveredBy(t, bob, g, msg.ID, alice) {
		t.Fatal("bob stored alice's receipt but does not show his message delivered to her")
	}
	if waited := stored("bob", r.ID).Sub(sent); waited < receiptMaxWait {
		t.Fatalf("stored %v after it was sent, while a message was being stored: the lane did not wait for it", waited)
	}
}

// Receipts the lane holds when the service closes are stored first, and
// the lane takes no more.
func TestReceiptLaneStoredOnClose(t *testing.T) {
	alice, bob, g, msg, _ := receiptPair(t)
	bob.groups.lane.messageStoring() // holds the lane (up to receiptMaxWait)
	defer bob.groups.lane.messageStored()
	r, err := alice.groups.SendReceipt(g, []parley.EnvelopeID{msg.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's lane or store holding alice's receipt", func() bool {
		bob.groups.lane.mu.Lock()
		held := len(bob.groups.lane.items)
		bob.groups.lane.mu.Unlock()
		has, err := bob.store.HasEnvelope(r.ID)
		return held > 0 || err == nil && has
	})
	if err := bob.groups.Close(); err != nil {
		t.Fatal(err)
	}
	if has, err := bob.store.HasEnvelope(r.ID); err != nil || !has {
		t.Fatalf("alice's receipt, accepted by bob's validator, is not in his store after Close: %v %v", has, err)
	}
	if !deliveredBy(t, bob, g, msg.ID, alice) {
		t.Fatal("the receipt stored on Close is not indexed")
	}
	if bob.groups.lane.add(nil, &incoming{}) {
		t.Fatal("the lane took a receipt after Close")
	}
}

// The lane holds at most maxLaneReceipts; the validator ignores the rest
// (sync brings them).
func TestReceiptLaneBounded(t *testing.T) {
	l := newReceiptLane()
	for i := range maxLaneReceipts {
		if !l.add(nil, &incoming{}) {
			t.Fatalf("receipt %d refused below the bound", i)
		}
	}
	if l.add(nil, &incoming{}) {
		t.Fatal("the lane took a receipt above its bound")
	}
	if got := len(l.take(false)); got != maxLaneReceipts {
		t.Fatalf("took %d, want %d", got, maxLaneReceipts)
	}
	if !l.add(nil, &incoming{}) {
		t.Fatal("the lane refused a receipt once emptied")
	}
}

// A member's own receipt is published before it is stored (with the
// lane's next write). A crash in between loses it from the member's store
// only, and before the member was shown it: the members who got it hand it
// back by sync.
func TestOwnReceiptLostInLaneComesBackBySync(t *testing.T) {
	alice, bob, g, msg, stored := receiptPair(t)
	alice.groups.lane.messageStoring() // alice's lane waits (up to receiptMaxWait)
	r, err := alice.groups.SendReceipt(g, []parley.EnvelopeID{msg.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob storing alice's receipt", func() bool { return !stored("bob", r.ID).IsZero() })
	// The crash: what alice's lane holds is gone, and nothing more is stored.
	if lost := alice.groups.lane.take(true); len(lost) != 1 || lost[0].in.msg.ID != r.ID {
		t.Fatalf("alice's lane held %d receipts, want her own", len(lost))
	}
	alice.groups.lane.messageStored()
	if has, err := alice.store.HasEnvelope(r.ID); err != nil || has {
		t.Fatalf("alice's receipt in her store before the lane wrote it: %v %v", has, err)
	}
	if !stored("alice", r.ID).IsZero() {
		t.Fatal("alice was shown her receipt before it was stored")
	}
	env, err := bob.store.Envelope(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if added, rejected, err := alice.groups.Ingest(g, [][]byte{env}); err != nil || added != 1 || rejected != 0 {
		t.Fatalf("sync from bob: added %d, rejected %d, %v", added, rejected, err)
	}
	if !deliveredBy(t, alice, g, msg.ID, alice) || stored("alice", r.ID).IsZero() {
		t.Fatal("alice's receipt, back by sync, is not indexed and shown")
	}
}
