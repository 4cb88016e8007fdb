package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

func TestGroupTypingRoundTrip(t *testing.T) {
	id := fixedIdentity(t, 1)
	key := fixedSendKey()
	group := parley.ConversationID{1, 2, 3}
	now := time.UnixMilli(time.Now().UnixMilli())
	raw, err := id.SealGroupTyping(group, key, true, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > MaxGroupTypingSize {
		t.Fatalf("a group typing message takes %d bytes, over its own limit %d", len(raw), MaxGroupTypingSize)
	}
	if kid, err := GroupTypingKeyID(raw); err != nil || kid != key.ID {
		t.Fatalf("key ID %x, %v", kid, err)
	}
	got, err := OpenGroupTyping(raw, group, key)
	if err != nil || got.Sender != id.PeerID || !got.Active || !got.Sent.Equal(now) {
		t.Fatalf("opened %+v, %v", got, err)
	}
	// Another group's, tampered, or under another key: refused.
	if _, err := OpenGroupTyping(raw, parley.ConversationID{9}, key); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("opened for another group: %v", err)
	}
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 1
	if _, err := OpenGroupTyping(bad, group, key); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("tampered: %v", err)
	}
	other := fixedSendKey()
	other.Key[0] ^= 1
	if _, err := OpenGroupTyping(raw, group, other); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("another key of the same ID: %v", err)
	}
}

func FuzzOpenGroupTyping(f *testing.F) {
	id := fixedIdentity(f, 1)
	key := fixedSendKey()
	group := parley.ConversationID{1}
	raw, err := id.SealGroupTyping(group, key, true, time.Unix(1e9, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := OpenGroupTyping(b, group, key)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, parley.ErrBadSignature) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if got.Sender != id.PeerID {
			t.Fatalf("opened a message from %s, which only %s could sign", got.Sender, id.PeerID)
		}
	})
}
