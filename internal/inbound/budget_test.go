package inbound

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestBudgetKeepsSharesApart(t *testing.T) {
	b := Budget{Known: 2, Strangers: 3, PerStranger: 1}
	alice, bob := peer.ID("alice"), peer.ID("bob")
	for i := range 3 {
		if !b.Take(peer.ID(rune('a'+i)), false) {
			t.Fatalf("stranger %d refused under the limit", i)
		}
	}
	if b.Take("z", false) {
		t.Fatal("a fourth stranger was taken past Strangers")
	}
	// The strangers' share is full: known peers still get in.
	if !b.Take(alice, true) || !b.Take(bob, true) {
		t.Fatal("a known peer waited behind strangers")
	}
	if b.Take(alice, true) {
		t.Fatal("a third known stream was taken past Known")
	}
	b.Release("a", false)
	if b.Take("b", false) {
		t.Fatal("a stranger got a second stream past PerStranger")
	}
	if !b.Take("y", false) {
		t.Fatal("a freed stranger slot was not reused")
	}
	for _, p := range []peer.ID{"b", "c", "y"} {
		b.Release(p, false)
	}
	b.Release(alice, true)
	b.Release(bob, true)
	if k, s, sp := b.Open(); k != 0 || s != 0 || sp != 0 || len(b.perStranger) != 0 {
		t.Errorf("after every release: known %d, strangers %d, stranger peers %d (map %d)", k, s, sp, len(b.perStranger))
	}
}

func TestBudgetUnlimitedKnown(t *testing.T) {
	var b Budget
	for range 1000 {
		if !b.Take("alice", true) {
			t.Fatal("Known 0 refused a known peer")
		}
	}
	if b.Take("stranger", false) {
		t.Fatal("Strangers 0 took a stranger")
	}
}
