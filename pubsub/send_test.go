package pubsub

import (
	"bytes"
	"context"
	"testing"
	"time"
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
	if _, err := alice.groups.Send(g.ID, secret); err != nil {
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
