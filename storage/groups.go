package storage

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Group is what the store keeps about a group besides its envelopes: the
// user's standing in it and what an invite told us. Membership is not
// stored: it is computed from the group's ops (GroupOps), so it can never
// disagree with them.
type Group struct {
	ID    parley.ConversationID
	Name  string
	State parley.GroupState
	// InvitedBy is the contact whose invite brought us in.
	InvitedBy string
	// MemberHints are members an invite named, to catch up from before
	// we hold the ops.
	MemberHints []string
	// InviteHistory is the history setting the invite announced, shown
	// until we hold the ops ("" for invites from before the setting).
	InviteHistory parley.GroupHistory
	UpdatedAt     time.Time
}

// GroupKey is one epoch key of a group.
type GroupKey struct {
	ID  [16]byte
	Key [32]byte
	HLC parley.HLC // when the epoch began
}

// SyncItem is one envelope of a group in its sync index.
type SyncItem struct {
	HLC   parley.HLC
	ID    parley.EnvelopeID
	KeyID [16]byte
}

func groupKey(id parley.ConversationID) []byte { return key(prefixGroup, id[:]) }

func groupKeyKey(group parley.ConversationID, keyID []byte) []byte {
	return key(prefixGroupKey, group[:], keyID)
}

func syncIndexKey(group parley.ConversationID, hlc parley.HLC, id parley.EnvelopeID) []byte {
	return key(prefixSync, group[:], binary.BigEndian.AppendUint64(nil, uint64(hlc)), id[:])
}

func opIndexKey(m parley.Message) []byte { return displayKey(prefixGroupOps, m) }

// UpdateGroup reads, changes and writes one group atomically with respect
// to every other write (see UpdateContact). A group written for the first
// time also gets its conversation, so it is listed with the others.
func (db *DB) UpdateGroup(id parley.ConversationID, update func(g *Group, found bool) (write bool, err error)) (Group, error) {
	var result Group
	err := db.submit(1, func(w *wtxn, _ int) error {
		result = Group{ID: id}
		wrote, err := updateKeyed(w.txn, groupKey(id), groupCodec, &result, update, func(g *Group) error {
			if g.ID != id {
				return fmt.Errorf("%w: the group ID may not change", parley.ErrMalformed)
			}
			g.UpdatedAt = time.Now().UTC()
			return nil
		})
		if err != nil || !wrote {
			return err
		}
		if _, err := getConversation(w.txn, id); errors.Is(err, parley.ErrNotFound) {
			c := parley.Conversation{ID: id, Kind: parley.ConversationGroup}
			return w.txn.Set(conversationKey(id), encodeConversation(c))
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Group{}, fmt.Errorf("storage: update group %s: %w", id, err)
	}
	return result, nil
}

// Group returns one group, or parley.ErrNotFound.
func (db *DB) Group(id parley.ConversationID) (Group, error) {
	g, err := getKeyed(db, groupKey(id), groupCodec)
	if err != nil {
		return Group{}, fmt.Errorf("storage: group %s: %w", id, err)
	}
	return g, nil
}

// Groups lists every group the store knows, in any state.
func (db *DB) Groups() ([]Group, error) {
	out, err := listKeyed(db, prefixGroup, groupCodec)
	if err != nil {
		return nil, fmt.Errorf("storage: list groups: %w", err)
	}
	return out, nil
}

// PutGroupKeys keeps keys of a group; keys already held are skipped. It
// returns how many were new.
func (db *DB) PutGroupKeys(group parley.ConversationID, keys []GroupKey) (int, error) {
	added := 0
	err := db.submit(1, func(w *wtxn, _ int) error {
		added = 0
		for _, k := range keys {
			kk := groupKeyKey(group, k.ID[:])
			if ok, err := exists(w.txn, kk); err != nil {
				return err
			} else if ok {
				continue
			}
			if err := w.txn.Set(kk, encodeGroupKey(k)); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: put keys of group %s: %w", group, err)
	}
	return added, nil
}

// GroupKeys returns a group's keys, oldest epoch first (by HLC, then ID).
func (db *DB) GroupKeys(group parley.ConversationID) ([]GroupKey, error) {
	var out []GroupKey
	err := db.view(func(txn *badger.Txn) error {
		p := string(key(prefixGroupKey, group[:]))
		return scan(txn, p, func(k, v []byte) error {
			if len(k) != len(p)+16 {
				return malformed("group key", fmt.Errorf("%d-byte key", len(k)))
			}
			gk, err := decodeGroupKey([16]byte(k[len(p):]), v)
			if err != nil {
				return err
			}
			out = append(out, gk)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: keys of group %s: %w", group, err)
	}
	slices.SortFunc(out, func(a, b GroupKey) int {
		return cmp.Or(cmp.Compare(a.HLC, b.HLC), bytes.Compare(a.ID[:], b.ID[:]))
	})
	return out, nil
}

// GroupOps returns the envelopes of a group's ops in (HLC, ID) order.
func (db *DB) GroupOps(group parley.ConversationID) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := db.view(func(txn *badger.Txn) error {
		p := displayPrefix(prefixGroupOps, group)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			id, err := displayKeyID(prefixGroupOps, it.Item().Key())
			if err != nil {
				return err
			}
			env, err := getValue(txn, envelopeKey(id))
			if err != nil {
				return notFoundIsMalformed(err)
			}
			out = append(out, OutboxEntry{ID: id, Envelope: env})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: ops of group %s: %w", group, err)
	}
	return out, nil
}

// SyncScan calls fn for every envelope of a group with lo <= HLC < hi (hi
// 0: no bound), in (HLC, ID) order, until fn returns false.
func (db *DB) SyncScan(group parley.ConversationID, lo, hi parley.HLC, fn func(SyncItem) bool) error {
	err := db.view(func(txn *badger.Txn) error {
		p := key(prefixSync, group[:])
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(p), uint64(lo))); it.ValidForPrefix(p); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(p)+8+32 {
				return malformed("sync index key", fmt.Errorf("%d bytes", len(k)))
			}
			si := SyncItem{HLC: parley.HLC(binary.BigEndian.Uint64(k[len(p):])), ID: parley.EnvelopeID(k[len(p)+8:])}
			if hi != 0 && si.HLC >= hi {
				return nil
			}
			if err := item.Value(func(v []byte) (err error) {
				si.KeyID, err = decodeSyncKeyID(v)
				return err
			}); err != nil {
				return err
			}
			if !fn(si) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: scan group %s: %w", group, err)
	}
	return nil
}
