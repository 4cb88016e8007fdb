package mailbox

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/node/mailbox/pb"
)

// TestFlood: with the default limits, a flood of deposits without a valid
// capability, over one connection and from many one-time identities at
// once, is refused (bad capability, then rate-limited on the connection
// that floods), stores nothing, and keeps neither the owner from fetching
// nor a contact from depositing meanwhile.
func TestFlood(t *testing.T) {
	const (
		oneConnection = 300 // requests, past the burst of 50
		identities    = 64  // one-time identities, 8 at a time
	)
	b := newBox(t, nil)
	alice := newPerson(t)
	cap := alice.register(t, b)
	owner := alice.owner(t)
	forged := func() *Capability {
		var c Capability
		rand.Read(c.Nonce[:])
		rand.Read(c.Token[:])
		return &c
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := make(map[pb.Code]int) // the flood's outcomes, one connection
	var elapsed time.Duration
	wg.Go(func() {
		c := newPerson(t).dial(t, b)
		start := time.Now()
		for range oneConnection {
			code, _ := RefusalCode(c.Deposit(ctx(t), owner, forged(), envelope(100)))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}
		elapsed = time.Since(start)
	})
	many := make(chan error, identities)
	for range 8 {
		wg.Go(func() {
			for range identities / 8 {
				many <- DepositOnce(ctx(t), b.addr(), owner, forged(), envelope(100))
			}
		})
	}
	// Meanwhile a contact deposits and the owner fetches.
	for range 5 {
		if err := DepositOnce(ctx(t), b.addr(), owner, &cap, envelope(100)); err != nil {
			t.Fatalf("a contact's deposit during the flood: %v", err)
		}
	}
	if mail := alice.fetchAll(t, b); len(mail) > 5 {
		t.Fatalf("during the flood the owner holds %d envelopes, want at most the contact's 5", len(mail))
	}
	wg.Wait()
	close(many)
	for err := range many {
		wantRefused(t, err, pb.Code_CODE_BAD_CAPABILITY)
	}

	// The connection that floods gets its burst answered, then at most
	// the rate: the rest is refused unread.
	allowed := int(float64(b.svc.cfg.RequestBurst) + float64(b.svc.cfg.RequestRate)*elapsed.Seconds() + 1)
	if codes[pb.Code_CODE_BAD_CAPABILITY]+codes[pb.Code_CODE_RATE_LIMITED] != oneConnection {
		t.Fatalf("the flood's answers: %v; want bad capability or rate limited, each", codes)
	}
	if n := codes[pb.Code_CODE_BAD_CAPABILITY]; n > allowed || codes[pb.Code_CODE_RATE_LIMITED] == 0 {
		t.Fatalf("%d of %d flooded requests checked in %v (at most %d allowed), %d rate-limited", n, oneConnection, elapsed, allowed, codes[pb.Code_CODE_RATE_LIMITED])
	}
	if mail := alice.fetchAll(t, b); len(mail) != 5 {
		t.Fatalf("after the flood the owner holds %d envelopes, want the contact's 5", len(mail))
	}
	st := b.svc.Stats()
	if st.Deposits != 5 || st.DepositsRefused != oneConnection+identities {
		t.Fatalf("stats after the flood: %+v; want 5 stored, %d refused", st, oneConnection+identities)
	}
}
