package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

func TestContacts(t *testing.T) {
	db := openTemp(t)
	added := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cs := []parley.Contact{
		{PeerID: "p3", Name: "bob", State: parley.ContactAccepted, AddedAt: added},
		{PeerID: "p1", Name: "Carol", State: parley.ContactRequest, HPKEKey: []byte{1, 2, 3}, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}},
		{PeerID: "p2", Name: "bob", State: parley.ContactAccepted},
		{PeerID: "p4", Name: "Alice", State: parley.ContactAccepted},
	}
	for _, c := range cs {
		if err := db.PutContact(c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range got {
		order = append(order, c.PeerID)
	}
	if want := "p4 p2 p3 p1"; join(order) != want {
		t.Fatalf("order = %s, want %s (Alice, bob/p2, bob/p3, Carol)", join(order), want)
	}

	c, err := db.Contact("p1")
	if err != nil || c.Name != "Carol" || c.State != parley.ContactRequest || !bytes.Equal(c.HPKEKey, []byte{1, 2, 3}) || len(c.Addrs) != 1 {
		t.Fatalf("Contact(p1) = %+v, %v", c, err)
	}
	if c, _ := db.Contact("p3"); !c.AddedAt.Equal(added) {
		t.Fatalf("AddedAt = %v, want %v", c.AddedAt, added)
	}

	// Accepting a request replaces the contact.
	cs[1].State = parley.ContactAccepted
	if err := db.PutContact(cs[1]); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Contact("p1"); c.State != parley.ContactAccepted {
		t.Fatalf("state = %v after update", c.State)
	}
	if all, _ := db.Contacts(); len(all) != 4 {
		t.Fatalf("%d contacts after update, want 4", len(all))
	}

	if _, err := db.Contact("nobody"); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("Contact(nobody): %v, want ErrNotFound", err)
	}
	if err := db.PutContact(parley.Contact{Name: "no peer"}); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("PutContact without peer ID: %v", err)
	}
}

func join(ss []string) string {
	var b bytes.Buffer
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

func TestPeerKeys(t *testing.T) {
	db := openTemp(t)
	if err := db.PutPeerKey(bob, []byte{1}, []byte("key one")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPeerKey(bob, []byte{1, 0}, []byte("key two")); err != nil {
		t.Fatal(err)
	}
	if k, err := db.PeerKey(bob, []byte{1}); err != nil || string(k) != "key one" {
		t.Fatalf("PeerKey = %q, %v", k, err)
	}
	if k, err := db.PeerKey(bob, []byte{1, 0}); err != nil || string(k) != "key two" {
		t.Fatalf("PeerKey = %q, %v", k, err)
	}
	if _, err := db.PeerKey(carol, []byte{1}); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("another peer's key ID: %v, want ErrNotFound", err)
	}
	if err := db.PutPeerKey(bob, nil, []byte("k")); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("empty key ID: %v", err)
	}
}

func TestUpdateContactIsAtomic(t *testing.T) {
	db := openTemp(t)
	const peer = "12D3KooWEFaFUyH5QN12Pyip2iQSW7dB8drQcpZTjx3ZnSw5icKm"
	// Two kinds of concurrent updates to one contact, each touching its own
	// field: neither may undo the other.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := db.UpdateContact(peer, func(c *parley.Contact, found bool) (bool, error) {
				c.Addrs = append(c.Addrs, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", i+1))
				return true, nil
			}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := db.UpdateContact(peer, func(c *parley.Contact, found bool) (bool, error) {
				c.Name += "x"
				return true, nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := db.Contact(peer)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Addrs) != 50 || len(c.Name) != 50 {
		t.Fatalf("lost updates: %d addrs and a %d-letter name, want 50 and 50", len(c.Addrs), len(c.Name))
	}
	// Declining to write changes nothing; changing the peer ID is refused.
	if _, err := db.UpdateContact(peer, func(c *parley.Contact, _ bool) (bool, error) { c.Name = "nope"; return false, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateContact(peer, func(c *parley.Contact, _ bool) (bool, error) { c.PeerID = "other"; return true, nil }); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("changing the peer ID: err = %v", err)
	}
	if c2, _ := db.Contact(peer); c2.Name != c.Name {
		t.Fatalf("a declined update was written: %q", c2.Name)
	}
}

// TestVerificationInvariant: whichever write path changes a verified
// contact's key, the contact is no longer verified and says its keys
// changed; marking it verified again clears that.
func TestVerificationInvariant(t *testing.T) {
	db := openTemp(t)
	const p = "pv"
	verified := parley.Contact{PeerID: p, Name: "Vera", HPKEKey: []byte{1}, State: parley.ContactAccepted, Verified: true}
	if err := db.PutContact(verified); err != nil {
		t.Fatal(err)
	}
	check := func(step string, wantVerified, wantChanged bool) {
		t.Helper()
		for _, src := range []string{"cache", "disk"} {
			var c parley.Contact
			var err error
			if src == "cache" {
				c, err = db.Contact(p)
			} else {
				err = db.view(func(txn *badger.Txn) error {
					c, _, err = storedContactIn(txn, p)
					return err
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Verified != wantVerified || c.KeysChanged != wantChanged {
				t.Fatalf("%s (%s): verified=%v keys_changed=%v, want %v %v", step, src, c.Verified, c.KeysChanged, wantVerified, wantChanged)
			}
		}
	}
	check("verified", true, false)

	// Another write leaving the key alone keeps the mark.
	if _, err := db.UpdateContact(p, func(c *parley.Contact, _ bool) (bool, error) {
		c.Addrs = []string{"/ip4/127.0.0.1/tcp/9"}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	check("addresses changed", true, false)

	// A key changed in place through UpdateContact, the writer keeping Verified.
	c, err := db.UpdateContact(p, func(c *parley.Contact, _ bool) (bool, error) {
		c.HPKEKey[0] = 2
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Verified || !c.KeysChanged {
		t.Fatalf("UpdateContact returned verified=%v keys_changed=%v after a key change", c.Verified, c.KeysChanged)
	}
	check("key changed by UpdateContact", false, true)

	// The flag survives writes that do not verify.
	if _, err := db.UpdateContact(p, func(c *parley.Contact, _ bool) (bool, error) {
		c.Name = "Vera V"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	check("renamed", false, true)

	// Verifying again clears it.
	if _, err := db.UpdateContact(p, func(c *parley.Contact, _ bool) (bool, error) {
		c.Verified = true
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	check("verified again", true, false)

	// PutContact replacing the contact with another key, Verified still set.
	verified.HPKEKey = []byte{3}
	if err := db.PutContact(verified); err != nil {
		t.Fatal(err)
	}
	check("key changed by PutContact", false, true)
}

// TestDeleteContact: the record goes, from the cache and from disk, and a
// second delete finds nothing.
func TestDeleteContact(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	if err := db.PutContact(parley.Contact{PeerID: bob, Name: "Bob", State: parley.ContactAccepted}); err != nil {
		t.Fatal(err)
	}
	if found, err := db.DeleteContact(bob); !found || err != nil {
		t.Fatalf("DeleteContact = %v, %v", found, err)
	}
	if _, err := db.Contact(bob); !errors.Is(err, parley.ErrNotFound) {
		t.Errorf("Contact after the delete = %v, want ErrNotFound", err)
	}
	if found, err := db.DeleteContact(bob); found || err != nil {
		t.Errorf("second DeleteContact = %v, %v", found, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, key)
	if cs, err := db.Contacts(); len(cs) != 0 || err != nil {
		t.Errorf("after a restart: %v, %v", cs, err)
	}
}
