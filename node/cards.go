package node

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Contact-card updates (PROTOCOL.md §4, CardUpdate): when what contacts see
// of our card changes (the display name, the mailboxes), every accepted
// contact is sent the new signed card through the outbox, so a contact who
// is offline gets it when they come back, and one restart or crash later
// nothing is lost. A contact's update is applied only if its envelope's HLC
// is newer than the last one applied, so updates that arrive out of order
// (outbox retries, a mailbox, a new session's first envelopes) never roll a
// name back.

// announceCard has the announcer check whether contacts have our card as it
// is now, and send it to them if not. It never blocks.
func (n *Node) announceCard() {
	select {
	case n.cardKick <- struct{}{}:
	default: // a check is due already
	}
}

// announceLoop checks whenever announceCard asks. New checks once before
// starting it (a name set by --name, or an update that a crash kept from
// being queued), so that what it queues is in the outbox before New returns.
func (n *Node) announceLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.cardKick:
		}
		n.checkCardAnnounced()
	}
}

// checkCardAnnounced sends contacts our card if they lack it as it is now,
// and logs what fails: the next change or start tries again.
func (n *Node) checkCardAnnounced() {
	if err := n.sendCardUpdates(); err != nil && n.ctx.Err() == nil {
		n.log.Warn("sending our new contact card to contacts (tried again on the next change or start)", "err", err)
	}
}

// sendCardUpdates queues our signed card to every accepted contact unless
// the card's content (name and mailboxes; addresses change too often to
// count) is what was sent last, as settings.json remembers. The mark is
// written only once every update is queued: a failure in between sends
// them all again, which costs a few small envelopes and changes nothing
// for the receiver.
func (n *Node) sendCardUpdates() error {
	card, signed := n.msgr.cardAndSigned()
	if signed == nil {
		return fmt.Errorf("our card could not be signed")
	}
	mark := cardContentMark(card)
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return err
	}
	if s.AnnouncedCard == mark {
		return nil
	}
	contacts, err := n.msgr.contacts(parley.ContactAccepted)
	if err != nil {
		return err
	}
	sent := 0
	for _, c := range contacts {
		if len(c.HPKEKey) == 0 || n.blockedID(c.PeerID) {
			continue
		}
		if err := n.dm.SendCardUpdate(c, signed); err != nil {
			return fmt.Errorf("card update to %s: %w", c.PeerID, err)
		}
		sent++
	}
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	if s, err = loadSettings(n.dataDir); err != nil {
		return err
	}
	s.AnnouncedCard = mark
	if err := saveSettings(n.dataDir, s); err != nil {
		return err
	}
	if sent > 0 {
		n.log.Info("sent our new contact card to contacts", "contacts", sent)
	}
	return nil
}

// cardContentMark is a digest of what a card update tells contacts.
func cardContentMark(c identity.Card) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q", c.Name)
	for _, mb := range c.Mailboxes {
		fmt.Fprintf(h, " %s", mb.PeerID)
		for _, a := range mb.Addrs {
			fmt.Fprintf(h, ",%s", a)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// cardMailboxes is our mailboxes as our card lists them: the first
// identity.MaxCardMailboxes, each with at most identity.MaxCardMailboxAddrs
// addresses.
func (n *Node) cardMailboxes() []identity.CardMailbox {
	var out []identity.CardMailbox
	for _, mb := range n.mailboxList() {
		if len(out) == identity.MaxCardMailboxes {
			break
		}
		id, err := peer.Decode(mb.PeerID)
		if err != nil || !ed25519Peer(id) {
			continue // a card lists Parley nodes only (PROTOCOL.md §3)
		}
		cm := identity.CardMailbox{PeerID: id}
		for _, s := range mb.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil && len(cm.Addrs) < identity.MaxCardMailboxAddrs {
				cm.Addrs = append(cm.Addrs, a)
			}
		}
		out = append(out, cm)
	}
	return out
}

func ed25519Peer(p peer.ID) bool {
	k, err := p.ExtractPublicKey()
	return err == nil && k.Type() == cryptopb.KeyType_Ed25519
}

// checkMailboxCount refuses a new mailbox past the number a card carries
// (adding one again only updates it).
func (n *Node) checkMailboxCount(p peer.ID) error {
	list := n.mailboxList()
	if len(list) < identity.MaxCardMailboxes || slices.ContainsFunc(list, func(m storedMailbox) bool { return m.PeerID == p.String() }) {
		return nil
	}
	return fmt.Errorf("%w: you have %d mailboxes, as many as your contact card carries; remove one first", parley.ErrMalformed, len(list))
}

// applyCard takes a contact's new card (dm.Config.OnCardUpdate): its
// signature and peer ID are checked. It changes the contact's name (unless
// the user named them, or the new name looks like another contact's or
// ours), addresses and mailboxes, if at is newer than the card applied
// last. A peer who is neither a contact nor a request changes nothing.
func (n *Node) applyCard(from peer.ID, at parley.HLC, card identity.Card) error {
	fromCard := card.Contact()
	// Outside the update: it reads every contact, and must not run twice.
	warning := n.msgr.lookAlikeWarning(parley.Contact{PeerID: from.String(), Name: fromCard.Name})
	var applied, nameRefused bool
	c, err := n.store.UpdateContact(from.String(), func(c *parley.Contact, found bool) (bool, error) {
		applied, nameRefused = false, false
		if !found || at <= c.CardHLC {
			return false, nil
		}
		c.CardHLC = at
		if len(fromCard.Addrs) > 0 {
			c.Addrs = fromCard.Addrs
		}
		c.Mailboxes = fromCard.Mailboxes
		switch {
		case c.LocalName || fromCard.Name == c.Name:
		case warning != "":
			nameRefused = true
		default:
			c.Name = fromCard.Name
		}
		applied = true
		return true, nil
	})
	if err != nil {
		return err
	}
	if !applied {
		return nil
	}
	if nameRefused {
		n.log.Warn("a contact's new name looks like another's: they keep the name they had", "peer", from, "shown_as", c.Name, "warning", warning)
	}
	n.learnAddrs(from, c.Addrs)
	n.hub.publish(parley.Event{Type: parley.EventContact, PeerID: from.String()})
	return nil
}
