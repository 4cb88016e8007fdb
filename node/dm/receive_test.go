package dm

import (
	"errors"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/dm/pb"
)

func sealText(t *testing.T, from *identity.Identity, to *Service, key *identity.SendKey, withEncap bool) []byte {
	t.Helper()
	conv := parley.DMConversationID(from.PeerID.String(), to.self.String())
	env, _, err := from.SealEnvelope(conv, key, withEncap, parley.NewHLC(fixedTime, 0), []byte{0x0a, 0x04, 0x0a, 0x02, 'h', 'i'}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// An envelope that fails its checks leaves nothing behind, not even the
// key its encapsulation carried.
func TestRefusedEnvelopeKeepsNoKey(t *testing.T) {
	svc, store := fuzzService(t)
	sender, _ := identity.Generate()
	key, err := identity.NewSendKey(svc.cfg.Identity.HPKEPublicKey(), sender.PeerID, svc.self)
	if err != nil {
		t.Fatal(err)
	}
	env := sealText(t, sender, svc, key, true)
	env[len(env)-1] ^= 1 // breaks the ciphertext, not the encapsulation
	ack, _, err := svc.receive(sender.PeerID, [][]byte{env})
	if err != nil || ack.Results[0].Code != pb.Result_CODE_REJECTED {
		t.Fatalf("tampered envelope: %v, %v", ack, err)
	}
	if _, err := store.PeerKey(sender.PeerID.String(), key.ID[:]); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("the key of a refused envelope was kept: %v", err)
	}
	// The same key in a good envelope is kept, so envelopes without the
	// encapsulation open afterwards.
	ack, _, err = svc.receive(sender.PeerID, [][]byte{sealText(t, sender, svc, key, true)})
	if err != nil || ack.Results[0].Code != pb.Result_CODE_STORED {
		t.Fatalf("good envelope: %v, %v", ack, err)
	}
	if _, err := store.PeerKey(sender.PeerID.String(), key.ID[:]); err != nil {
		t.Fatalf("the key of a stored envelope was not kept: %v", err)
	}
	ack, _, err = svc.receive(sender.PeerID, [][]byte{sealText(t, sender, svc, key, false)})
	if err != nil || ack.Results[0].Code != pb.Result_CODE_STORED {
		t.Fatalf("envelope under the kept key: %v, %v", ack, err)
	}
}

// When our own store fails, the envelope is not refused: receive returns
// an error, the stream is reset, and the sender keeps the message queued.
func TestStoreFailureIsNotARefusal(t *testing.T) {
	svc, store := fuzzService(t)
	sender, _ := identity.Generate()
	key, err := identity.NewSendKey(svc.cfg.Identity.HPKEPublicKey(), sender.PeerID, svc.self)
	if err != nil {
		t.Fatal(err)
	}
	env := sealText(t, sender, svc, key, true)
	store.Close()
	if ack, _, err := svc.receive(sender.PeerID, [][]byte{env}); err == nil {
		t.Fatalf("a closed store answered %v; want an error and no answer", ack.Results)
	}
}
