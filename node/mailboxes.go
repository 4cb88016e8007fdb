package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	msmux "github.com/multiformats/go-multistream"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/dm"
	"github.com/parley-im/parley/node/files"
	"github.com/parley-im/parley/node/mailbox"
	mailboxpb "github.com/parley-im/parley/node/mailbox/pb"
)

// The owner's side of mailboxes (node/mailbox, PROTOCOL.md §9): the user
// chooses nodes that hold their mail while they are offline. The node keeps
// the list in settings.json, registers with each mailbox when it is added,
// and fetches from each on start, on connecting to it and every
// Config.MailboxFetchInterval. Every envelope fetched goes through the DM
// receive path (dm.Service.Receive), the same idempotent one a push takes,
// and is acknowledged only once stored (or refused for good), so a crash
// loses nothing and a message that also came directly is stored once.

// DefaultMailboxFetchInterval is how often the node fetches its mail from
// each of its mailboxes, beyond fetching on start and on connecting.
const DefaultMailboxFetchInterval = time.Minute

const (
	// mailboxValidity is how long a registration runs; each fetch round
	// that finds it gone registers again.
	mailboxValidity = 365 * 24 * time.Hour
	// mailboxRoundTimeout bounds one fetch round at one mailbox.
	mailboxRoundTimeout = 2 * time.Minute
)

// storedMailbox is one of the user's mailboxes in settings.json.
type storedMailbox struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs,omitempty"`
	// Generation is the deposit key's (ResetMailbox moves it on);
	// Granted the generation whose capabilities contacts were last sent,
	// once the mailbox took it (mailbox_revoke.go).
	Generation uint32 `json:"generation,omitempty"`
	Granted    uint32 `json:"granted,omitempty"`
}

func (m storedMailbox) view() parley.Mailbox {
	return parley.Mailbox{PeerID: m.PeerID, Addrs: slices.Clone(m.Addrs), Generation: m.Generation}
}

func (m storedMailbox) addrInfo() (peer.AddrInfo, error) {
	id, err := peer.Decode(m.PeerID)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: mailbox peer ID %q: %w", parley.ErrMalformed, m.PeerID, err)
	}
	info := peer.AddrInfo{ID: id}
	for _, s := range m.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			info.Addrs = append(info.Addrs, a)
		}
	}
	return info, nil
}

// parseMailbox reads what the user gives for a mailbox: a multiaddr ending
// in /p2p/ID, or the mailbox node's invite code, long or short.
func parseMailbox(s string) (peer.AddrInfo, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%w: mailbox address %q: %w", parley.ErrMalformed, s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%w: mailbox address %q: want a multiaddr ending in /p2p/ID: %w", parley.ErrMalformed, s, err)
		}
		return *info, nil
	}
	inv, err := identity.ParseInvite(s)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("mailbox: want a multiaddr ending in /p2p/ID or an invite code: %w", err)
	}
	// A short code has no card: its address hint, else the DHT, finds the node.
	info := peer.AddrInfo{ID: inv.PeerID, Addrs: inv.Card.Addrs}
	if inv.Short() && inv.Hint != nil {
		info.Addrs = []ma.Multiaddr{inv.Hint}
	}
	return info, nil
}

// Mailboxes lists the user's mailboxes, in the order they were added.
func (m *Messenger) Mailboxes(ctx context.Context) ([]parley.Mailbox, error) {
	s, err := loadSettings(m.node().dataDir)
	if err != nil {
		return nil, err
	}
	out := make([]parley.Mailbox, 0, len(s.Mailboxes))
	for _, mb := range s.Mailboxes {
		v := mb.view()
		v.Revoked = slices.Clone(s.MailboxRevoked) // revoked at every mailbox
		out = append(out, v)
	}
	return out, nil
}

// AddMailbox registers with the mailbox at addr (a multiaddr ending in
// /p2p/ID, or its node's invite) and adds it to the user's mailboxes; the
// node fetches from it from then on. Adding one again registers again and
// updates its addresses. An error says whether the mailbox was unreachable
// or refused, and why; nothing is stored then.
func (m *Messenger) AddMailbox(ctx context.Context, addr string) (parley.Mailbox, error) {
	n := m.node()
	info, err := parseMailbox(addr)
	if err != nil {
		return parley.Mailbox{}, err
	}
	return n.addMailbox(ctx, info, nil)
}

// addMailbox registers with the mailbox info and adds it; also, when set,
// changes the settings in the same write.
func (n *Node) addMailbox(ctx context.Context, info peer.AddrInfo, also func(*storedSettings)) (parley.Mailbox, error) {
	if info.ID == n.host.ID() {
		return parley.Mailbox{}, fmt.Errorf("%w: a node cannot be its own mailbox: it is offline whenever you are", parley.ErrMalformed)
	}
	if err := n.checkMailboxCount(info.ID); err != nil {
		return parley.Mailbox{}, err
	}
	if err := n.registerMailbox(ctx, info); err != nil {
		return parley.Mailbox{}, err
	}
	mb := storedMailbox{PeerID: info.ID.String()}
	for _, a := range info.Addrs {
		mb.Addrs = append(mb.Addrs, a.String())
	}
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return parley.Mailbox{}, err
	}
	if also != nil {
		also(&s)
	}
	if i := slices.IndexFunc(s.Mailboxes, func(x storedMailbox) bool { return x.PeerID == mb.PeerID }); i >= 0 {
		// Added again: the key stays the one it holds.
		mb.Generation, mb.Granted = s.Mailboxes[i].Generation, s.Mailboxes[i].Granted
		s.Mailboxes[i] = mb
	} else {
		// Removed before: the key registerMailbox used above, past
		// every capability issued there before (and sent below).
		mb.Generation = s.RetiredMailboxes[mb.PeerID]
		mb.Granted = mb.Generation
		delete(s.RetiredMailboxes, mb.PeerID)
		s.Mailboxes = append(s.Mailboxes, mb)
	}
	if err := saveSettings(n.dataDir, s); err != nil {
		return parley.Mailbox{}, err
	}
	n.setRetired(s.RetiredMailboxes)
	n.setMailboxes(s.Mailboxes)
	n.announceCard() // contacts learn the mailbox from our card
	n.log.Info("added a mailbox", "mailbox", mb.PeerID)
	n.sendGrants()
	return mb.view(), nil
}

// RemoveMailbox takes a mailbox off the user's list (parley.ErrNotFound if
// it is not on it): the node fetches from it no more. Mail it still holds
// stays there until it expires.
func (m *Messenger) RemoveMailbox(ctx context.Context, peerID string) error {
	n := m.node()
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(s.Mailboxes, func(x storedMailbox) bool { return x.PeerID == peerID })
	if i < 0 {
		return fmt.Errorf("mailbox %s: %w", peerID, parley.ErrNotFound)
	}
	if s.RetiredMailboxes == nil {
		s.RetiredMailboxes = make(map[string]uint32)
	}
	s.RetiredMailboxes[peerID] = s.Mailboxes[i].Generation + 1
	s.Mailboxes = slices.Delete(s.Mailboxes, i, i+1)
	if err := saveSettings(n.dataDir, s); err != nil {
		return err
	}
	n.setRetired(s.RetiredMailboxes)
	n.setMailboxes(s.Mailboxes)
	n.sendGrants()
	n.announceCard() // contacts learn it is gone from our card
	return nil
}

// setMailboxes keeps the list the fetcher and watchNetwork read, and has
// the fetcher go over it now.
func (n *Node) setMailboxes(list []storedMailbox) {
	n.mbMu.Lock()
	n.mbList = slices.Clone(list)
	n.mbMu.Unlock()
	n.kickMailboxes()
	n.kickGroupGrants()
}

func (n *Node) setRetired(m map[string]uint32) {
	n.mbMu.Lock()
	n.mbRetired = maps.Clone(m)
	n.mbMu.Unlock()
}

func (n *Node) mailboxList() []storedMailbox {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	return slices.Clone(n.mbList)
}

func (n *Node) isMailbox(p peer.ID) bool {
	s := p.String()
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	return slices.ContainsFunc(n.mbList, func(m storedMailbox) bool { return m.PeerID == s })
}

func (n *Node) kickMailboxes() {
	select {
	case n.mbKick <- struct{}{}:
	default: // a round is due already
	}
}

// registerMailbox registers with the mailbox over a stream of its own.
func (n *Node) registerMailbox(ctx context.Context, info peer.AddrInfo) error {
	c, err := mailbox.Dial(ctx, n.host, info)
	if errors.As(err, new(msmux.ErrNotSupported[protocol.ID])) {
		// Reached, but it does not speak the protocol: not "unreachable".
		return fmt.Errorf("%w: %s does not hold mail for others (its mailbox service is off)", parley.ErrMailboxUnavailable, info.ID)
	}
	if err != nil {
		return fmt.Errorf("%w: %s is unreachable: %w", parley.ErrMailboxUnavailable, info.ID, err)
	}
	defer c.Close()
	return n.register(ctx, c, info.ID)
}

// fetchMailLoop fetches from every mailbox on start, when kicked (a
// mailbox added, or connected) and every interval.
func (n *Node) fetchMailLoop(interval time.Duration) {
	defer n.mbWG.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, mb := range n.mailboxList() {
			if n.ctx.Err() != nil {
				return
			}
			if err := n.fetchMail(n.ctx, mb); err != nil {
				n.log.Info("fetching mail from a mailbox", "mailbox", mb.PeerID, "err", err)
			}
		}
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		case <-n.mbKick:
		}
	}
}

// fetchMail takes the user's mail from one mailbox: it authenticates
// (registering again if the mailbox forgot us), fetches page by page,
// stores each envelope as a push would, and acknowledges each page's
// envelopes that are stored or refused for good. One that our store could
// not take stays at the mailbox for the next round.
func (n *Node) fetchMail(ctx context.Context, mb storedMailbox) error {
	info, err := mb.addrInfo()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, mailboxRoundTimeout)
	defer cancel()
	c, err := mailbox.Dial(ctx, n.host, info)
	if err != nil {
		return err
	}
	defer c.Close()
	if !n.registrationHeld(info.ID) {
		// Started, or the revocations or the key changed since the
		// mailbox last took our registration: it takes the one due now.
		if err := n.register(ctx, c, info.ID); err != nil {
			n.log.Info("registering with a mailbox again", "mailbox", mb.PeerID, "err", err)
		}
	}
	if err := c.Authenticate(ctx, n.id.Key); err != nil {
		if code, ok := mailbox.RefusalCode(err); !ok || code != mailboxpb.Code_CODE_NOT_REGISTERED {
			return err
		}
		// Expired, or swept: register again, on the same stream.
		if err := n.register(ctx, c, info.ID); err != nil {
			return err
		}
		if err := c.Authenticate(ctx, n.id.Key); err != nil {
			return err
		}
	}
	var (
		cursor []byte
		failed error
		got    int
		chunks mailChunks
	)
	for {
		page, err := c.Fetch(ctx, cursor, 0)
		if err != nil {
			return err
		}
		var done []parley.EnvelopeID
		receipts := make(map[peer.ID][]parley.EnvelopeID)
		var items []files.MailItem
		for _, mail := range page.Mail {
			if c, ok := files.ParseMailChunk(mail.Envelope); ok {
				items = append(items, files.MailItem{ID: mail.ID, Chunk: c})
				continue
			}
			if isGroup, ok, err := n.receiveGroupMail(mail.Envelope); isGroup {
				switch {
				case err != nil:
					failed = err
				case ok:
					done = append(done, mail.ID)
					got++
					chunks.groupStored()
				}
				continue
			}
			switch r, err := n.dm.Receive(mail.Envelope); {
			case err == nil:
				done = append(done, mail.ID)
				got++
				if dm.Receipted(r.Kind) {
					receipts[r.From] = append(receipts[r.From], r.ID)
				}
				chunks.offered(r.Kind)
			case errors.Is(err, dm.ErrRefused):
				n.log.Info("dropping mail that will never open", "mailbox", mb.PeerID, "err", err)
				done = append(done, mail.ID)
			default:
				failed = err
			}
		}
		// After the page's envelopes: its offers are stored.
		take, err := chunks.take(n, items)
		if err != nil {
			failed = err
		}
		done = append(done, take...)
		// Receipts before the ack: once they are queued, a crash cannot
		// leave a sender waiting for one; mail fetched again after a
		// crash is receipted again, which changes nothing.
		if err := n.sendMailReceipts(receipts); err != nil {
			return err
		}
		if len(done) > 0 {
			if _, err := c.Ack(ctx, done); err != nil {
				return err
			}
		}
		if !page.More {
			if !chunks.again() {
				break
			}
			page.Next = nil
		}
		cursor = page.Next
	}
	if got > 0 {
		n.log.Debug("fetched mail", "mailbox", mb.PeerID, "envelopes", got)
	}
	return failed
}

// sendMailReceipts tells each sender which of its envelopes came to us
// through a mailbox (one receipt per sender per page fetched), since no
// ack told it. Only accepted contacts are told: only they hold our
// capabilities, so only their mail should come this way.
func (n *Node) sendMailReceipts(receipts map[peer.ID][]parley.EnvelopeID) error {
	for from, ids := range receipts {
		c, err := n.store.Contact(from.String())
		if err != nil || c.State != parley.ContactAccepted || len(c.HPKEKey) == 0 {
			continue
		}
		if err := n.dm.SendDeliveryReceipt(c, ids); err != nil {
			return fmt.Errorf("receipts for mail from %s: %w", from, err)
		}
	}
	return nil
}
