package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/dm"
	"github.com/parley-im/parley/node/mailbox"
	mailboxpb "github.com/parley-im/parley/node/mailbox/pb"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// Mailbox grants (PROTOCOL.md §9.9): the user hands each contact a deposit
// capability at each of the user's mailboxes, in a DM (a MailboxGrant
// body) through the outbox, so it survives restarts. A grant goes to
// every accepted contact when the user adds or removes a mailbox, and to a
// contact when the contact is established; the contacts' grants to us are
// kept by the DM service (dm.Service.applyGrant) and used by its couriers
// to deposit for contacts they cannot reach (depositAt).

// grantFor is our grant to one contact: each mailbox with the capability
// issued for that contact alone (mailbox.CapabilityFor, the same each
// time, so re-sending mints nothing new).
func (n *Node) grantFor(contact peer.ID, list []storedMailbox) (*ppb.MailboxGrant, error) {
	owner, err := mailbox.OwnerOf(n.id.Key.GetPublic())
	if err != nil {
		return nil, err
	}
	g := new(ppb.MailboxGrant)
	if n.isRevoked(contact.String()) {
		return g, nil // empty: the contact stops depositing (mailbox_revoke.go)
	}
	for _, mb := range list {
		if len(g.Mailboxes) == identity.MaxGrantMailboxes {
			n.log.Warn("more mailboxes than a grant holds; contacts are told of the first ones", "max", identity.MaxGrantMailboxes)
			break
		}
		id, err := peer.Decode(mb.PeerID)
		if err != nil {
			continue
		}
		key, err := mailbox.DeriveDepositKey(n.id.Key, id, mb.Generation)
		if err != nil {
			return nil, err
		}
		g.Mailboxes = append(g.Mailboxes, grantedMailbox(id, mb.Addrs, mailbox.CapabilityFor(key, owner, contact)))
	}
	return g, nil
}

// grantedMailbox is one mailbox of a grant (to a contact, or to a group):
// where it is, as many of its addresses as a grant carries, and the
// capability.
func grantedMailbox(id peer.ID, addrs []string, c mailbox.Capability) *ppb.GrantedMailbox {
	gm := &ppb.GrantedMailbox{PeerId: []byte(id), Nonce: c.Nonce[:], Token: c.Token[:]}
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil || len(a.Bytes()) > identity.MaxGrantAddrSize || len(gm.Addrs) == identity.MaxGrantAddrs {
			continue
		}
		gm.Addrs = append(gm.Addrs, a.Bytes())
	}
	return gm
}

// sendGrant queues our grant (of our current mailboxes) to one contact.
func (n *Node) sendGrant(c parley.Contact) error {
	if n.blockedID(c.PeerID) {
		return nil // blocked: they get our mailboxes when unblocked (block.go)
	}
	p, err := peer.Decode(c.PeerID)
	if err != nil {
		return fmt.Errorf("%w: peer ID %q: %v", parley.ErrMalformed, c.PeerID, err)
	}
	g, err := n.grantFor(p, n.mailboxList())
	if err != nil {
		return err
	}
	return n.dm.SendMailboxGrant(c, g)
}

// sendGrants queues our grant to every accepted contact: our mailboxes
// changed. A contact we cannot queue for (no key yet) is skipped: it gets
// our grant when it is established.
func (n *Node) sendGrants() {
	all, err := n.store.Contacts()
	if err != nil {
		n.log.Warn("telling contacts of our mailboxes", "err", err)
		return
	}
	self := n.host.ID().String()
	for _, c := range all {
		if c.State != parley.ContactAccepted || c.PeerID == self || len(c.HPKEKey) == 0 {
			continue
		}
		if err := n.sendGrant(c); err != nil {
			n.log.Warn("telling a contact of our mailboxes", "peer", c.PeerID, "err", err)
		}
	}
}

// contactEstablished sends a newly accepted contact our grant. With no
// mailboxes there is nothing to grant, except to someone who wrote to us
// first (wasRequest): their grant came while they were no contact of ours
// and was ignored, so an empty grant tells them to send theirs again
// (onGrant on their side).
func (n *Node) contactEstablished(c parley.Contact, wasRequest bool) {
	n.presenceEstablished(c)
	if len(c.HPKEKey) == 0 || len(n.mailboxList()) == 0 && !wasRequest {
		return
	}
	if err := n.sendGrant(c); err != nil {
		n.log.Warn("telling a new contact of our mailboxes", "peer", c.PeerID, "err", err)
	}
}

// onGrant answers a contact's first grant with ours: the contact may have
// sent it because it just accepted us, and ours, sent when we added them,
// reached them while we were a stranger to them and was ignored.
func (n *Node) onGrant(from peer.ID, first bool) {
	if !first || len(n.mailboxList()) == 0 {
		return
	}
	c, err := n.store.Contact(from.String())
	if err != nil || c.State != parley.ContactAccepted {
		return
	}
	if err := n.sendGrant(c); err != nil {
		n.log.Warn("answering a contact's grant with ours", "peer", from, "err", err)
	}
}

// depositAt leaves an envelope for a contact at one of the mailboxes the
// contact granted us (dm.Config.Deposit), from a one-time identity.
func (n *Node) depositAt(ctx context.Context, to peer.ID, mb storage.GrantedMailbox, envelope []byte) error {
	info, owner, c, err := n.grantedTarget(to, mb)
	if err != nil {
		return err
	}
	return depositErr(mailbox.DepositOnce(ctx, info, owner, c, envelope, n.depositOptions()...))
}

// depositOptions are the one-time hosts' options: our private network's
// key, if any.
func (n *Node) depositOptions() []libp2p.Option {
	if n.psk == nil {
		return nil
	}
	return []libp2p.Option{libp2p.PrivateNetwork(n.psk)}
}

// grantedTarget is where and how to deposit for a contact at one of the
// mailboxes it granted us: the mailbox's addresses, the owner's ID and
// the capability.
func (n *Node) grantedTarget(to peer.ID, mb storage.GrantedMailbox) (peer.AddrInfo, mailbox.OwnerID, *mailbox.Capability, error) {
	id, err := peer.Decode(mb.PeerID)
	if err != nil {
		return peer.AddrInfo{}, mailbox.OwnerID{}, nil, fmt.Errorf("%w: granted mailbox %q: %w", dm.ErrGrantRefused, mb.PeerID, err)
	}
	if len(mb.Nonce) != mailbox.NonceSize || len(mb.Token) != mailbox.TokenSize {
		return peer.AddrInfo{}, mailbox.OwnerID{}, nil, fmt.Errorf("%w: capability of %d+%d bytes", dm.ErrGrantRefused, len(mb.Nonce), len(mb.Token))
	}
	pub, err := to.ExtractPublicKey()
	if err != nil {
		return peer.AddrInfo{}, mailbox.OwnerID{}, nil, fmt.Errorf("contact's key: %w", err)
	}
	owner, err := mailbox.OwnerOf(pub)
	if err != nil {
		return peer.AddrInfo{}, mailbox.OwnerID{}, nil, err
	}
	c := new(mailbox.Capability)
	copy(c.Nonce[:], mb.Nonce)
	copy(c.Token[:], mb.Token)
	info := peer.AddrInfo{ID: id}
	for _, s := range mb.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			info.Addrs = append(info.Addrs, a)
		}
	}
	info.Addrs = append(info.Addrs, n.host.Peerstore().Addrs(id)...)
	return info, owner, c, nil
}

// depositErr sorts a mailbox's refusal as the courier wants it.
func depositErr(err error) error {
	var r *mailbox.RefusedError
	if errors.As(err, &r) {
		switch {
		case r.Code == mailboxpb.Code_CODE_BAD_CAPABILITY || r.Code == mailboxpb.Code_CODE_NOT_REGISTERED:
			return fmt.Errorf("%w: %w", dm.ErrGrantRefused, err)
		case r.Retry():
			return &dm.BusyError{Reason: r.Reason, Err: err}
		}
	}
	return err
}
