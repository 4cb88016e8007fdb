package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// What a member keeps for delivering group envelopes through the other
// members' mailboxes (PROTOCOL.md §9.10): every member's grants to the
// group (ggr/; the newest by HLC is the one in force), and which group
// envelopes we deposited for whom at which mailbox (ggd/), so that no
// envelope is deposited twice for one member at one mailbox.

// GroupDepositMarkTTL is how long a deposit mark lasts: longer than a
// mailbox keeps mail (30 days), so a mark outlives what it stands for.
const GroupDepositMarkTTL = 31 * 24 * time.Hour

// GroupGrant is one member's grant to a group: the mailboxes it lets the
// group's members deposit at, each with the capability of the epoch whose
// key sealed the grant (KeyID).
type GroupGrant struct {
	Member    string            `json:"-"`
	HLC       parley.HLC        `json:"-"`
	ID        parley.EnvelopeID `json:"-"`
	KeyID     []byte            `json:"key_id"`
	Mailboxes []GrantedMailbox  `json:"mailboxes,omitempty"`
}

func groupGrantPrefix(group parley.ConversationID, member string) []byte {
	return append(key(prefixGroupGrant, group[:], []byte(member)), peerSep)
}

func groupGrantKey(group parley.ConversationID, g GroupGrant) []byte {
	k := binary.BigEndian.AppendUint64(groupGrantPrefix(group, g.Member), uint64(g.HLC))
	return append(k, g.ID[:]...)
}

// decodeGroupGrant reads a ggr/ entry of group.
func decodeGroupGrant(group parley.ConversationID, k, v []byte) (GroupGrant, error) {
	rest := k[len(prefixGroupGrant)+len(group):]
	if len(rest) < 1+8+32 || rest[len(rest)-41] != peerSep {
		return GroupGrant{}, fmt.Errorf("%w: group grant key of %d bytes", parley.ErrMalformed, len(k))
	}
	var g GroupGrant
	if err := json.Unmarshal(v, &g); err != nil {
		return GroupGrant{}, malformed("group grant", err)
	}
	g.Member = string(rest[:len(rest)-41])
	g.HLC = parley.HLC(binary.BigEndian.Uint64(rest[len(rest)-40:]))
	copy(g.ID[:], rest[len(rest)-32:])
	return g, nil
}

// PutGroupGrant keeps a member's grant to group (idempotent) and reports
// whether it became the member's newest, by (HLC, envelope ID): false for
// an older one and for one kept before.
func (db *DB) PutGroupGrant(group parley.ConversationID, g GroupGrant) (newest bool, err error) {
	if err := checkPeer(g.Member); err != nil {
		return false, fmt.Errorf("storage: put group grant: %w", err)
	}
	v, err := json.Marshal(g)
	if err != nil {
		return false, fmt.Errorf("storage: encode group grant: %w", err)
	}
	k := groupGrantKey(group, g)
	err = db.submit(1, func(w *wtxn, _ int) error {
		p := groupGrantPrefix(group, g.Member)
		it := w.txn.NewIterator(badger.IteratorOptions{Prefix: p})
		// Ours, if kept before, or a newer one sorts at or after k.
		it.Seek(k)
		newest = !it.ValidForPrefix(p)
		it.Close()
		return w.txn.Set(k, v)
	})
	if err != nil {
		return false, fmt.Errorf("storage: put group grant of %s: %w", g.Member, err)
	}
	return newest, nil
}

// GroupGrants lists every grant kept for group, oldest first per member;
// newest keeps only each member's newest.
func (db *DB) GroupGrants(group parley.ConversationID, newest bool) ([]GroupGrant, error) {
	var out []GroupGrant
	err := db.view(func(txn *badger.Txn) error {
		p := key(prefixGroupGrant, group[:])
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			g, err := decodeGroupGrant(group, it.Item().Key(), v)
			if err != nil {
				return err
			}
			if newest && len(out) > 0 && out[len(out)-1].Member == g.Member {
				out[len(out)-1] = g
				continue
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: grants of group %s: %w", group, err)
	}
	return out, nil
}

// GroupGrantOf is member's newest grant to group, or parley.ErrNotFound.
func (db *DB) GroupGrantOf(group parley.ConversationID, member string) (GroupGrant, error) {
	if err := checkPeer(member); err != nil {
		return GroupGrant{}, fmt.Errorf("storage: group grant: %w", err)
	}
	var (
		g     GroupGrant
		found bool
	)
	err := db.view(func(txn *badger.Txn) error {
		p := groupGrantPrefix(group, member)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, Reverse: true})
		defer it.Close()
		// Reverse iteration seeks to the last key at or before the seek
		// key: at or past every key of the prefix.
		if it.Seek(append(p, bytes.Repeat([]byte{0xff}, 8+32)...)); !it.ValidForPrefix(p) {
			return nil
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		g, err = decodeGroupGrant(group, it.Item().Key(), v)
		found = err == nil
		return err
	})
	if err == nil && !found {
		err = parley.ErrNotFound
	}
	if err != nil {
		return GroupGrant{}, fmt.Errorf("storage: grant of %s to group %s: %w", member, group, err)
	}
	return g, nil
}

func groupDepositedKey(id parley.EnvelopeID, owner, mailbox string) []byte {
	return append(peerPrefix(prefixGroupDeposited, string(id[:])+owner), mailbox...)
}

// MarkGroupDeposited records that mailbox holds group envelope id for
// owner (for GroupDepositMarkTTL).
func (db *DB) MarkGroupDeposited(id parley.EnvelopeID, owner, mailbox string) error {
	if err := checkPeer(owner); err != nil {
		return fmt.Errorf("storage: mark group deposit: %w", err)
	}
	err := db.submit(1, func(w *wtxn, _ int) error {
		return w.txn.SetEntry(badger.NewEntry(groupDepositedKey(id, owner, mailbox), nil).WithTTL(GroupDepositMarkTTL))
	})
	if err != nil {
		return fmt.Errorf("storage: mark group deposit for %s: %w", owner, err)
	}
	return nil
}

// GroupDeposited says whether we deposited group envelope id for owner at
// mailbox (MarkGroupDeposited).
func (db *DB) GroupDeposited(id parley.EnvelopeID, owner, mailbox string) (bool, error) {
	var ok bool
	err := db.view(func(txn *badger.Txn) error {
		var err error
		ok, err = exists(txn, groupDepositedKey(id, owner, mailbox))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: group deposit for %s: %w", owner, err)
	}
	return ok, nil
}
