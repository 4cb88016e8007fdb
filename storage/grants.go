package storage

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// What the DM service keeps for delivering through contacts' mailboxes
// (PROTOCOL.md §9): each contact's latest grant (mg/), and which of our
// outbox entries a mailbox already holds (od/).

// MailboxGrant is a contact's latest grant: the mailboxes it lets us
// deposit at, each with the capability it issued us. HLC is the grant
// envelope's, so that an older grant arriving late cannot replace a newer
// one. No mailboxes: the contact has none now.
type MailboxGrant struct {
	HLC       parley.HLC       `json:"hlc"`
	Mailboxes []GrantedMailbox `json:"mailboxes,omitempty"`
}

// GrantedMailbox is one mailbox of a grant.
type GrantedMailbox struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs,omitempty"`
	Nonce  []byte   `json:"nonce"`
	Token  []byte   `json:"token"`
	// Refused: the mailbox refused this capability for good (bad
	// capability, owner not registered); not used again until a newer
	// grant replaces this one.
	Refused bool `json:"refused,omitempty"`
}

func encodeGrant(g MailboxGrant) ([]byte, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("storage: encode mailbox grant: %w", err)
	}
	return b, nil
}

func decodeGrant(b []byte) (MailboxGrant, error) {
	var g MailboxGrant
	if err := json.Unmarshal(b, &g); err != nil {
		return MailboxGrant{}, malformed("mailbox grant", err)
	}
	return g, nil
}

func grantKey(peer string) []byte { return key(prefixGrant, []byte(peer)) }

func depositedKey(peer string, id parley.EnvelopeID) []byte {
	return append(peerPrefix(prefixDeposited, peer), id[:]...)
}

// PutMailboxGrant keeps g as peer's grant unless the one stored is as new
// or newer (by HLC). It reports whether g replaced what was stored, and
// whether there was a grant before.
func (db *DB) PutMailboxGrant(peer string, g MailboxGrant) (replaced, hadOne bool, err error) {
	if err := checkPeer(peer); err != nil {
		return false, false, fmt.Errorf("storage: put mailbox grant: %w", err)
	}
	v, err := encodeGrant(g)
	if err != nil {
		return false, false, err
	}
	err = db.submit(1, func(w *wtxn, _ int) error {
		replaced, hadOne = false, false
		b, err := getValue(w.txn, grantKey(peer))
		switch {
		case err == nil:
			hadOne = true
			old, err := decodeGrant(b)
			if err == nil && old.HLC >= g.HLC {
				return nil
			}
		case !errors.Is(err, parley.ErrNotFound):
			return err
		}
		replaced = true
		return w.txn.Set(grantKey(peer), v)
	})
	if err != nil {
		return false, false, fmt.Errorf("storage: put mailbox grant of %s: %w", peer, err)
	}
	return replaced, hadOne, nil
}

// MailboxGrantOf returns peer's latest grant, or parley.ErrNotFound.
func (db *DB) MailboxGrantOf(peer string) (MailboxGrant, error) {
	if err := checkPeer(peer); err != nil {
		return MailboxGrant{}, fmt.Errorf("storage: mailbox grant: %w", err)
	}
	var g MailboxGrant
	err := db.view(func(txn *badger.Txn) error {
		b, err := getValue(txn, grantKey(peer))
		if err != nil {
			return err
		}
		g, err = decodeGrant(b)
		return err
	})
	if err != nil {
		return MailboxGrant{}, fmt.Errorf("storage: mailbox grant of %s: %w", peer, err)
	}
	return g, nil
}

// RefuseGrantedMailbox marks one mailbox of peer's grant refused, if the
// grant stored is still the one of that HLC (a newer grant starts afresh).
func (db *DB) RefuseGrantedMailbox(peer string, hlc parley.HLC, mailbox string) error {
	if err := checkPeer(peer); err != nil {
		return fmt.Errorf("storage: refuse granted mailbox: %w", err)
	}
	err := db.submit(1, func(w *wtxn, _ int) error {
		b, err := getValue(w.txn, grantKey(peer))
		if errors.Is(err, parley.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		g, err := decodeGrant(b)
		if err != nil || g.HLC != hlc {
			return err
		}
		for i := range g.Mailboxes {
			if g.Mailboxes[i].PeerID == mailbox {
				g.Mailboxes[i].Refused = true
			}
		}
		v, err := encodeGrant(g)
		if err != nil {
			return err
		}
		return w.txn.Set(grantKey(peer), v)
	})
	if err != nil {
		return fmt.Errorf("storage: refuse mailbox %s of %s's grant: %w", mailbox, peer, err)
	}
	return nil
}

// MarkDeposited records that a mailbox of peer holds these outbox entries,
// and moves their messages to StatusStored where that is forward. IDs no
// longer in peer's outbox (delivered meanwhile) are ignored. It returns
// the messages whose status changed (receipt-kind records too, as
// AdvanceStatus).
func (db *DB) MarkDeposited(peer string, ids []parley.EnvelopeID) ([]parley.Message, error) {
	if err := checkPeer(peer); err != nil {
		return nil, fmt.Errorf("storage: mark deposited: %w", err)
	}
	changed := make([]*parley.Message, len(ids))
	err := db.submit(len(ids), func(w *wtxn, i int) error {
		changed[i] = nil
		queued, err := exists(w.txn, outboxIndexKey(peer, ids[i]))
		if err != nil || !queued {
			return err
		}
		if err := w.txn.Set(depositedKey(peer, ids[i]), nil); err != nil {
			return err
		}
		if err := w.txn.Delete(queuedWhyKey(ids[i])); err != nil {
			return err
		}
		m, ok, err := advance(w.txn, ids[i], parley.StatusStored, false)
		if ok {
			changed[i] = &m
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: mark deposited for %s: %w", peer, err)
	}
	return compact(changed), nil
}
