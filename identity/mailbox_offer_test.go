package identity

import (
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

func TestCheckMailboxOffer(t *testing.T) {
	id, err := peer.Decode("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	if err != nil {
		t.Fatal(err)
	}
	addr := ma.StringCast("/ip4/127.0.0.1/tcp/4001").Bytes()
	tooMany := make([][]byte, MaxOfferAddrs+1)
	for i := range tooMany {
		tooMany[i] = addr
	}
	tests := []struct {
		name  string
		offer *pb.MailboxOffer
		ok    bool
	}{
		{"one address", &pb.MailboxOffer{PeerId: []byte(id), Addrs: [][]byte{addr}}, true},
		{"as many as a card", &pb.MailboxOffer{PeerId: []byte(id), Addrs: tooMany[1:]}, true},
		{"nil", nil, false},
		{"no peer ID", &pb.MailboxOffer{Addrs: [][]byte{addr}}, false},
		{"no address", &pb.MailboxOffer{PeerId: []byte(id)}, false},
		{"too many addresses", &pb.MailboxOffer{PeerId: []byte(id), Addrs: tooMany}, false},
		{"an address that does not parse", &pb.MailboxOffer{PeerId: []byte(id), Addrs: [][]byte{{0xff, 0xff}}}, false},
	}
	for _, tt := range tests {
		addrs, err := CheckMailboxOffer(tt.offer)
		if tt.ok != (err == nil) || err != nil && !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.ok && len(addrs) != len(tt.offer.Addrs) {
			t.Errorf("%s: %d addresses back, want %d", tt.name, len(addrs), len(tt.offer.Addrs))
		}
	}
}

// FuzzCheckMailboxOffer: a peer's offer, whatever its bytes, is refused
// with ErrMalformed or yields addresses within the limit.
func FuzzCheckMailboxOffer(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o pb.MailboxOffer
		if proto.Unmarshal(b, &o) != nil {
			return
		}
		addrs, err := CheckMailboxOffer(&o)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(addrs) == 0 || len(addrs) > MaxOfferAddrs {
			t.Fatalf("accepted %d addresses", len(addrs))
		}
		if _, err := peer.IDFromBytes(o.PeerId); err != nil {
			t.Fatalf("accepted peer ID %x: %v", o.PeerId, err)
		}
	})
}
