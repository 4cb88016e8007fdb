package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/files"
)

// mayFetch: the other side of a DM, or a current member of a group, may
// fetch the files offered there; a peer the user blocked, no longer those
// of the DM (a group's files are the group's).
func (n *Node) mayFetch(conv parley.ConversationID, p peer.ID) bool {
	return (!n.Blocked(p) && conv == parley.DMConversationID(n.host.ID().String(), p.String())) || n.groups.MaySync(conv, p)
}

// fileSources: for a DM the sender; for a group the connected members
// first, in random order, so that members serve each other and the
// sender's upload does not grow with the group, then the sender.
func (n *Node) fileSources(f parley.File) []peer.ID {
	from, err := peer.Decode(f.From)
	if err != nil {
		return nil
	}
	if f.Conversation == parley.DMConversationID(n.host.ID().String(), f.From) {
		return []peer.ID{from}
	}
	var out []peer.ID
	for _, p := range n.groups.MemberPeers(f.Conversation) {
		if p != from && n.host.Network().Connectedness(p) == network.Connected {
			out = append(out, p)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return append(out, from)
}

func (n *Node) isContact(p peer.ID) bool {
	c, err := n.store.Contact(p.String())
	return err == nil && c.State == parley.ContactAccepted
}

// SendFile offers the file at path to a contact or a group (to names
// either; a name that is both is ambiguous). It returns once the offer is
// stored and queued; the file is served from path until cancelled.
func (m *Messenger) SendFile(ctx context.Context, to, path string) (parley.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return parley.File{}, err
	}
	c, cerr := m.Resolve(ctx, to)
	g, gerr := m.resolveGroup(to)
	switch {
	case cerr == nil && gerr == nil:
		return parley.File{}, fmt.Errorf("%w: %q is both a contact and a group; use a peer ID or a group ID", parley.ErrAmbiguous, to)
	case cerr != nil && gerr != nil:
		if errors.Is(cerr, parley.ErrAmbiguous) {
			return parley.File{}, cerr
		}
		if errors.Is(gerr, parley.ErrAmbiguous) {
			return parley.File{}, gerr
		}
		return parley.File{}, fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, to)
	case cerr == nil && c.State != parley.ContactAccepted:
		return parley.File{}, fmt.Errorf("%w: %q is a request; accept it first (parley accept %s)", parley.ErrUnknownContact, to, c.PeerID)
	}
	// To a contact whose node takes streamed offers, the offer leaves
	// before the file is read: it is read once, as it is sent, and hashed
	// on the way (PROTOCOL.md §8). Groups, older nodes and files that go
	// through mailboxes get the hashes in the offer.
	prepare := files.Prepare
	if cerr == nil {
		if p, err := peer.Decode(c.PeerID); err == nil && m.node().files.TakesStreamed(p) {
			prepare = files.PrepareStreamed
		}
	}
	offer, err := prepare(abs, m.node().mailFileLimit)
	if err != nil {
		return parley.File{}, err
	}
	var msg parley.Message
	if cerr == nil {
		msg, err = m.node().dm.SendFileOffer(c, offer)
	} else {
		msg, err = m.node().groups.SendFile(g, offer)
	}
	if err != nil {
		return parley.File{}, err
	}
	return m.node().files.Offered(msg.Conversation, msg.ID, offer, abs)
}

// Files lists the files offered by us and to us.
func (m *Messenger) Files(ctx context.Context) ([]parley.File, error) { return m.node().files.Files() }

// File describes one file by ID.
func (m *Messenger) File(ctx context.Context, id string) (parley.File, error) {
	return m.node().files.File(id)
}

// AcceptFile fetches an offered file.
func (m *Messenger) AcceptFile(ctx context.Context, id string) (parley.File, error) {
	return m.node().files.Accept(id)
}

// CancelFile stops a transfer, ours or theirs.
func (m *Messenger) CancelFile(ctx context.Context, id string) (parley.File, error) {
	f, err := m.node().files.Cancel(id)
	if err != nil {
		return f, err
	}
	// The DM's other side stops too: the recipient's download, or the
	// sender's upload and its "transferring" state. (In a group the file
	// stays the sender's to withdraw, and members serve each other.)
	if c, ok := m.node().fileCounterpart(f); ok {
		if err := m.node().dm.SendFileCancel(c, f.ID); err != nil {
			return f, fmt.Errorf("cancelled here, but telling %s failed: %w", c.Name, err)
		}
	}
	return f, nil
}

// fileCounterpart is the contact on the other side of a DM file: its
// recipient for ours, its sender for theirs. A group's file, or one from
// a stranger, has none.
func (n *Node) fileCounterpart(f parley.File) (parley.Contact, bool) {
	other := f.From
	if f.Outgoing {
		c, err := n.store.Conversation(f.Conversation)
		if err != nil || c.Kind != parley.ConversationDM {
			return parley.Contact{}, false
		}
		other = c.Peer
	}
	if f.Conversation != parley.DMConversationID(n.host.ID().String(), other) {
		return parley.Contact{}, false
	}
	c, err := n.store.Contact(other)
	if err != nil || c.State != parley.ContactAccepted {
		return parley.Contact{}, false
	}
	return c, true
}

// Served is how many bytes of one of our offers this node has uploaded,
// for diagnostics.
func (n *Node) Served(fileID string) int64 { return n.files.Served(fileID) }

// isKnown: a contact, or a member of a group we are in. Their inbound
// streams are served apart from strangers' (internal/inbound).
func (n *Node) isKnown(p peer.ID) bool {
	if n.isContact(p) {
		return true
	}
	for _, g := range n.groups.Active() {
		if n.groups.MaySync(g, p) {
			return true
		}
	}
	return false
}
