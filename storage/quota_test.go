package storage

import (
	"errors"
	"slices"
	"testing"

	parley "github.com/parley-im/parley"
)

const dave = "12D3KooWDave"

// Strangers' records count in the transaction that stores them: one over
// the peer's quota is refused and stores nothing (not even its key), the
// total caps every stranger together, a duplicate is not counted twice,
// accepting a stranger releases their usage, and counts survive a restart.
func TestStrangerQuota(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	one := recordCost(text(bob, false, 1, "x"))
	carols := recordCost(text(carol, false, 1, "x"))
	q := Quota{PeerCount: 3, PeerBytes: 1 << 20, TotalCount: 5, TotalBytes: 1 << 20}
	putFrom := func(from string, recs ...Record) (added, refused []bool) {
		t.Helper()
		added, refused, err := db.PutStrangerRecords(from, recs, q)
		if err != nil {
			t.Fatal(err)
		}
		return added, refused
	}
	usage := func(peer string) (Usage, Usage) {
		t.Helper()
		own, total, err := db.StrangerUsage(peer)
		if err != nil {
			t.Fatal(err)
		}
		return own, total
	}

	// Bob sends four in one call: the fourth is refused, with its key.
	recs := []Record{text(bob, false, 1, "x"), text(bob, false, 2, "x"), text(bob, false, 3, "x"), text(bob, false, 4, "x")}
	recs[3].SenderKey = &PeerKey{ID: []byte("refused-key"), Key: []byte("k")}
	added, refused := putFrom(bob, recs...)
	if want := []bool{false, false, false, true}; !slices.Equal(refused, want) || !slices.Equal(added, []bool{true, true, true, false}) {
		t.Fatalf("added %v refused %v, want the fourth refused", added, refused)
	}
	if ok, _ := db.HasEnvelope(recs[3].Message.ID); ok {
		t.Fatal("a refused record was stored")
	}
	if _, err := db.PeerKey(bob, []byte("refused-key")); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("the key of a refused record was kept: %v", err)
	}
	// A duplicate is stored already: neither refused nor counted.
	if added, refused := putFrom(bob, recs[0]); added[0] || refused[0] {
		t.Fatalf("duplicate: added %v refused %v", added, refused)
	}
	if own, total := usage(bob); own != (Usage{3, 3 * one}) || total != own {
		t.Fatalf("bob's usage %+v, total %+v, want 3 records of %d bytes", own, total, one)
	}

	// Carol has her own quota, up to the total of five.
	_, refused = putFrom(carol, text(carol, false, 1, "x"), text(carol, false, 2, "x"), text(carol, false, 3, "x"))
	if want := []bool{false, false, true}; !slices.Equal(refused, want) {
		t.Fatalf("carol: refused %v, want %v (total cap)", refused, want)
	}

	// Accepting bob releases his three; his new records are not counted.
	if _, err := db.UpdateContact(bob, func(c *parley.Contact, _ bool) (bool, error) {
		c.State = parley.ContactAccepted
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if own, total := usage(bob); own != (Usage{}) || total != (Usage{2, 2 * carols}) {
		t.Fatalf("after accepting bob: his usage %+v, total %+v", own, total)
	}
	if _, refused := putFrom(bob, text(bob, false, 5, "x"), text(bob, false, 6, "x"), text(bob, false, 7, "x"), text(bob, false, 8, "x")); slices.Contains(refused, true) {
		t.Fatalf("an accepted contact was refused: %v", refused)
	}

	// Bytes count as well as records, and the counts survive a restart.
	db.Close()
	db = openAt(t, dir, key)
	if _, total := usage(dave); total != (Usage{2, 2 * carols}) {
		t.Fatalf("total after restart %+v", total)
	}
	q.PeerBytes = 2*recordCost(text(dave, false, 1, "x")) - 1
	if _, refused := putFrom(dave, text(dave, false, 1, "x"), text(dave, false, 2, "x")); !slices.Equal(refused, []bool{false, true}) {
		t.Fatalf("dave by bytes: refused %v", refused)
	}
}

func TestStrangerRecordsRefuseBadInput(t *testing.T) {
	db := openTemp(t)
	q := Quota{PeerCount: 1, PeerBytes: 1, TotalCount: 1, TotalBytes: 1}
	for name, call := range map[string]func() error{
		"another sender": func() error {
			_, _, err := db.PutStrangerRecords(bob, []Record{text(carol, false, 1, "x")}, q)
			return err
		},
		"zero quota": func() error {
			_, _, err := db.PutStrangerRecords(bob, []Record{text(bob, false, 1, "x")}, Quota{})
			return err
		},
		"bad peer": func() error { _, _, err := db.PutStrangerRecords("", nil, q); return err },
	} {
		if err := call(); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, total, _ := db.StrangerUsage(bob); total != (Usage{}) {
		t.Fatalf("bad input counted: %+v", total)
	}
}
