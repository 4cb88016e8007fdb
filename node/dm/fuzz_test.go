package dm

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/node/dm/pb"
	"github.com/parley-im/parley/storage"
)

// FuzzReceive feeds arbitrary bytes to the inbound side exactly as a stream
// would: frames, then every envelope in them through the checks and the
// store. Nothing may panic, and since no input can carry a valid signature
// from the fuzzed sender, nothing may be stored.
func FuzzReceive(f *testing.F) {
	svc, store := fuzzService(f)
	sender, _ := identity.Generate()

	push := func(envs ...[]byte) []byte {
		b, _ := proto.Marshal(&pb.Push{Envelopes: envs})
		return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
	}
	f.Add([]byte{})
	f.Add(push())
	f.Add(push([]byte("not an envelope")))
	key, _ := identity.NewSendKey(svc.cfg.Identity.HPKEPublicKey(), sender.PeerID, svc.self)
	conv := parley.DMConversationID(sender.PeerID.String(), svc.self.String())
	env, _, _ := sender.SealEnvelope(conv, key, true, parley.NewHLC(fixedTime, 0), []byte{0x0a, 0x04, 0x0a, 0x02, 'h', 'i'}, nil)
	env[len(env)-1] ^= 1 // tampered: must stay unstorable
	f.Add(push(env))
	f.Add(binary.AppendUvarint(nil, MaxFrameSize+1))

	f.Fuzz(func(t *testing.T, data []byte) {
		r := frame.NewReader(bytes.NewReader(data), MaxFrameSize)
		for {
			p, err := readPush(r)
			if err != nil {
				break // EOF, or a protocol error: the stream would be reset
			}
			ack, _, err := svc.receive(sender.PeerID, p.Envelopes)
			if err != nil {
				t.Fatalf("receive failed on input from a peer (store error?): %v", err)
			}
			if len(ack.Results) != len(p.Envelopes) {
				t.Fatalf("%d results for %d envelopes", len(ack.Results), len(p.Envelopes))
			}
			for _, res := range ack.Results {
				if res.Code == pb.Result_CODE_STORED {
					t.Fatalf("an unsigned envelope was stored: %v", res)
				}
			}
		}
		if convs, _ := store.Conversations(); len(convs) != 0 {
			t.Fatalf("fuzz input created conversations: %v", convs)
		}
	})
}

// fuzzService is a Service with a real store and host, not serving.
func fuzzService(f testing.TB) (*Service, *storage.DB) {
	f.Helper()
	p := newTestPeer(f, false, 0)
	return p.svc, p.store
}

var fixedTime = time.Unix(1_800_000_000, 0)
