package storage

import (
	"errors"
	"testing"

	parley "github.com/parley-im/parley"
)

// A member's newest grant to a group is the one in force, whatever order
// its grants arrive in; every grant stays listed (for sync), and another
// group's grants are apart.
func TestGroupGrantKeepsTheNewest(t *testing.T) {
	db := openTemp(t)
	group, other := parley.ConversationID{1}, parley.ConversationID{2}
	if _, err := db.GroupGrantOf(group, bob); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("no grant yet: %v, want ErrNotFound", err)
	}
	newer := GroupGrant{Member: bob, HLC: 20, ID: parley.EnvelopeID{20}, KeyID: []byte{2}, Mailboxes: []GrantedMailbox{{PeerID: carol, Nonce: []byte{1}, Token: []byte{2}}}}
	older := GroupGrant{Member: bob, HLC: 10, ID: parley.EnvelopeID{10}, KeyID: []byte{1}}
	if newest, err := db.PutGroupGrant(group, newer); err != nil || !newest {
		t.Fatalf("first grant: newest %v, %v", newest, err)
	}
	if newest, err := db.PutGroupGrant(group, older); err != nil || newest {
		t.Fatalf("older grant, late: newest %v, %v; want not newest", newest, err)
	}
	if newest, err := db.PutGroupGrant(group, newer); err != nil || newest {
		t.Fatalf("the same grant again: newest %v, %v; want not new", newest, err)
	}
	if _, err := db.PutGroupGrant(other, GroupGrant{Member: bob, HLC: 30, ID: parley.EnvelopeID{30}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutGroupGrant(group, GroupGrant{Member: carol, HLC: 5, ID: parley.EnvelopeID{5}}); err != nil {
		t.Fatal(err)
	}
	g, err := db.GroupGrantOf(group, bob)
	if err != nil || g.HLC != 20 || g.ID != newer.ID || string(g.KeyID) != "\x02" || len(g.Mailboxes) != 1 || g.Mailboxes[0].PeerID != carol || g.Member != bob {
		t.Fatalf("grant = %+v, %v; want the newer one", g, err)
	}
	all, err := db.GroupGrants(group, false)
	if err != nil || len(all) != 3 {
		t.Fatalf("every grant of the group: %+v, %v; want 3", all, err)
	}
	newest, err := db.GroupGrants(group, true)
	if err != nil || len(newest) != 2 {
		t.Fatalf("newest grants: %+v, %v; want bob's and carol's", newest, err)
	}
	for _, g := range newest {
		if g.Member == bob && g.HLC != 20 || g.Member == carol && g.HLC != 5 {
			t.Fatalf("newest grants: %+v", newest)
		}
	}
}

func TestGroupDepositMarks(t *testing.T) {
	db := openTemp(t)
	id := parley.EnvelopeID{7}
	if ok, err := db.GroupDeposited(id, bob, carol); err != nil || ok {
		t.Fatalf("before: %v, %v", ok, err)
	}
	if err := db.MarkGroupDeposited(id, bob, carol); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.GroupDeposited(id, bob, carol); err != nil || !ok {
		t.Fatalf("after: %v, %v", ok, err)
	}
	if ok, _ := db.GroupDeposited(id, carol, carol); ok {
		t.Fatal("a mark for bob counts for carol")
	}
	if ok, _ := db.GroupDeposited(id, bob, bob); ok {
		t.Fatal("a mark at one mailbox counts at another")
	}
	if err := db.MarkGroupDeposited(id, "", carol); err == nil {
		t.Fatal("an empty owner was marked")
	}
}
