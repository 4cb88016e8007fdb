package dm

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/storage"
)

// testPeer is a Service on its own host and store, all closed with the
// test. Its host listens on loopback if listen is set, and nowhere
// otherwise; only a listening peer is started.
type testPeer struct {
	id    *identity.Identity
	store *storage.DB
	svc   *Service
}

func newTestPeer(tb testing.TB, listen bool, courierIdle time.Duration) *testPeer {
	tb.Helper()
	id, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	addrs := libp2p.NoListenAddrs
	if listen {
		addrs = libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")
	}
	h, err := libp2p.New(libp2p.Identity(id.Key), addrs, libp2p.DisableMetrics())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	store, err := storage.Open(storage.Options{Dir: filepath.Join(tb.TempDir(), "db"), EncryptionKey: id.StoreKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	svc, err := New(Config{
		Host: h, Identity: id, Store: store, Clock: parley.NewClock(nil),
		Card:        func() []byte { return nil },
		Connect:     func(ctx context.Context, p peer.ID) error { return h.Connect(ctx, peer.AddrInfo{ID: p}) },
		Notify:      func(parley.Event) {},
		Logger:      slog.New(slog.DiscardHandler),
		RetryMin:    10 * time.Millisecond,
		RetryMax:    100 * time.Millisecond,
		CourierIdle: courierIdle,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	if listen {
		if err := svc.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	return &testPeer{id: id, store: store, svc: svc}
}

// contact is p as a sender knows it: reachable at p's addresses.
func (p *testPeer) contact(from *testPeer) parley.Contact {
	h := p.svc.cfg.Host
	from.svc.cfg.Host.Peerstore().AddAddrs(h.ID(), h.Addrs(), peerstore.PermanentAddrTTL)
	return parley.Contact{PeerID: h.ID().String(), HPKEKey: p.id.HPKEPublicKey()}
}

func (p *testPeer) couriers() int {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	return len(p.svc.couriers)
}

func (p *testPeer) awaitDelivered(t *testing.T, msgs ...parley.Message) {
	t.Helper()
	for _, m := range msgs {
		waitFor(t, fmt.Sprintf("message %q delivered", m.Text), func() bool {
			got, err := p.store.Message(m.ID)
			return err == nil && got.Status == parley.StatusDelivered
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A courier exits once its peer's outbox is empty and it has been idle
// for CourierIdle, instead of living as long as the service.
func TestIdleCouriersRetire(t *testing.T) {
	a := newTestPeer(t, true, 50*time.Millisecond)
	var sent []parley.Message
	for i := range 3 {
		b := newTestPeer(t, true, time.Minute)
		m, err := a.svc.SendText(b.contact(a), fmt.Sprint("hello ", i), parley.ClientID{})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	a.awaitDelivered(t, sent...)
	waitFor(t, "the idle couriers to retire", func() bool { return a.couriers() == 0 })
}

// A message sent after its peer's courier retired starts a new courier
// and is delivered.
func TestSendAfterCourierRetired(t *testing.T) {
	a, b := newTestPeer(t, true, 50*time.Millisecond), newTestPeer(t, true, time.Minute)
	first, err := a.svc.SendText(b.contact(a), "first", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	a.awaitDelivered(t, first)
	waitFor(t, "the idle courier to retire", func() bool { return a.couriers() == 0 })
	second, err := a.svc.SendText(b.contact(a), "second", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	a.awaitDelivered(t, second)
}

// A message sent just as its peer's courier is about to retire is
// delivered: the courier sees the kick and stays. (Were it to leave
// anyway, the kick would be lost and the message would wait in the outbox
// for the next one.)
func TestSendAsCourierRetires(t *testing.T) {
	a, b := newTestPeer(t, true, 50*time.Millisecond), newTestPeer(t, true, time.Minute)
	to := b.contact(a)
	late := make(chan parley.Message, 1)
	var once sync.Once
	a.svc.retiring = func() {
		once.Do(func() {
			m, err := a.svc.SendText(to, "late", parley.ClientID{})
			if err != nil {
				t.Error(err)
			}
			late <- m
		})
	}
	first, err := a.svc.SendText(to, "first", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	a.awaitDelivered(t, first)
	select {
	case m := <-late:
		a.awaitDelivered(t, m)
	case <-time.After(10 * time.Second):
		t.Fatal("the courier never tried to retire")
	}
}
