package mailbox

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/node/mailbox/pb"
	"github.com/parley-im/parley/storage"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// box is a mailbox: a Service on its own loopback host and store.
type box struct {
	t     testing.TB
	host  host.Host
	dir   string
	key   []byte
	store *storage.DB
	svc   *Service
	clock *clock
	cfg   Config
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newBox starts a mailbox; tweak (may be nil) adjusts its Config.
func newBox(t testing.TB, tweak func(*Config)) *box {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	b := &box{t: t, host: h, dir: filepath.Join(t.TempDir(), "db"), key: key, clock: &clock{now: t0}}
	b.cfg = Config{Host: h, Now: b.clock.Now, Logger: quiet()}
	if tweak != nil {
		tweak(&b.cfg)
	}
	b.start()
	return b
}

// start opens the store and starts the service.
func (b *box) start() {
	b.t.Helper()
	store, err := storage.Open(storage.Options{Dir: b.dir, EncryptionKey: b.key, Logger: quiet()})
	if err != nil {
		b.t.Fatal(err)
	}
	b.store = store
	b.t.Cleanup(func() { store.Close() })
	cfg := b.cfg
	cfg.Store = store
	svc, err := New(cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	b.svc = svc
	b.t.Cleanup(func() { svc.Close() })
	if err := svc.Start(); err != nil {
		b.t.Fatal(err)
	}
}

// restart closes the service and the store, and starts both again over
// the same directory.
func (b *box) restart() {
	b.t.Helper()
	b.svc.Close()
	if err := b.store.Close(); err != nil {
		b.t.Fatal(err)
	}
	b.start()
}

func (b *box) addr() peer.AddrInfo { return peer.AddrInfo{ID: b.host.ID(), Addrs: b.host.Addrs()} }

// person is an owner or a contact: an identity key on its own host.
type person struct {
	key  crypto.PrivKey
	host host.Host
}

func newPerson(t testing.TB) *person {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &person{key: sk, host: h}
}

func (p *person) owner(t testing.TB) OwnerID {
	t.Helper()
	id, err := OwnerOf(p.key.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (p *person) depositKey(t testing.TB, b *box) [DepositKeySize]byte {
	t.Helper()
	k, err := DeriveDepositKey(p.key, b.host.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dial opens a client from p's own host (p's identity) to b.
func (p *person) dial(t testing.TB, b *box) *Client {
	t.Helper()
	c, err := Dial(ctx(t), p.host, b.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// register registers p at b for a year from the box's now, and returns
// a capability for one contact.
func (p *person) register(t testing.TB, b *box) Capability {
	t.Helper()
	now := b.clock.Now()
	k := p.depositKey(t, b)
	if _, err := p.dial(t, b).Register(ctx(t), p.key, Registration{IssuedAt: now, ExpiresAt: now.Add(365 * 24 * time.Hour), DepositKey: k}); err != nil {
		t.Fatal(err)
	}
	return IssueCapability(k, p.owner(t))
}

// fetchAll authenticates as p and pages through all of p's mail.
func (p *person) fetchAll(t testing.TB, b *box) []Mail {
	t.Helper()
	c := p.dial(t, b)
	if err := c.Authenticate(ctx(t), p.key); err != nil {
		t.Fatal(err)
	}
	var all []Mail
	var cursor []byte
	for {
		page, err := c.Fetch(ctx(t), cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Mail...)
		cursor = page.Next
		if !page.More {
			return all
		}
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func envelope(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// wantRefused fails unless err is the mailbox's refusal with code.
func wantRefused(t testing.TB, err error, code pb.Code) {
	t.Helper()
	got, ok := RefusalCode(err)
	if !ok || got != code {
		t.Fatalf("err = %v, want a refusal %s", err, code)
	}
}
