package storage

import (
	"errors"
	"testing"

	parley "github.com/parley-im/parley"
)

func TestMailboxGrantKeepsTheNewest(t *testing.T) {
	db := openTemp(t)
	if _, err := db.MailboxGrantOf(bob); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("no grant yet: %v, want ErrNotFound", err)
	}
	newer := MailboxGrant{HLC: 20, Mailboxes: []GrantedMailbox{{PeerID: carol, Nonce: []byte{1}, Token: []byte{2}}}}
	older := MailboxGrant{HLC: 10}
	if replaced, had, err := db.PutMailboxGrant(bob, newer); err != nil || !replaced || had {
		t.Fatalf("first grant: replaced %v, had %v, %v", replaced, had, err)
	}
	// Reordered: the older grant arrives after the newer one.
	if replaced, had, err := db.PutMailboxGrant(bob, older); err != nil || replaced || !had {
		t.Fatalf("older grant: replaced %v, had %v, %v; want kept out", replaced, had, err)
	}
	if replaced, _, err := db.PutMailboxGrant(bob, newer); err != nil || replaced {
		t.Fatalf("the same grant again: replaced %v, %v", replaced, err)
	}
	g, err := db.MailboxGrantOf(bob)
	if err != nil || g.HLC != 20 || len(g.Mailboxes) != 1 || g.Mailboxes[0].PeerID != carol {
		t.Fatalf("grant = %+v, %v; want the newer one", g, err)
	}

	// Refusing a mailbox marks it in that grant only.
	if err := db.RefuseGrantedMailbox(bob, 19, carol); err != nil {
		t.Fatal(err)
	}
	if g, _ := db.MailboxGrantOf(bob); g.Mailboxes[0].Refused {
		t.Fatal("a refusal for another grant's HLC marked this one")
	}
	if err := db.RefuseGrantedMailbox(bob, 20, carol); err != nil {
		t.Fatal(err)
	}
	if g, _ := db.MailboxGrantOf(bob); !g.Mailboxes[0].Refused {
		t.Fatal("refused mailbox not marked")
	}
	// A newer grant starts afresh.
	newest := MailboxGrant{HLC: 30, Mailboxes: []GrantedMailbox{{PeerID: carol, Nonce: []byte{3}, Token: []byte{4}}}}
	if replaced, _, err := db.PutMailboxGrant(bob, newest); err != nil || !replaced {
		t.Fatalf("newest grant: %v, %v", replaced, err)
	}
	if g, _ := db.MailboxGrantOf(bob); g.Mailboxes[0].Refused {
		t.Fatal("a new grant inherited the old one's refusal")
	}
}

func TestMarkDeposited(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	a, b := queued(bob, 1), queued(bob, 2)
	put(t, db, a, b)
	aID := recIDs(a)[0]
	bID := recIDs(b)[0]

	changed, err := db.MarkDeposited(bob, []parley.EnvelopeID{aID})
	if err != nil || len(changed) != 1 || changed[0].Status != parley.StatusStored {
		t.Fatalf("MarkDeposited = %+v, %v; want one message stored", changed, err)
	}
	// Again: nothing changes.
	if changed, err := db.MarkDeposited(bob, []parley.EnvelopeID{aID}); err != nil || len(changed) != 0 {
		t.Fatalf("MarkDeposited again = %d changed, %v", len(changed), err)
	}
	// It survives a restart, and the entry stays queued.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	entries, err := db.Outbox(bob, 0)
	if err != nil || len(entries) != 2 || !entries[0].Deposited || entries[1].Deposited {
		t.Fatalf("outbox = %+v, %v; want a deposited, b not", entries, err)
	}

	// Stored never moves back, and goes on to delivered and read.
	if m, _ := db.Message(aID); m.Status != parley.StatusStored {
		t.Fatalf("status %s, want stored", m.Status)
	}
	if changed, _ := db.AdvanceStatus([]parley.EnvelopeID{aID}, parley.StatusSent); len(changed) != 0 {
		t.Fatal("stored went back to sent")
	}
	if changed, _ := db.RemoveFromOutbox(bob, []parley.EnvelopeID{aID}, parley.StatusDelivered); len(changed) != 1 || changed[0].Status != parley.StatusDelivered {
		t.Fatalf("delivered after stored: %+v", changed)
	}
	// A delivered message is not marked stored, nor is one off the outbox.
	if changed, _ := db.MarkDeposited(bob, []parley.EnvelopeID{aID}); len(changed) != 0 {
		t.Fatal("a delivered message went back to stored")
	}
	if _, err := db.AdvanceStatus([]parley.EnvelopeID{bID}, parley.StatusRead); err != nil {
		t.Fatal(err)
	}
	if changed, _ := db.MarkDeposited(bob, []parley.EnvelopeID{bID}); len(changed) != 0 {
		t.Fatal("a read message went back to stored")
	}
	// Taking an entry off the outbox takes its mark: re-queueing the same
	// envelope is not deposited already.
	if _, err := db.RemoveFromOutbox(bob, []parley.EnvelopeID{bID}, parley.StatusDelivered); err != nil {
		t.Fatal(err)
	}
	if n, err := db.OutboxLen(bob); n != 0 || err != nil {
		t.Fatalf("outbox len %d, %v", n, err)
	}
}

func TestStatusRank(t *testing.T) {
	for _, c := range []struct {
		from, to parley.Status
		ok       bool
	}{
		{parley.StatusQueued, parley.StatusStored, true},
		{parley.StatusSent, parley.StatusStored, true},
		{parley.StatusStored, parley.StatusDelivered, true},
		{parley.StatusStored, parley.StatusRead, true},
		{parley.StatusStored, parley.StatusFailed, true},
		{parley.StatusStored, parley.StatusQueued, false},
		{parley.StatusDelivered, parley.StatusStored, false},
		{parley.StatusRead, parley.StatusStored, false},
		{parley.StatusFailed, parley.StatusStored, false},
	} {
		if got := statusAdvances(c.from, c.to); got != c.ok {
			t.Errorf("%s → %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}
