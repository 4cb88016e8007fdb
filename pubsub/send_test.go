package pubsub

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
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
	rh, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer rh.Close()
	relay, err := NewRouter(rh, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	topic, sub := joinRaw(t, relay, g.ID)
	defer topic.Close()
	defer sub.Cancel()
	connect(t, rh, alice.host)
	connect(t, rh, bob.host)
	connect(t, alice.host, bob.host)
	meshed(t, g.ID, alice, bob)
	// Both sides must know the other's subscription: a message sent
	// before that may be dropped, and only sync (not run here) recovers it.
	eventually(t, "the relay and alice on the topic", func() bool {
		return hasPeer(topic.ListPeers(), alice.host.ID()) && hasPeer(alice.topicPeers(g.ID), rh.ID()) &&
			pubsubStream(rh, alice.host.ID()) && pubsubStream(alice.host, rh.ID())
	})
	const secret = "the meeting is at noon"
	if _, err := alice.groups.Send(g.ID, secret); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := sub.Next(ctx)
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
