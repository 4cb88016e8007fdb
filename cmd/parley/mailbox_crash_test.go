package main

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node/mailbox"
)

// crashOwner is a mailbox owner in the test's process, and the mailbox
// process it registered with.
type crashOwner struct {
	t     *testing.T
	ctx   context.Context
	mb    *parleytest.Process
	key   crypto.PrivKey
	host  host.Host
	owner mailbox.OwnerID
	capa  mailbox.Capability
}

// addr is where the mailbox process listens now, as `parley id` says.
func (o *crashOwner) addr() peer.AddrInfo {
	o.t.Helper()
	var self struct {
		PeerID string   `json:"peer_id"`
		Addrs  []string `json:"addrs"`
	}
	o.mb.CLIJSON(&self, "id")
	id, err := peer.Decode(self.PeerID)
	if err != nil {
		o.t.Fatal(err)
	}
	info := peer.AddrInfo{ID: id}
	for _, a := range self.Addrs {
		info.Addrs = append(info.Addrs, ma.StringCast(a))
	}
	return info
}

// client dials the mailbox from the owner's identity, authenticated.
func (o *crashOwner) client(info peer.AddrInfo) *mailbox.Client {
	o.t.Helper()
	c, err := mailbox.Dial(o.ctx, o.host, info)
	if err != nil {
		o.t.Fatal(err)
	}
	if err := c.Authenticate(o.ctx, o.key); err != nil {
		o.t.Fatal(err)
	}
	return c
}

// TestMailboxKill9 kills a mailbox process (`parley run --mailbox-service`)
// with SIGKILL at random points while contacts deposit, and then while its
// owner fetches and acknowledges, restarting it each time: every deposit
// it acknowledged is there, each envelope once; an acknowledged fetch never
// comes back; what was fetched but not acknowledged comes again, so
// nothing is lost; and its counters end at zero with the mail.
func TestMailboxKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 13))

	mb := parleytest.NewProcess(t, "Mailbox")
	mb.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	mb.Args = []string{"--mailbox-service"}
	mb.Start()
	sk, _, err := crypto.GenerateEd25519Key(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	o := &crashOwner{t: t, ctx: ctx, mb: mb, key: sk, host: h}
	if o.owner, err = mailbox.OwnerOf(sk.GetPublic()); err != nil {
		t.Fatal(err)
	}
	info := o.addr()
	depositKey, err := mailbox.DeriveDepositKey(sk, info.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mailbox.Dial(ctx, h, info)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := c.Register(ctx, sk, mailbox.Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour), DepositKey: depositKey}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	o.capa = mailbox.IssueCapability(depositKey, o.owner)

	all, acked, retried := o.depositThroughCrashes(rng, info)
	info = o.addr()
	// One pass, no acks: every envelope ever deposited is there once.
	held := make(map[parley.EnvelopeID]int)
	c = o.client(info)
	var cursor []byte
	for more := true; more; {
		page, err := c.Fetch(ctx, cursor, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Mail {
			held[m.ID]++
		}
		cursor, more = page.Next, page.More
	}
	c.Close()
	for id, n := range held {
		if n != 1 {
			t.Errorf("envelope %s held %d times", id, n)
		}
		if !all[id] {
			t.Errorf("envelope %s held, never deposited", id)
		}
	}
	for id := range all {
		if held[id] == 0 {
			t.Errorf("envelope %s lost (acknowledged to its depositor: %v)", id, acked[id])
		}
	}
	t.Logf("%d envelopes deposited through %d crashes, %d acknowledged before the last restart, %d deposits retried after a crash", len(all), depositCrashes, len(acked), retried)

	o.fetchThroughCrashes(rng, info, all)
}

const (
	depositCrashes = 4
	fetchCrashes   = 4
	depositors     = 4
)

// depositThroughCrashes deposits from several contacts at once, each
// deposit from a one-time identity as senders do, and kills the mailbox
// after a random number of acknowledged deposits while others are in
// flight; a deposit that failed is retried after the restart, as an
// outbox would. It returns every envelope deposited (all acknowledged in
// the end), those acknowledged before the last restart, and how many
// deposits were retried.
func (o *crashOwner) depositThroughCrashes(rng *rand.Rand, info peer.AddrInfo) (all, ackedBeforeCrash map[parley.EnvelopeID]bool, retried int) {
	t := o.t
	all, ackedBeforeCrash = make(map[parley.EnvelopeID]bool), make(map[parley.EnvelopeID]bool)
	var retry [][]byte
	for round := 0; round <= depositCrashes; round++ {
		last := round == depositCrashes // no crash: every retry must go through
		type result struct {
			env []byte
			err error
		}
		work, results := make(chan []byte), make(chan result)
		var wg sync.WaitGroup
		for range depositors {
			wg.Go(func() {
				for env := range work {
					results <- result{env, mailbox.DepositOnce(o.ctx, info, o.owner, &o.capa, env)}
				}
			})
		}
		go func() {
			wg.Wait()
			close(results)
		}()
		queue := retry
		retried += len(retry)
		retry = nil
		killAt, oks := 5+rng.IntN(40), 0
		var next []byte // the envelope to hand a depositor next; nil: none chosen
		for feeding := true; ; {
			var send chan []byte
			if feeding && next == nil {
				switch {
				case len(queue) > 0:
					next, queue = queue[0], queue[1:]
				case last: // only the retries, then done
					close(work)
					feeding = false
				default:
					next = make([]byte, 200+rng.IntN(200))
					crand.Read(next)
				}
			}
			if feeding {
				send = work
			}
			select {
			case send <- next:
				all[parley.NewEnvelopeID(next)] = true
				next = nil
				continue
			case r, ok := <-results:
				if !ok {
					break
				}
				switch {
				case r.err == nil:
					oks++
					if !last {
						ackedBeforeCrash[parley.NewEnvelopeID(r.env)] = true
					}
				case feeding || last:
					t.Fatalf("round %d: a deposit failed with the mailbox up: %v", round, r.err)
				default:
					retry = append(retry, r.env)
				}
				if feeding && !last && oks >= killAt {
					o.mb.Kill9() // the other depositors are mid-deposit
					feeding = false
					close(work)
					if next != nil {
						retry = append(retry, next)
					}
					retry = append(retry, queue...)
				}
				continue
			}
			break
		}
		if !last {
			o.mb.Start()
			info = o.addr()
		}
	}
	return all, ackedBeforeCrash, retried
}

// fetchThroughCrashes has the owner fetch and acknowledge its mail in
// small pages while the mailbox is killed at a random page: after the
// fetch and before the ack, while the ack is in flight, or after it. The
// owner keeps what it fetched by envelope ID, as a node's store does.
func (o *crashOwner) fetchThroughCrashes(rng *rand.Rand, info peer.AddrInfo, all map[parley.EnvelopeID]bool) {
	t := o.t
	got := make(map[parley.EnvelopeID]bool)
	gone := make(map[parley.EnvelopeID]bool) // acks the mailbox confirmed
	const pageSize = 8
	for round := 0; round <= fetchCrashes; round++ {
		last := round == fetchCrashes
		killAt := rng.IntN(max(1, (len(all)-len(gone))/pageSize))
		c := o.client(info)
		seen := make(map[parley.EnvelopeID]bool) // in this pass
		killed := false
		var cursor []byte
		for page := 0; ; page++ {
			p, err := c.Fetch(o.ctx, cursor, pageSize)
			if err != nil {
				t.Fatalf("round %d, page %d: fetch: %v", round, page, err)
			}
			ids := make([]parley.EnvelopeID, 0, len(p.Mail))
			for _, m := range p.Mail {
				switch {
				case gone[m.ID]:
					t.Fatalf("round %d: envelope %s handed out again after its ack was confirmed", round, m.ID)
				case seen[m.ID]:
					t.Fatalf("round %d: envelope %s twice in one pass", round, m.ID)
				case !all[m.ID]:
					t.Fatalf("round %d: envelope %s was never deposited", round, m.ID)
				}
				seen[m.ID], got[m.ID] = true, true
				ids = append(ids, m.ID)
			}
			if !last && page == killAt {
				switch rng.IntN(3) {
				case 0: // fetched, not acknowledged: it must come again
					o.mb.Kill9()
				case 1: // the ack in flight: either way is right
					done := make(chan struct{})
					go func() {
						defer close(done)
						if _, err := c.Ack(o.ctx, ids); err == nil {
							for _, id := range ids {
								gone[id] = true
							}
						}
					}()
					o.mb.Kill9()
					<-done
				case 2: // acknowledged, the next page not asked for
					o.ack(c, ids, gone)
					o.mb.Kill9()
				}
				killed = true
				break
			}
			o.ack(c, ids, gone)
			cursor = p.Next
			if !p.More {
				break
			}
		}
		c.Close()
		if !last {
			if !killed { // the pass ended before the page chosen
				o.mb.Kill9()
			}
			o.mb.Start()
			info = o.addr()
		}
	}
	for id := range all {
		if !got[id] {
			t.Errorf("envelope %s never reached its owner", id)
		}
	}
	c := o.client(info)
	defer c.Close()
	st, err := c.Status(o.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 0 || st.Bytes != 0 {
		t.Errorf("after every envelope was acknowledged the mailbox counts %d envelopes, %d bytes", st.Count, st.Bytes)
	}
	if p, err := c.Fetch(o.ctx, nil, pageSize); err != nil || len(p.Mail) != 0 {
		t.Errorf("after every envelope was acknowledged, a fetch gives %d envelopes (%v)", len(p.Mail), err)
	}
}

func (o *crashOwner) ack(c *mailbox.Client, ids []parley.EnvelopeID, gone map[parley.EnvelopeID]bool) {
	o.t.Helper()
	if len(ids) == 0 {
		return
	}
	if _, err := c.Ack(o.ctx, ids); err != nil {
		o.t.Fatalf("ack with the mailbox up: %v", err)
	}
	for _, id := range ids {
		gone[id] = true
	}
}
