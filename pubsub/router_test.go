package pubsub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/pubsub"
)

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// The router starts with our scoring parameters (NewGossipSub validates
// them), carries unsigned messages between two real hosts, and gives the
// same data the same ID.
func TestRouterCarriesUnsignedMessages(t *testing.T) {
	a, b := newHost(t), newHost(t)
	ra, err := pubsub.NewRouter(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	rb, err := pubsub.NewRouter(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	ta, _ := ra.PubSub().Join("t")
	tb, _ := rb.PubSub().Join("t")
	sub, err := tb.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Publish until b's mesh includes a (the mesh forms asynchronously).
	// Each try carries new data: the same data has the same ID, and the
	// router drops it as already seen.
	got := make(chan *gossipsub.Message, 1)
	go func() {
		if m, err := sub.Next(ctx); err == nil {
			got <- m
		}
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		if err := ta.Publish(ctx, fmt.Appendf(nil, "sealed bytes %d", i)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m.Signature != nil || m.From != nil || m.Seqno != nil {
				t.Fatalf("pubsub metadata leaked: from=%x seqno=%x sig=%x", m.From, m.Seqno, m.Signature)
			}
			if m.ID != pubsub.MessageID(&pb.Message{Data: m.Data}) || m.ID == pubsub.MessageID(&pb.Message{Data: []byte("other")}) {
				t.Fatal("message ID is not the hash of the data")
			}
			ta.Close()
			tb.Close()
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no message arrived")
		}
	}
}
