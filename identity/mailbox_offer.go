package identity

import (
	"fmt"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// MaxOfferAddrs bounds the addresses of a mailbox offer, as a card's.
const MaxOfferAddrs = MaxCardAddrs

// CheckMailboxOffer checks an offer's fields: a peer ID and 1 to
// MaxOfferAddrs multiaddrs, and returns the addresses. Whether the peer ID
// is the sender's is for the receiver to check (it knows the sender).
// Errors wrap parley.ErrMalformed.
func CheckMailboxOffer(o *pb.MailboxOffer) ([]ma.Multiaddr, error) {
	if o == nil {
		return nil, fmt.Errorf("%w: empty mailbox offer", parley.ErrMalformed)
	}
	if _, err := peerIDFromBytes(o.PeerId); err != nil {
		return nil, fmt.Errorf("mailbox offer: %w", err)
	}
	if n := len(o.Addrs); n == 0 || n > MaxOfferAddrs {
		return nil, fmt.Errorf("%w: a mailbox offer with %d addresses, want 1 to %d", parley.ErrMalformed, n, MaxOfferAddrs)
	}
	out := make([]ma.Multiaddr, 0, len(o.Addrs))
	for _, b := range o.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%w: a mailbox offer's address: %w", parley.ErrMalformed, err)
		}
		out = append(out, a)
	}
	return out, nil
}
