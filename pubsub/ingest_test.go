package pubsub

import (
	"bytes"
	"context"
	"testing"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	gossipsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// clubWithOutsider starts alice with a group of her own, and returns its
// current key and an identity that is no member.
func clubWithOutsider(t *testing.T) (*member, parley.Group, *group, *identity.SendKey, *identity.Identity) {
	t.Helper()
	alice := newTestNet().start(t, "alice")
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
	return alice, g, gr, key, outsider
}

// Each kind of bad envelope on the topic is dropped, stored nowhere, and
// lowers the score of the peer that sent it.
func TestValidatorRejectsAndScoresDown(t *testing.T) {
	alice, g, _, key, outsider := clubWithOutsider(t)
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

// A peer who is not a member stores nothing here, even holding the group's
// key (a leaked key, say): its text and its ops are neither kept from the
// topic nor from sync. The validator ignores them rather than rejecting,
// since a new member's ADD may still be on its way.
func TestNonMemberWithTheKeyStoresNothing(t *testing.T) {
	alice, g, gr, key, outsider := clubWithOutsider(t)
	seal := func(body *pb.Body) []byte {
		b, err := proto.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		env, _, err := outsider.SealEnvelope(g.ID, key, false, parley.NewClock(nil).Now(), b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	envs := map[string][]byte{
		"text":   seal(&pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "let me in"}}}),
		"rename": seal(&pb.Body{Kind: &pb.Body_GroupOp{GroupOp: &pb.GroupOp{Type: pb.GroupOp_TYPE_RENAME, Name: "mine now"}}}),
		"add": seal(&pb.Body{Kind: &pb.Body_GroupOp{GroupOp: &pb.GroupOp{Type: pb.GroupOp_TYPE_ADD, Member: []byte(outsider.PeerID), Role: pb.GroupOp_ROLE_ADMIN,
			MemberHpkeKey: outsider.HPKEPublicKey(), MemberName: "outsider"}}}),
	}
	validate := alice.groups.validator(gr)
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			msg := &gossipsub.Message{Message: &gossipsubpb.Message{Data: env}}
			if got := validate(context.Background(), outsider.PeerID, msg); got != gossipsub.ValidationIgnore {
				t.Fatalf("validator: %v, want ignore", got)
			}
			if added, _, err := alice.groups.Ingest(g.ID, [][]byte{env}); err != nil || added != 0 {
				t.Fatalf("sync: added %d, err %v", added, err)
			}
			if held, err := alice.groups.cfg.Store.HasEnvelope(parley.NewEnvelopeID(env)); err != nil || held {
				t.Fatalf("stored: %v, err %v", held, err)
			}
		})
	}
	if got, err := alice.groups.cfg.Store.Conversation(g.ID); err != nil || got.Name == "mine now" {
		t.Fatalf("group after the outsider's ops: %+v, err %v", got, err)
	}
}
