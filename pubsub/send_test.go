package pubsub

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

// A peer on the topic that is not a member relays ciphertext only: no text,
// no author, no pubsub signature or sender field.
func TestNonMemberSeesOnlyCiphertext(t *testing.T) {
	tn := newTestNet()
	alice, bob := tn.start(t, "alice"), tn.start(t, "bob")
	g, err := alice.groups.Create("secret club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)

	// The relay: a plain GossipSub router on the topic, linked to both.
	relay := newRawPeer(t, g.ID)
	relay.meshWith(t, alice, g.ID)
	connect(t, relay.host, bob.host)
	connect(t, alice.host, bob.host)
	meshed(t, g.ID, alice, bob)
	const secret = "the meeting is at noon"
	if _, err := alice.groups.Send(g.ID, secret, parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := relay.sub.Next(ctx)
	if err != nil {
		t.Fatalf("the relay got nothing: %v", err)
	}
	if msg.From != nil || msg.Signature != nil || msg.Seqno != nil || msg.Key != nil {
		t.Fatalf("pubsub metadata leaked: %+v", msg.Message)
	}
	for _, leak := range [][]byte{[]byte(secret), []byte("secret club"), []byte(alice.host.ID()), []byte(alice.host.ID().String())} {
		if bytes.Contains(msg.Data, leak) {
			t.Fatalf("the relay can read %q", leak)
		}
	}
	if name := TopicName(g.ID); bytes.Contains([]byte(name), []byte("secret")) || bytes.Contains([]byte(name), []byte(g.ID.String())) {
		t.Fatalf("topic name %q leaks the group", name)
	}
	eventually(t, "bob receiving it", func() bool { return len(texts(t, bob, g.ID)) == 1 })
}

// A member who has just accepted writes at once, while still catching up
// the ops: holding the group's CREATE but not yet the op that added us is
// not having been removed (it read as removed, and refused the send).
func TestNewMemberWritesWhileCatchingUp(t *testing.T) {
	tn := newTestNet()
	alice, bob := tn.start(t, "alice"), tn.start(t, "bob")
	g, err := alice.groups.Create("book club")
	if err != nil {
		t.Fatal(err)
	}
	bob.contact(alice)
	if _, err := alice.groups.Invite(g.ID, alice.contact(bob)); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.groups.Accept(g.ID); err != nil {
		t.Fatal(err)
	}
	ops, err := alice.store.GroupOps(g.ID)
	if err != nil || len(ops) != 2 {
		t.Fatalf("alice's ops: %d, %v; want the create and bob's add", len(ops), err)
	}
	if _, rejected, err := bob.groups.Ingest(g.ID, [][]byte{ops[0].Envelope}); err != nil || rejected != 0 {
		t.Fatalf("bob catching up the create: %d rejected, %v", rejected, err)
	}
	if _, err := bob.groups.Send(g.ID, "hello, I just joined", parley.ClientID{}); err != nil {
		t.Fatalf("bob writing before his add op arrived: %v", err)
	}

	// Once the ops say he was removed, he may not write.
	syncOps(t, alice, bob, g.ID)
	if err := alice.groups.Remove(g.ID, bob.host.ID()); err != nil {
		t.Fatal(err)
	}
	syncOps(t, alice, bob, g.ID)
	if _, err := bob.groups.Send(g.ID, "still here?", parley.ClientID{}); !errors.Is(err, parley.ErrNotMember) {
		t.Fatalf("bob writing after his removal: %v, want parley.ErrNotMember", err)
	}
}
