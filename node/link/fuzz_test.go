package link

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/link/pb"
)

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fuzzTransfer is a valid transfer from existing, a person of one device
// so far, to fresh, with what decodeTransfer needs to check it.
func fuzzTransfer(t testing.TB) (frame []byte, person, existing, fresh peer.ID) {
	e, n := mustGenerate(t), mustGenerate(t)
	keys, err := e.Person.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	list, err := identity.SignDeviceList(keys, e.Key, identity.DeviceList{Seq: 1, Devices: []identity.Device{
		{PeerID: e.PeerID, HPKEKey: e.HPKEPublicKey(), Name: "laptop"},
		{PeerID: n.PeerID, HPKEKey: n.HPKEPublicKey(), Name: "phone"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := encodeTransfer(Transfer{Keys: keys, DeviceList: list, SchemaVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, m), e.PeerID, e.PeerID, n.PeerID
}

// FuzzDecodeTransfer: whatever decodes is a chain from the person to a
// key past key 0 and a list by the existing device that lists the new one;
// anything else is an error wrapping ErrMalformed, never a panic.
func FuzzDecodeTransfer(f *testing.F) {
	valid, person, existing, fresh := fuzzTransfer(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := decodeTransfer(b, person, existing, fresh)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if tr.Keys.Person() != person || tr.Keys.Index() == 0 {
			t.Fatalf("accepted keys of %s at index %d", tr.Keys.Person(), tr.Keys.Index())
		}
		l, err := identity.ParseDeviceList(tr.DeviceList)
		if err != nil || l.Author != existing {
			t.Fatalf("accepted a list by %s (%v)", l.Author, err)
		}
	})
}

// FuzzDecodeFrames: the small frames (Hello, HelloReply, Chunk, Done)
// decode to something within their limits or to an error, never a panic.
func FuzzDecodeFrames(f *testing.F) {
	n := mustGenerate(f)
	f.Add(mustMarshal(f, &pb.Hello{PersonId: []byte(n.PeerID), Secret: bytes.Repeat([]byte{1}, identity.LinkSecretSize)}))
	f.Add(mustMarshal(f, &pb.HelloReply{Code: pb.HelloReply_CODE_OK, HpkeKey: n.HPKEPublicKey(), DeviceName: "phone"}))
	f.Add(mustMarshal(f, &pb.HelloReply{Code: pb.HelloReply_CODE_WRONG_SECRET}))
	f.Add(mustMarshal(f, &pb.Chunk{Data: []byte("snapshot"), Last: true}))
	f.Add(mustMarshal(f, &pb.Done{Code: pb.Done_CODE_REFUSED, Reason: "no\x00 room"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if person, secret, err := decodeHello(b); err == nil {
			if person.Validate() != nil || len(secret) != identity.LinkSecretSize {
				t.Fatalf("hello: person %q, secret of %d bytes", person, len(secret))
			}
		}
		if d, err := decodeHelloReply(b); err == nil {
			if identity.CheckHPKEPublicKey(d.HPKEKey) != nil || identity.CheckName(d.Name) != nil {
				t.Fatalf("hello reply: %+v", d)
			}
		}
		if data, _, err := decodeChunk(b); err == nil && len(data) > MaxChunkData {
			t.Fatalf("chunk of %d bytes", len(data))
		}
		var refused *RefusedError
		if err := decodeDone(b); errors.As(err, &refused) && (len(refused.Reason) > MaxReasonSize || !utf8.ValidString(refused.Reason) || strings.ContainsFunc(refused.Reason, unicode.IsControl)) {
			t.Fatalf("done: reason %q", refused.Reason)
		}
	})
}
