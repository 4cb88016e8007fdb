package storage

import (
	"errors"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

// Pending contacts are kept by peer, so adding one again replaces it, and
// a new one beyond the limit is refused while changing one is not.
func TestPendingContactsBounded(t *testing.T) {
	db := openTemp(t)
	put := func(peer, code string) error {
		_, err := db.UpdatePendingContact(peer, 2, func(p *parley.PendingContact, found bool) (bool, error) {
			if !found {
				p.AddedAt = time.Unix(1, 0).UTC()
			}
			p.Invite, p.State = code, parley.ContactPending
			return true, nil
		})
		return err
	}
	if err := put(bob, "one"); err != nil {
		t.Fatal(err)
	}
	if err := put(bob, "two"); err != nil {
		t.Fatal(err)
	}
	if err := put(carol, "three"); err != nil {
		t.Fatal(err)
	}
	if err := put("dave", "four"); !errors.Is(err, ErrTooManyPending) {
		t.Fatalf("a third pending contact with a limit of 2: %v, want ErrTooManyPending", err)
	}
	if err := put(carol, "five"); err != nil {
		t.Fatalf("changing a kept one at the limit: %v", err)
	}
	ps, err := db.PendingContacts()
	if err != nil || len(ps) != 2 || ps[0].PeerID != bob || ps[0].Invite != "two" || ps[1].Invite != "five" {
		t.Fatalf("pending contacts = %+v, %v", ps, err)
	}
	if removed, err := db.DeletePendingContact(bob, func(p parley.PendingContact) bool { return p.Invite == "one" }); err != nil || removed {
		t.Fatalf("deleting a replaced entry: removed %v, %v", removed, err)
	}
	if removed, err := db.DeletePendingContact(bob, nil); err != nil || !removed {
		t.Fatalf("deleting: removed %v, %v", removed, err)
	}
	if _, err := db.PendingContactOf(bob); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("deleted entry: %v, want ErrNotFound", err)
	}
}
