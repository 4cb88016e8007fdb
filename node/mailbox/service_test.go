package mailbox

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/mailbox/pb"
)

// TestDepositFetchAck: a contact deposits from a one-time identity, the
// owner fetches the envelope as deposited, and an ack deletes it.
func TestDepositFetchAck(t *testing.T) {
	b := newBox(t, nil)
	alice := newPerson(t)
	cap := alice.register(t, b)
	env := envelope(1000)
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, env); err != nil {
		t.Fatal(err)
	}
	mail := alice.fetchAll(t, b)
	if len(mail) != 1 || !bytes.Equal(mail[0].Envelope, env) || mail[0].ID != parley.NewEnvelopeID(env) || !mail[0].StoredAt.Equal(t0) {
		t.Fatalf("fetched %+v, want the deposited envelope stored at %v", mail, t0)
	}
	c := alice.dial(t, b)
	if err := c.Authenticate(ctx(t), alice.key); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx(t))
	if err != nil || st.Count != 1 || st.Bytes <= 1000 || st.MaxCount != 10_000 || st.MaxBytes != 100<<20 || st.TTL != 30*24*time.Hour {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if n, err := c.Ack(ctx(t), []parley.EnvelopeID{mail[0].ID}); err != nil || n != 1 {
		t.Fatalf("ack = %d, %v; want 1 deleted", n, err)
	}
	if mail := alice.fetchAll(t, b); len(mail) != 0 {
		t.Fatalf("after the ack the owner still gets %d envelopes", len(mail))
	}
	// The sender, never told of the ack, deposits again: nothing comes back.
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, env); err != nil {
		t.Fatal(err)
	}
	if mail := alice.fetchAll(t, b); len(mail) != 0 {
		t.Fatalf("a deposit retried after the ack came back: %d envelopes", len(mail))
	}
}

// TestDepositIdempotent: a deposit retried (its answer lost, say) is held
// once.
func TestDepositIdempotent(t *testing.T) {
	b := newBox(t, nil)
	alice := newPerson(t)
	cap := alice.register(t, b)
	env := envelope(500)
	for range 3 {
		if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, env); err != nil {
			t.Fatal(err)
		}
	}
	if mail := alice.fetchAll(t, b); len(mail) != 1 {
		t.Fatalf("three deposits of one envelope gave %d", len(mail))
	}
}

// TestDepositRefused: everything a mailbox must refuse, and that a
// refused deposit leaves nothing behind.
func TestDepositRefused(t *testing.T) {
	b := newBox(t, func(c *Config) { c.Quota.Count = 2 })
	alice, stranger := newPerson(t), newPerson(t)
	cap := alice.register(t, b)
	owner := alice.owner(t)
	strangerCap := IssueCapability(stranger.depositKey(t, b), owner) // a MAC under a key of its own
	mismatched := cap
	mismatched.Nonce[0] ^= 1
	tests := []struct {
		name  string
		owner OwnerID
		cap   *Capability
		env   []byte
		want  pb.Code
	}{
		{"owner not registered", stranger.owner(t), &strangerCap, envelope(10), pb.Code_CODE_NOT_REGISTERED},
		{"no capability", owner, nil, envelope(10), pb.Code_CODE_BAD_CAPABILITY},
		{"a stranger's capability", owner, &strangerCap, envelope(10), pb.Code_CODE_BAD_CAPABILITY},
		{"token of another nonce", owner, &mismatched, envelope(10), pb.Code_CODE_BAD_CAPABILITY},
		{"too large", owner, &cap, envelope(MaxEnvelopeSize + 1), pb.Code_CODE_TOO_LARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, DepositOnce(ctx(t), b.addr(), tt.owner, tt.cap, tt.env), tt.want)
		})
	}
	c := newPerson(t).dial(t, b)
	for range 2 {
		if err := c.Deposit(ctx(t), owner, &cap, envelope(10)); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Deposit(ctx(t), owner, &cap, envelope(10))
	wantRefused(t, err, pb.Code_CODE_MAILBOX_FULL)
	if r := new(RefusedError); !errors.As(err, &r) || !r.Retry() || r.Reason != "mailbox full" {
		t.Fatalf("refusal %v: want \"mailbox full\", to retry later", err)
	}
	if mail := alice.fetchAll(t, b); len(mail) != 2 {
		t.Fatalf("the owner holds %d envelopes, want the 2 accepted", len(mail))
	}

	// Revoking one contact's nonce refuses that contact only.
	other := IssueCapability(alice.depositKey(t, b), owner)
	now := b.clock.Now().Add(time.Second)
	_, err = alice.dial(t, b).Register(ctx(t), alice.key, Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour), DepositKey: alice.depositKey(t, b), Revoked: [][NonceSize]byte{cap.Nonce}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.dial(t, b).Ack(ctx(t), nil); err == nil {
		t.Fatal("an ack without authenticating was taken")
	}
	ac := alice.dial(t, b)
	if err := ac.Authenticate(ctx(t), alice.key); err != nil {
		t.Fatal(err)
	}
	mail := alice.fetchAll(t, b)
	if _, err := ac.Ack(ctx(t), []parley.EnvelopeID{mail[0].ID}); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, c.Deposit(ctx(t), owner, &cap, envelope(10)), pb.Code_CODE_BAD_CAPABILITY)
	if err := c.Deposit(ctx(t), owner, &other, envelope(10)); err != nil {
		t.Fatalf("another contact's capability after one was revoked: %v", err)
	}
}

// TestQuotaBytes: the byte quota counts what envelopes take.
func TestQuotaBytes(t *testing.T) {
	b := newBox(t, func(c *Config) { c.Quota.Bytes = 3 * 1200 })
	alice := newPerson(t)
	cap := alice.register(t, b)
	c := newPerson(t).dial(t, b)
	for range 3 {
		if err := c.Deposit(ctx(t), alice.owner(t), &cap, envelope(1000)); err != nil {
			t.Fatal(err)
		}
	}
	wantRefused(t, c.Deposit(ctx(t), alice.owner(t), &cap, envelope(1000)), pb.Code_CODE_MAILBOX_FULL)
}

// TestRegistrationChecks: a registration is good at one mailbox, for its
// time, and only newer ones replace it.
func TestRegistrationChecks(t *testing.T) {
	a, other := newBox(t, nil), newBox(t, nil)
	alice := newPerson(t)
	now := a.clock.Now()
	reg := Registration{IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour), DepositKey: alice.depositKey(t, a)}
	signed, err := SignRegistration(alice.key, a.host.ID(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.dial(t, a).RegisterSigned(ctx(t), signed); err != nil {
		t.Fatal(err)
	}
	// Replayed at another mailbox.
	_, err = alice.dial(t, other).RegisterSigned(ctx(t), signed)
	wantRefused(t, err, pb.Code_CODE_BAD_REGISTRATION)
	// Replayed at the same mailbox: changes nothing, and is fine.
	if _, err := alice.dial(t, a).RegisterSigned(ctx(t), signed); err != nil {
		t.Fatalf("the same registration again: %v", err)
	}
	older := reg
	older.IssuedAt = now.Add(-time.Minute)
	older.DepositKey[0] ^= 1
	_, err = alice.dial(t, a).Register(ctx(t), alice.key, older)
	wantRefused(t, err, pb.Code_CODE_BAD_REGISTRATION)

	tampered := proto.Clone(signed).(*pb.Register)
	tampered.Registration[len(tampered.Registration)-1] ^= 1
	_, err = alice.dial(t, a).RegisterSigned(ctx(t), tampered)
	wantRefused(t, err, pb.Code_CODE_BAD_SIGNATURE)

	for name, r := range map[string]Registration{
		"expired":         {IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		"from the future": {IssuedAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)},
		"too long":        {IssuedAt: now, ExpiresAt: now.Add(500 * 24 * time.Hour)},
	} {
		_, err := newPerson(t).dial(t, a).Register(ctx(t), newPerson(t).key, r)
		if code, _ := RefusalCode(err); code != pb.Code_CODE_BAD_REGISTRATION {
			t.Errorf("%s registration: %v", name, err)
		}
	}
	withCert := proto.Clone(signed).(*pb.Register)
	withCert.DeviceCert = []byte("later")
	_, err = alice.dial(t, a).RegisterSigned(ctx(t), withCert)
	wantRefused(t, err, pb.Code_CODE_UNSUPPORTED)

	// Admission policy and the accounts bound.
	closed := newBox(t, func(c *Config) { c.MaxAccounts = 1 })
	newPerson(t).register(t, closed)
	_, err = alice.dial(t, closed).Register(ctx(t), alice.key, Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	wantRefused(t, err, pb.Code_CODE_REFUSED)
}

// TestFetchOnlyByOwner: nobody but the owner fetches, acks or reads the
// status of the owner's mail.
func TestFetchOnlyByOwner(t *testing.T) {
	b := newBox(t, nil)
	alice, mallory := newPerson(t), newPerson(t)
	cap := alice.register(t, b)
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, envelope(10)); err != nil {
		t.Fatal(err)
	}
	c := mallory.dial(t, b)
	_, err := c.Fetch(ctx(t), nil, 0)
	wantRefused(t, err, pb.Code_CODE_UNAUTHENTICATED)
	// Mallory as herself: not registered, so still nothing.
	wantRefused(t, c.Authenticate(ctx(t), mallory.key), pb.Code_CODE_NOT_REGISTERED)
	_, err = c.Status(ctx(t))
	wantRefused(t, err, pb.Code_CODE_UNAUTHENTICATED)
	// Claiming Alice's key with her own signature.
	if _, err := c.roundTrip(ctx(t), &pb.Request{Kind: &pb.Request_Challenge{Challenge: &pb.ChallengeRequest{}}}); err != nil {
		t.Fatal(err)
	}
	alicePub, err := crypto.MarshalPublicKey(alice.key.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := mallory.key.Sign([]byte("anything"))
	_, err = c.roundTrip(ctx(t), &pb.Request{Kind: &pb.Request_Authenticate{Authenticate: &pb.Authenticate{OwnerKey: alicePub, Signature: sig}}})
	wantRefused(t, err, pb.Code_CODE_BAD_SIGNATURE)
	// The challenge was used up: a second try needs a new one.
	_, err = c.roundTrip(ctx(t), &pb.Request{Kind: &pb.Request_Authenticate{Authenticate: &pb.Authenticate{OwnerKey: alicePub, Signature: sig}}})
	wantRefused(t, err, pb.Code_CODE_UNAUTHENTICATED)
	_, err = c.Ack(ctx(t), []parley.EnvelopeID{{1}})
	wantRefused(t, err, pb.Code_CODE_UNAUTHENTICATED)
	if mail := alice.fetchAll(t, b); len(mail) != 1 {
		t.Fatalf("the owner has %d envelopes, want 1", len(mail))
	}
}

// TestTTL: mail older than the TTL is not handed out and the sweep deletes
// it, uncounting it; an expired registration takes no deposits.
func TestTTL(t *testing.T) {
	b := newBox(t, func(c *Config) { c.TTL = time.Hour })
	alice := newPerson(t)
	cap := alice.register(t, b)
	old := envelope(10)
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, old); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(30 * time.Minute)
	young := envelope(10)
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, young); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(45 * time.Minute)
	mail := alice.fetchAll(t, b)
	if len(mail) != 1 || !bytes.Equal(mail[0].Envelope, young) {
		t.Fatalf("after the TTL the owner gets %d envelopes, want only the young one", len(mail))
	}
	if n, err := b.svc.Sweep(); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	c := alice.dial(t, b)
	if err := c.Authenticate(ctx(t), alice.key); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(ctx(t)); err != nil || st.Count != 1 {
		t.Fatalf("status after the sweep = %+v, %v", st, err)
	}
	b.clock.Advance(366 * 24 * time.Hour)
	wantRefused(t, DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, envelope(10)), pb.Code_CODE_NOT_REGISTERED)
}

// TestRestartKeepsMail: what was acknowledged to a depositor survives the
// mailbox's restart.
func TestRestartKeepsMail(t *testing.T) {
	b := newBox(t, nil)
	alice := newPerson(t)
	cap := alice.register(t, b)
	env := envelope(300)
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, env); err != nil {
		t.Fatal(err)
	}
	b.restart()
	mail := alice.fetchAll(t, b)
	if len(mail) != 1 || !bytes.Equal(mail[0].Envelope, env) {
		t.Fatalf("after a restart the owner gets %d envelopes, want the one deposited", len(mail))
	}
}

// TestRateLimited: one connection's requests past its bucket are refused
// with a code, and the stream goes on.
func TestRateLimited(t *testing.T) {
	b := newBox(t, func(c *Config) { c.RequestRate, c.RequestBurst = 1e-6, 3 })
	alice := newPerson(t)
	cap := alice.register(t, b) // one request, on its own connection from alice's host
	c := newPerson(t).dial(t, b)
	for range 3 {
		if err := c.Deposit(ctx(t), alice.owner(t), &cap, envelope(10)); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Deposit(ctx(t), alice.owner(t), &cap, envelope(10))
	wantRefused(t, err, pb.Code_CODE_RATE_LIMITED)
	// Another connection has its own bucket.
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, envelope(10)); err != nil {
		t.Fatal(err)
	}
}

// TestNoDepositorInStore: the depositor's peer ID is nowhere in what the
// mailbox stores, neither in any key or value (decrypted) nor in its files.
func TestNoDepositorInStore(t *testing.T) {
	b := newBox(t, nil)
	alice, bob := newPerson(t), newPerson(t)
	cap := alice.register(t, b)
	// Bob deposits from his own identity here (the worst case: no one-time
	// host), so his peer ID is what the mailbox sees on the connection.
	c := bob.dial(t, b)
	canary := []byte("plain canary: hello alice")
	if err := c.Deposit(ctx(t), alice.owner(t), &cap, canary); err != nil {
		t.Fatal(err)
	}
	c.Close()
	b.svc.Close()
	if err := b.store.Close(); err != nil {
		t.Fatal(err)
	}
	needles := [][]byte{[]byte(bob.host.ID()), []byte(bob.host.ID().String())}
	if raw, err := bob.key.GetPublic().Raw(); err == nil {
		needles = append(needles, raw)
	}
	// The files first, before badger opens them again: all encrypted.
	err := filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range append(needles, canary) {
			if bytes.Contains(raw, n) {
				t.Errorf("%s holds %q in the clear", d.Name(), n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Then every key and value, decrypted.
	db, err := badger.Open(badger.DefaultOptions(b.dir).WithEncryptionKey(b.key).WithIndexCacheSize(4 << 20).
		WithBlockCacheSize(8 << 20).WithReadOnly(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	found := false
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			found = found || bytes.Contains(v, canary)
			for _, n := range needles {
				if bytes.Contains(it.Item().Key(), n) || bytes.Contains(v, n) {
					t.Errorf("the store holds the depositor's ID under %q", it.Item().Key())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("the canary envelope is not in the store: the scan sees nothing")
	}
}

// TestDepositOnceIsOneTime: two deposits from DepositOnce come from two
// identities, neither of them the depositor's own.
func TestDepositOnceIsOneTime(t *testing.T) {
	b := newBox(t, nil)
	alice := newPerson(t)
	cap := alice.register(t, b)
	seen := make(chan string, 4)
	b.host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) { seen <- c.RemotePeer().String() }})
	for range 2 {
		if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, envelope(10)); err != nil {
			t.Fatal(err)
		}
	}
	first, second := <-seen, <-seen
	if first == second || first == alice.host.ID().String() {
		t.Fatalf("two one-time deposits came from the same peer %s", first)
	}
}

// TestSweeper: the service's own sweeper deletes expired mail, unasked.
func TestSweeper(t *testing.T) {
	b := newBox(t, func(c *Config) { c.TTL, c.SweepEvery = time.Hour, 10*time.Millisecond })
	alice := newPerson(t)
	cap := alice.register(t, b)
	if err := DepositOnce(ctx(t), b.addr(), alice.owner(t), &cap, envelope(10)); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(2 * time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := b.store.MailboxAccountOf(alice.owner(t), b.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if a.Count == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired mail still counted after 10 s: %+v", a)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An owner draining a full mailbox makes more requests than a
// connection's burst allows: its fetches, acks and status requests go to
// a bucket of its own (found by the mailbox benchmarks), while anything
// before authenticating stays on the connection's.
func TestOwnerRequestsHaveTheirOwnBucket(t *testing.T) {
	b := newBox(t, func(c *Config) { c.RequestRate, c.RequestBurst = 1e-6, 3 })
	alice := newPerson(t)
	alice.register(t, b) // on its own connection
	c := alice.dial(t, b)
	if err := c.Authenticate(ctx(t), alice.key); err != nil { // challenge + authenticate: 2 of 3
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := c.Status(ctx(t)); err != nil {
			t.Fatalf("status request %d of an authenticated owner: %v", i, err)
		}
	}
	if _, err := c.Fetch(ctx(t), nil, 0); err != nil {
		t.Fatal(err)
	}
	// Before authenticating, the same requests use the connection's.
	c2 := newPerson(t).dial(t, b)
	for range 3 {
		_, _ = c2.Status(ctx(t)) // unauthenticated: refused, but counted
	}
	_, err := c2.Status(ctx(t))
	wantRefused(t, err, pb.Code_CODE_RATE_LIMITED)
}

// TestCapabilityFor: the capability for a holder is the same each time it
// is issued, differs between holders, and the mailbox takes it.
func TestCapabilityFor(t *testing.T) {
	b := newBox(t, nil)
	alice := newPerson(t)
	alice.register(t, b)
	owner := alice.owner(t)
	k := alice.depositKey(t, b)
	bob, carol := newPerson(t).host.ID(), newPerson(t).host.ID()
	c1, c2, other := CapabilityFor(k, owner, bob), CapabilityFor(k, owner, bob), CapabilityFor(k, owner, carol)
	if c1 != c2 {
		t.Fatal("two capabilities for one holder differ")
	}
	if c1.Nonce == other.Nonce {
		t.Fatal("two holders got one nonce")
	}
	for _, c := range []Capability{c1, other} {
		if err := DepositOnce(ctx(t), b.addr(), owner, &c, envelope(10)); err != nil {
			t.Fatalf("deposit with a holder's capability: %v", err)
		}
	}
}
