package identity

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

func TestGroupReceiptLimits(t *testing.T) {
	id := parley.EnvelopeID{1}
	many := make([]parley.EnvelopeID, MaxReceiptIDs+1)
	for _, tc := range []struct {
		name            string
		delivered, read []parley.EnvelopeID
		ok              bool
	}{
		{"delivered", []parley.EnvelopeID{id}, nil, true},
		{"both", []parley.EnvelopeID{id}, []parley.EnvelopeID{id}, true},
		{"empty", nil, nil, false},
		{"too many", many[:MaxReceiptIDs], many[:1], false},
		{"the most", many[:MaxReceiptIDs-1], many[:1], true},
	} {
		_, err := GroupReceiptBody(tc.delivered, tc.read)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%s: %v is not ErrMalformed", tc.name, err)
		}
	}
	raw, _ := proto.Marshal(&pb.Body{Kind: &pb.Body_GroupReceipt{GroupReceipt: &pb.GroupReceipt{Read: [][]byte{make([]byte, 31)}}}})
	if _, err := decodeBody(raw); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a 31-byte ID: %v", err)
	}
}

// FuzzDecodeGroupReceipt feeds arbitrary bytes to the body decoder, seeded
// with group receipts: whatever it takes as one is within the limits and
// survives a round trip.
func FuzzDecodeGroupReceipt(f *testing.F) {
	id := make([]byte, 32)
	for _, b := range []*pb.Body{
		{Kind: &pb.Body_GroupReceipt{GroupReceipt: &pb.GroupReceipt{Delivered: [][]byte{id}}}},
		{Kind: &pb.Body_GroupReceipt{GroupReceipt: &pb.GroupReceipt{Delivered: [][]byte{id}, Read: [][]byte{id, id}}}},
		{Kind: &pb.Body_GroupReceipt{GroupReceipt: &pb.GroupReceipt{Read: [][]byte{id[:5]}}}},
		{Kind: &pb.Body_GroupReceipt{GroupReceipt: &pb.GroupReceipt{}}},
	} {
		raw, err := proto.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		body, err := decodeBody(raw)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		var msg parley.Message
		if !GroupReceipt(body, &msg) {
			return
		}
		n := len(msg.Receipted.Delivered) + len(msg.Receipted.Read)
		if n == 0 || n > MaxReceiptIDs {
			t.Fatalf("accepted a receipt of %d IDs", n)
		}
		if n != len(body.GetGroupReceipt().GetDelivered())+len(body.GetGroupReceipt().GetRead()) {
			t.Fatal("an ID was lost reading the receipt")
		}
		again, err := GroupReceiptBody(msg.Receipted.Delivered, msg.Receipted.Read)
		if err != nil {
			t.Fatal(err)
		}
		var back parley.Message
		if !GroupReceipt(again, &back) || !slices.Equal(back.Receipted.Delivered, msg.Receipted.Delivered) || !slices.Equal(back.Receipted.Read, msg.Receipted.Read) {
			t.Fatalf("round trip: %v, want %v", again, body)
		}
	})
}
