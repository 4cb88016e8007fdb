package dm

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// ErrMailboxBusy: a mailbox refused a deposit for now (full, rate limited,
// its disk full). The envelope stays queued and is deposited later.
var ErrMailboxBusy = errors.New("dm: mailbox busy")

// BusyError is ErrMailboxBusy with the mailbox's reason ("mailbox full"),
// which the user sees in a status event.
type BusyError struct {
	Reason string
	Err    error // the mailbox's refusal
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrMailboxBusy, e.Reason, e.Err)
}

func (e *BusyError) Unwrap() []error { return []error{ErrMailboxBusy, e.Err} }

// ErrGrantRefused: a mailbox refused a granted capability for good (bad
// capability, owner not registered). That mailbox of the grant is not
// used again until the contact sends a new grant.
var ErrGrantRefused = errors.New("dm: mailbox refused the grant")

// parseGrant turns a grant that opened (identity.CheckMailboxGrant
// passed) into what the store keeps.
func parseGrant(g *ppb.MailboxGrant, hlc parley.HLC) (storage.MailboxGrant, error) {
	out := storage.MailboxGrant{HLC: hlc}
	for i, m := range g.GetMailboxes() {
		id, err := peer.IDFromBytes(m.GetPeerId())
		if err != nil {
			return storage.MailboxGrant{}, fmt.Errorf("%w: grant mailbox %d: peer ID: %v", parley.ErrMalformed, i, err)
		}
		gm := storage.GrantedMailbox{PeerID: id.String(), Nonce: m.GetNonce(), Token: m.GetToken()}
		for _, raw := range m.GetAddrs() {
			if a, err := ma.NewMultiaddrBytes(raw); err == nil {
				gm.Addrs = append(gm.Addrs, a.String())
			}
		}
		out.Mailboxes = append(out.Mailboxes, gm)
	}
	return out, nil
}

// usable is the mailboxes of a grant not refused for good.
func usable(g storage.MailboxGrant) []storage.GrantedMailbox {
	var out []storage.GrantedMailbox
	for _, m := range g.Mailboxes {
		if !m.Refused {
			out = append(out, m)
		}
	}
	return out
}

// applyGrant keeps a contact's grant, the newest by HLC. A grant from
// anyone but an accepted contact is ignored: only contacts may deposit
// for us, and we deposit only for contacts.
func (s *Service) applyGrant(remote peer.ID, hlc parley.HLC, g *ppb.MailboxGrant) error {
	c, err := s.cfg.Store.Contact(remote.String())
	if err != nil || c.State != parley.ContactAccepted {
		if err != nil && !errors.Is(err, parley.ErrNotFound) {
			return err
		}
		s.log.Debug("dm: ignoring a mailbox grant from a peer who is no contact", "peer", remote)
		return nil
	}
	grant, err := parseGrant(g, hlc)
	if err != nil {
		s.log.Info("dm: ignoring a malformed mailbox grant", "peer", remote, "err", err)
		return nil
	}
	replaced, hadOne, err := s.cfg.Store.PutMailboxGrant(remote.String(), grant)
	if err != nil {
		return err
	}
	if replaced {
		s.log.Debug("dm: a contact's mailboxes", "peer", remote, "mailboxes", len(grant.Mailboxes))
		s.cfg.OnMailboxGrant(remote, !hadOne)
		// The new grant may open a way to what waits for the contact.
		s.Kick(remote)
	}
	return nil
}
