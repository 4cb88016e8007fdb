package pubsub

import (
	"bytes"
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// Each kind of bad envelope on the topic is dropped, stored nowhere, and
// lowers the score of the peer that sent it.
func TestValidatorRejectsAndScoresDown(t *testing.T) {
	tn := newTestNet()
	alice := tn.start(t, "alice")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	alice.groups.mu.Lock()
	gr := alice.groups.groups[g.ID]
	alice.groups.mu.Unlock()
	gr.mu.Lock()
	key := gr.current
	gr.mu.Unlock()
	outsider, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	text := func(s string) []byte {
		b, _ := proto.Marshal(&pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: s}}})
		return b
	}
	seal := func(id *identity.Identity, conv parley.ConversationID, k *identity.SendKey, hlc parley.HLC, body string) []byte {
		env, _, err := id.SealEnvelope(conv, k, false, hlc, text(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	now := parley.NewClock(nil).Now()
	old := parley.HLC(uint64(time.Now().Add(-time.Hour).UnixMilli()) << 16)
	forgedKey := identity.NewGroupKey(g.ID)
	otherConv := parley.ConversationID{1}
	cases := map[string][]byte{
		"garbage":        []byte("not an envelope at all"),
		"oversized":      bytes.Repeat([]byte{1}, identity.MaxEnvelopeSize+1),
		"unknown key":    seal(outsider, g.ID, forgedKey, now, "forged"),
		"another group":  seal(outsider, otherConv, key, now, "misrouted"),
		"replayed (old)": seal(outsider, g.ID, key, old, "from long ago"),
		"tampered":       tamper(seal(outsider, g.ID, key, now, "tampered")),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			attacker := newRawPeer(t, g.ID)
			attacker.meshWith(t, alice, g.ID)
			before := len(texts(t, alice, g.ID))
			// Several distinct messages: the router forgets nothing it saw,
			// so each must differ; and the score needs more than one.
			for i := range 3 {
				if err := attacker.topic.Publish(context.Background(), append(bytes.Clone(data), make([]byte, i)...)); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "the attacker's score falling", func() bool { return alice.router.Score(attacker.host.ID()) < 0 })
			if after := len(texts(t, alice, g.ID)); after != before {
				t.Fatalf("alice stored %d messages from the attacker", after-before)
			}
		})
	}
}
