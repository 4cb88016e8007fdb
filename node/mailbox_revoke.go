package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/mailbox"
	mailboxpb "github.com/parley-im/parley/node/mailbox/pb"
)

// Taking back deposit capabilities (PROTOCOL.md §9.7). A contact who fills
// the user's mailboxes can be stopped two ways:
//
//   - Revoke: the contact's nonce (one per contact, mailbox.CapabilityFor)
//     goes into revoked_nonces of the registration at every mailbox, and
//     the contact gets an empty grant, so it stops depositing and keeps its
//     messages queued for direct delivery. Undo lifts both.
//   - Reset: the next generation of K_dep at a mailbox revokes every
//     capability issued there; every contact not revoked gets a new grant.
//
// settings.json holds the revoked contacts and each mailbox's generation,
// written before any mailbox is told, so that a crash in between leaves a
// state the node finishes on its next start: the fetcher registers with
// every mailbox once per run (and whenever what it registered changed), and
// a mailbox that takes a generation whose grants contacts have not been
// sent yet (storedMailbox.Granted) has them sent then.

// registrations is what the mailboxes hold of ours, as far as this run
// knows.
type registrations struct {
	// mu makes one registration at a time, each one built from the
	// settings of its moment: the last one a mailbox takes is the newest.
	mu sync.Mutex
	// held: mailbox peer ID → the registration it took from us this run
	// (regState).
	held map[string]string
	// issued is the issued_at of our last registration. A mailbox takes a
	// registration only if issued later than the one it holds, in whole
	// seconds, so each one is issued at least a second after the last.
	issued time.Time
}

// regState names what a registration says beyond its times.
func regState(generation uint32, revoked []string) string {
	return fmt.Sprint(generation, revoked)
}

// revokedContacts is the contacts whose capabilities are revoked, sorted.
func (n *Node) revokedContacts() []string {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	return slices.Sorted(slices.Values(n.mbRevoked))
}

func (n *Node) isRevoked(peerID string) bool {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	return slices.Contains(n.mbRevoked, peerID)
}

// mailboxEntry is the stored mailbox of that peer ID, if it is one of ours.
func (n *Node) retiredGeneration(mb peer.ID) uint32 {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	return n.mbRetired[mb.String()]
}

func (n *Node) mailboxEntry(mb peer.ID) (storedMailbox, bool) {
	s := mb.String()
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	i := slices.IndexFunc(n.mbList, func(m storedMailbox) bool { return m.PeerID == s })
	if i < 0 {
		return storedMailbox{}, false
	}
	return n.mbList[i], true
}

// registrationHeld reports whether the mailbox took, this run, the
// registration due now.
func (n *Node) registrationHeld(mb peer.ID) bool {
	e, _ := n.mailboxEntry(mb)
	want := regState(e.Generation, n.revokedContacts())
	n.mbReg.mu.Lock()
	defer n.mbReg.mu.Unlock()
	return n.mbReg.held[mb.String()] == want
}

// register registers with the mailbox on c: K_dep of the mailbox's
// generation (for one not on our list yet, 0, or one past the last it held
// if the user removed it), and the revoked contacts' nonces under it.
func (n *Node) register(ctx context.Context, c *mailbox.Client, mb peer.ID) error {
	n.mbReg.mu.Lock()
	defer n.mbReg.mu.Unlock()
	e, ok := n.mailboxEntry(mb)
	if !ok {
		e.Generation = n.retiredGeneration(mb)
	}
	revoked := n.revokedContacts()
	key, err := mailbox.DeriveDepositKey(n.id.Key, mb, e.Generation)
	if err != nil {
		return err
	}
	owner, err := mailbox.OwnerOf(n.id.Key.GetPublic())
	if err != nil {
		return err
	}
	reg := mailbox.Registration{DepositKey: key}
	for _, s := range revoked {
		if p, err := peer.Decode(s); err == nil {
			reg.Revoked = append(reg.Revoked, mailbox.CapabilityFor(key, owner, p).Nonce)
		}
	}
	// Then the group capabilities of epochs we left (group_grants.go):
	// at most maxGroupRevocations, the room revoked contacts leave.
	groupRevoked := n.groupRevocations(key)
	reg.Revoked = append(reg.Revoked, groupRevoked...)
	for try := 0; ; try++ {
		issued := time.Now().Truncate(time.Second)
		if !issued.After(n.mbReg.issued) {
			issued = n.mbReg.issued.Add(time.Second)
		}
		n.mbReg.issued = issued
		reg.IssuedAt, reg.ExpiresAt = issued, issued.Add(mailboxValidity)
		_, err = c.Register(ctx, n.id.Key, reg)
		// The mailbox may hold one we issued in this very second, before
		// a restart: a later second will do.
		if code, ok := mailbox.RefusalCode(err); ok && code == mailboxpb.Code_CODE_BAD_REGISTRATION && try < 3 {
			continue
		}
		break
	}
	if err != nil {
		if r := new(mailbox.RefusedError); errors.As(err, &r) {
			return fmt.Errorf("%w: %s refused to hold your mail: %s", parley.ErrMailboxUnavailable, mb, r.Reason)
		}
		return fmt.Errorf("%w: %s did not answer the registration: %w", parley.ErrMailboxUnavailable, mb, err)
	}
	if n.mbReg.held == nil {
		n.mbReg.held = make(map[string]string)
	}
	n.mbReg.held[mb.String()] = regState(e.Generation, revoked)
	n.noteRegistered(mb, groupRevoked)
	if e.PeerID != "" && e.Granted != e.Generation {
		return n.grantGeneration(mb, e.Generation)
	}
	return nil
}

// grantGeneration sends every contact our grant now that the mailbox took
// a new generation, then records that they were sent: a crash in between
// sends them again, which changes nothing.
func (n *Node) grantGeneration(mb peer.ID, generation uint32) error {
	n.sendGrants()
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(s.Mailboxes, func(m storedMailbox) bool { return m.PeerID == mb.String() })
	if i < 0 || s.Mailboxes[i].Generation != generation {
		return nil // removed, or reset again meanwhile: that one's turn comes
	}
	s.Mailboxes[i].Granted = generation
	if err := saveSettings(n.dataDir, s); err != nil {
		return err
	}
	n.mbMu.Lock()
	n.mbList = slices.Clone(s.Mailboxes)
	n.mbMu.Unlock()
	n.log.Info("a mailbox took a new deposit key; contacts were sent new capabilities", "mailbox", mb, "generation", generation)
	return nil
}

// registerAll registers with each of the mailboxes that does not hold the
// registration due now. One unreachable now is logged: the fetcher
// registers when it reaches it.
func (n *Node) registerAll(ctx context.Context, only func(storedMailbox) bool) []error {
	var errs []error
	for _, mb := range n.mailboxList() {
		if only != nil && !only(mb) {
			continue
		}
		info, err := mb.addrInfo()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n.registrationHeld(info.ID) {
			continue // the fetcher was first
		}
		if err := n.registerMailbox(ctx, info); err != nil {
			n.log.Warn("registering with a mailbox; it takes the change once reached", "mailbox", mb.PeerID, "err", err)
			errs = append(errs, err)
		}
	}
	return errs
}

// RevokeMailboxCapability revokes (revoke) or restores a contact's
// capability to deposit at every mailbox of the user, now and at mailboxes
// added later: each mailbox refuses the contact's deposits, and the
// contact gets an empty grant, so it keeps its messages queued until it
// reaches the user directly. contact is a name or peer ID (Resolve). A
// mailbox unreachable now takes the change when the node reaches it; the
// change is kept either way.
func (m *Messenger) RevokeMailboxCapability(ctx context.Context, contact string, revoke bool) (parley.Contact, error) {
	n := m.node()
	c, err := m.Resolve(ctx, contact)
	if err != nil {
		return parley.Contact{}, err
	}
	changed, err := n.setRevoked(c.PeerID, revoke)
	if err != nil {
		return parley.Contact{}, err
	}
	c.MailboxRevoked = revoke
	if !changed {
		return c, nil
	}
	n.log.Info("mailbox capability", "peer", c.PeerID, "revoked", revoke)
	// The mailboxes first: a restored contact deposits only once they
	// take its nonce back; a revoked one is refused there from now on.
	n.registerAll(ctx, nil)
	if c.State == parley.ContactAccepted && len(c.HPKEKey) > 0 {
		if err := n.sendGrant(c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// setRevoked records the contact revoked or not in settings.json, and
// reports whether that changed anything.
func (n *Node) setRevoked(peerID string, revoke bool) (bool, error) {
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return false, err
	}
	i := slices.Index(s.MailboxRevoked, peerID)
	switch {
	case revoke && i >= 0, !revoke && i < 0:
		return false, nil
	case revoke && len(s.MailboxRevoked) >= maxRevokedContacts:
		return false, fmt.Errorf("%w: %d contacts revoked already, the most a mailbox keeps; reset your mailboxes instead (parley mailbox reset)",
			parley.ErrMalformed, len(s.MailboxRevoked))
	case revoke:
		s.MailboxRevoked = append(s.MailboxRevoked, peerID)
	default:
		s.MailboxRevoked = slices.Delete(s.MailboxRevoked, i, i+1)
	}
	if err := saveSettings(n.dataDir, s); err != nil {
		return false, err
	}
	n.mbMu.Lock()
	n.mbRevoked = slices.Clone(s.MailboxRevoked)
	n.mbMu.Unlock()
	return true, nil
}

// ResetMailbox moves the mailbox (peerID; "" for all of the user's) to the
// next generation of its deposit key: once it takes the new registration,
// every capability issued there before is refused, and every contact not
// revoked is sent a new one. The generation is kept before the mailbox is
// told; a mailbox unreachable now takes it when the node reaches it, and
// the error says so.
func (m *Messenger) ResetMailbox(ctx context.Context, peerID string) ([]parley.Mailbox, error) {
	n := m.node()
	n.settingsMu.Lock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		n.settingsMu.Unlock()
		return nil, err
	}
	reset := make(map[string]bool)
	var out []parley.Mailbox
	for i := range s.Mailboxes {
		if peerID == "" || s.Mailboxes[i].PeerID == peerID {
			s.Mailboxes[i].Generation++
			reset[s.Mailboxes[i].PeerID] = true
			v := s.Mailboxes[i].view()
			v.Revoked = slices.Clone(s.MailboxRevoked)
			out = append(out, v)
		}
	}
	if peerID != "" && len(reset) == 0 {
		n.settingsMu.Unlock()
		return nil, fmt.Errorf("mailbox %s: %w", peerID, parley.ErrNotFound)
	}
	if len(reset) == 0 {
		n.settingsMu.Unlock()
		return []parley.Mailbox{}, nil
	}
	if err := saveSettings(n.dataDir, s); err != nil {
		n.settingsMu.Unlock()
		return nil, err
	}
	n.setMailboxes(s.Mailboxes)
	n.settingsMu.Unlock()
	for _, v := range out {
		n.log.Info("mailbox reset: a new deposit key", "mailbox", v.PeerID, "generation", v.Generation)
	}
	errs := n.registerAll(ctx, func(mb storedMailbox) bool { return reset[mb.PeerID] })
	if len(errs) > 0 {
		return out, fmt.Errorf("the new key is kept and reaches each mailbox when your node does: %w", errors.Join(errs...))
	}
	return out, nil
}
