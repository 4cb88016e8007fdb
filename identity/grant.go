package identity

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// Limits on a MailboxGrant (PROTOCOL.md §9.9): what a contact can make us
// keep and dial.
const (
	MaxGrantMailboxes = 8
	MaxGrantAddrs     = 8
	MaxGrantAddrSize  = 256
	GrantNonceSize    = 16
	GrantTokenSize    = 32
)

// CheckMailboxGrant checks a grant's shape: at most MaxGrantMailboxes
// mailboxes, each named once by a peer ID that embeds its public key, with a capability of
// GrantNonceSize + GrantTokenSize bytes and at most MaxGrantAddrs
// addresses of at most MaxGrantAddrSize bytes. (Addresses a node cannot
// parse are skipped where they are used, not refused: a newer transport
// must not void a grant.) Nil is the empty grant.
func CheckMailboxGrant(g *pb.MailboxGrant) error {
	if n := len(g.GetMailboxes()); n > MaxGrantMailboxes {
		return fmt.Errorf("%w: a grant of %d mailboxes, at most %d", parley.ErrMalformed, n, MaxGrantMailboxes)
	}
	seen := make(map[peer.ID]bool, len(g.GetMailboxes()))
	for i, m := range g.GetMailboxes() {
		id, err := peer.IDFromBytes(m.GetPeerId())
		if err != nil {
			return fmt.Errorf("%w: grant mailbox %d: peer ID: %v", parley.ErrMalformed, i, err)
		}
		// A Parley node's ID embeds its key; other multihashes (which
		// need not even print as an ID that parses back) name no mailbox.
		if _, err := id.ExtractPublicKey(); err != nil {
			return fmt.Errorf("%w: grant mailbox %d: peer ID %s embeds no public key: %v", parley.ErrMalformed, i, id, err)
		}
		if back, err := peer.Decode(id.String()); err != nil || back != id {
			return fmt.Errorf("%w: grant mailbox %d: peer ID does not print as itself", parley.ErrMalformed, i)
		}
		if seen[id] {
			return fmt.Errorf("%w: grant names mailbox %s twice", parley.ErrMalformed, id)
		}
		seen[id] = true
		if len(m.GetNonce()) != GrantNonceSize || len(m.GetToken()) != GrantTokenSize {
			return fmt.Errorf("%w: grant mailbox %d: capability of %d+%d bytes, want %d+%d",
				parley.ErrMalformed, i, len(m.GetNonce()), len(m.GetToken()), GrantNonceSize, GrantTokenSize)
		}
		if len(m.GetAddrs()) > MaxGrantAddrs {
			return fmt.Errorf("%w: grant mailbox %d: %d addresses, at most %d", parley.ErrMalformed, i, len(m.GetAddrs()), MaxGrantAddrs)
		}
		for j, a := range m.GetAddrs() {
			if len(a) > MaxGrantAddrSize {
				return fmt.Errorf("%w: grant mailbox %d: address %d of %d bytes, at most %d", parley.ErrMalformed, i, j, len(a), MaxGrantAddrSize)
			}
		}
	}
	return nil
}
