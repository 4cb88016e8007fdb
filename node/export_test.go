package node

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/files"
	"github.com/parley-im/parley/node/mailbox"
	"github.com/parley-im/parley/storage"
)

// SecurityOptions lets benchmarks build raw go-libp2p baselines on the
// same connection security as a node's.
var SecurityOptions = securityOptions

// OutboxLen is how many envelopes n holds for peer.
func (n *Node) OutboxLen(peer string) (int, error) { return n.store.OutboxLen(peer) }

// StrangerUsage is what one stranger's messages take in n's store, and
// what all strangers' take.
func (n *Node) StrangerUsage(peer string) (own, total storage.Usage, err error) {
	return n.store.StrangerUsage(peer)
}

// ReceiveDM stores an envelope as if a mailbox handed it over.
func (n *Node) ReceiveDM(raw []byte) error {
	_, err := n.dm.Receive(raw)
	return err
}

// SendCardUpdate sends the contact peer a CardUpdate carrying any card.
func (n *Node) SendCardUpdate(peer string, signedCard []byte) error {
	c, err := n.store.Contact(peer)
	if err != nil {
		return err
	}
	return n.dm.SendCardUpdate(c, signedCard)
}

// Outbox is what n waits to deliver to peer.
func (n *Node) Outbox(peer string) ([]storage.OutboxEntry, error) { return n.store.Outbox(peer, 0) }

// MailboxCapability is a capability to deposit n's mail at the mailbox mb,
// as n will hand its contacts one, and n's owner ID there.
func (n *Node) MailboxCapability(mb peer.ID) (mailbox.Capability, mailbox.OwnerID, error) {
	owner, err := mailbox.OwnerOf(n.id.Key.GetPublic())
	if err != nil {
		return mailbox.Capability{}, owner, err
	}
	e, _ := n.mailboxEntry(mb)
	key, err := mailbox.DeriveDepositKey(n.id.Key, mb, e.Generation)
	if err != nil {
		return mailbox.Capability{}, owner, err
	}
	return mailbox.IssueCapability(key, owner), owner, nil
}

// MailboxGrantOf is the latest grant n holds from its contact peer.
func (n *Node) MailboxGrantOf(peer string) (storage.MailboxGrant, error) {
	return n.store.MailboxGrantOf(peer)
}

// MessageKind is the kind of the message stored with envelope id ("" if none).
func (n *Node) MessageKind(id parley.EnvelopeID) parley.Kind {
	m, err := n.store.Message(id)
	if err != nil {
		return ""
	}
	return m.Kind
}

// SyncGroup runs one sync session for group g with remote, now.
func (n *Node) SyncGroup(ctx context.Context, remote peer.ID, g parley.ConversationID) error {
	_, err := n.sync.Sync(ctx, remote, g)
	return err
}

// PutPendingContact stores a pending contact as it is given (an expired
// one, say) and has the retry loop look at it.
func (n *Node) PutPendingContact(p parley.PendingContact) error {
	_, err := n.store.UpdatePendingContact(p.PeerID, parley.MaxPendingContacts, func(e *parley.PendingContact, _ bool) (bool, error) {
		*e = p
		return true, nil
	})
	n.pending.wake()
	return err
}

// DepositMailChunk deposits, at the first mailbox of the grant n holds
// from its contact to, the mailbox item of chunk i of n's offer fileID,
// after alter has its way with the item's sealed bytes: as a mailbox that
// tampers with what it holds would hand it over.
func (n *Node) DepositMailChunk(ctx context.Context, to peer.ID, fileID string, i int, alter func(sealed []byte)) error {
	grant, err := n.store.MailboxGrantOf(to.String())
	if err != nil {
		return err
	}
	mc, err := n.files.OpenMailChunks(fileID, files.MaxMailFile)
	if err != nil || mc == nil {
		return fmt.Errorf("no mailbox items for %s: %w", fileID, err)
	}
	defer mc.Close()
	item, err := mc.Item(i)
	if err != nil {
		return err
	}
	c, _ := files.ParseMailChunk(item)
	alter(c.Sealed)
	item, err = proto.Marshal(c)
	if err != nil {
		return err
	}
	info, owner, cp, err := n.grantedTarget(to, grant.Mailboxes[0])
	if err != nil {
		return err
	}
	return mailbox.DepositOnce(ctx, info, owner, cp, item)
}

// GroupGrantOf is member's newest grant to group g as n holds it.
func (n *Node) GroupGrantOf(g parley.ConversationID, member string) (storage.GroupGrant, error) {
	return n.store.GroupGrantOf(g, member)
}

// DepositFor leaves env for to at mb with the capability mb carries, as
// n's couriers do.
func (n *Node) DepositFor(ctx context.Context, to peer.ID, mb storage.GrantedMailbox, env []byte) error {
	return n.depositAt(ctx, to, mb, env)
}

// GroupDeposited says whether n deposited group envelope id for owner at
// mailbox mb.
func (n *Node) GroupDeposited(id parley.EnvelopeID, owner, mb string) bool {
	ok, err := n.store.GroupDeposited(id, owner, mb)
	return err == nil && ok
}

// StoreSnapshot is every key of n's store with its value.
func (n *Node) StoreSnapshot() (map[string]string, error) {
	out := make(map[string]string)
	err := n.store.Scan(func(k, v []byte) error {
		out[string(k)] = string(v)
		return nil
	})
	return out, err
}

// TypingPeers is how many peers n sees on group g's typing topic.
func (n *Node) TypingPeers(g parley.ConversationID) int { return n.groups.TypingPeers(g) }
