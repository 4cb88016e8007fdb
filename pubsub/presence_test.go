package pubsub

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	gossipsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// The typing topic's validator accepts a member's signed typing under the
// group's key and nothing else: a stranger holding the key, a forgery, an
// unknown epoch, a stale date, garbage. None of it touches the store.
func TestTypingValidator(t *testing.T) {
	tn := newTestNet()
	alice, bob := tn.start(t, "alice"), tn.start(t, "bob")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)
	var shown atomic.Int32
	alice.groups.cfg.OnTyping = func(group parley.ConversationID, from peer.ID, active bool) {
		if group == g.ID && from == bob.host.ID() && active {
			shown.Add(1)
		}
	}
	ag, err := alice.groups.get(g.ID)
	if err != nil {
		t.Fatal(err)
	}
	ag.mu.Lock()
	key := ag.current
	ag.mu.Unlock()
	validate := alice.groups.typingValidator(ag)
	check := func(what string, raw []byte, want gossipsub.ValidationResult) {
		t.Helper()
		got := validate(context.Background(), bob.host.ID(), &gossipsub.Message{Message: &gossipsubpb.Message{Data: raw}})
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	now := time.Now()
	good, err := bob.id.SealGroupTyping(g.ID, key, true, now)
	if err != nil {
		t.Fatal(err)
	}
	check("a member's typing", good, gossipsub.ValidationAccept)
	if shown.Load() != 1 {
		t.Fatalf("a member's typing was shown %d times", shown.Load())
	}

	stranger, _ := identity.Generate()
	fromStranger, _ := stranger.SealGroupTyping(g.ID, key, true, now)
	check("a stranger's, under the group's key", fromStranger, gossipsub.ValidationReject)

	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-3] ^= 0x40
	check("tampered", tampered, gossipsub.ValidationReject)

	otherKey := *key
	otherKey.ID[0] ^= 1
	unknown, _ := bob.id.SealGroupTyping(g.ID, &otherKey, true, now)
	check("under an epoch alice does not hold", unknown, gossipsub.ValidationIgnore)

	stale, _ := bob.id.SealGroupTyping(g.ID, key, true, now.Add(-time.Minute))
	check("a minute old", stale, gossipsub.ValidationIgnore)

	check("garbage", []byte("not a typing message at all"), gossipsub.ValidationReject)
	check("oversized", make([]byte, identity.MaxGroupTypingSize+1), gossipsub.ValidationReject)

	if shown.Load() != 1 {
		t.Fatalf("refused messages were shown: %d", shown.Load())
	}
	msgs, err := alice.store.MessagesIn(g.ID, parley.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind != parley.KindGroupOp {
			t.Fatalf("typing left a message in the store: %+v", m)
		}
	}
}
