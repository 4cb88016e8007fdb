package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Blocked peers and conversation states (node/block.go): what the user
// chose, kept on this node only. JSON, like grants: a handful of small
// records that change when the user clicks.
//
//	bk/p/<peer>  → a blocked peer (blockRecord)
//	bk/c/<conv>  → a conversation's mute, archive and pin (convStateRecord)
const (
	prefixBlocked   = "bk/p/"
	prefixConvState = "bk/c/"
)

func blockedKey(peer string) []byte                  { return key(prefixBlocked, []byte(peer)) }
func convStateKey(conv parley.ConversationID) []byte { return key(prefixConvState, conv[:]) }

func convStateKeyConv(k []byte) (parley.ConversationID, error) {
	var conv parley.ConversationID
	if len(k) != len(prefixConvState)+len(conv) {
		return conv, fmt.Errorf("%w: conversation state key of %d bytes", parley.ErrMalformed, len(k))
	}
	copy(conv[:], k[len(prefixConvState):])
	return conv, nil
}

// Block is a blocked peer as stored.
type Block struct {
	PeerID string
	At     time.Time
	// Request: not an accepted contact when blocked.
	Request bool
	// RevokedMailbox: blocking revoked their capability to deposit at our
	// mailboxes (they held none revoked before), so unblocking restores it.
	RevokedMailbox bool
}

// blockRecord is Block's stored form.
type blockRecord struct {
	PeerID         string    `json:"peer"`
	At             time.Time `json:"at"`
	Request        bool      `json:"request,omitempty"`
	RevokedMailbox bool      `json:"revoked_mailbox,omitempty"`
}

var blockCodec = valueCodec[Block]{
	encode: func(b Block) ([]byte, error) {
		return json.Marshal(blockRecord(b))
	},
	decode: func(v []byte) (Block, error) {
		var r blockRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return Block{}, malformed("blocked peer", err)
		}
		if err := checkPeer(r.PeerID); err != nil {
			return Block{}, err
		}
		return Block(r), nil
	},
}

// ConvState is a conversation's mute, archive and pin as stored. The zero
// value is a conversation the user never changed.
type ConvState struct {
	Muted      bool
	MutedUntil time.Time // zero: until unmuted
	Archived   bool
	PinnedAt   time.Time // zero: not pinned
}

// MutedAt reports whether the conversation is muted at now.
func (s ConvState) MutedAt(now time.Time) bool {
	return s.Muted && (s.MutedUntil.IsZero() || now.Before(s.MutedUntil))
}

type convStateRecord struct {
	Muted      bool      `json:"muted,omitempty"`
	MutedUntil time.Time `json:"muted_until,omitzero"`
	Archived   bool      `json:"archived,omitempty"`
	PinnedAt   time.Time `json:"pinned_at,omitzero"`
}

var convStateCodec = valueCodec[ConvState]{
	encode: func(s ConvState) ([]byte, error) { return json.Marshal(convStateRecord(s)) },
	decode: func(v []byte) (ConvState, error) {
		var r convStateRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return ConvState{}, malformed("conversation state", err)
		}
		return ConvState(r), nil
	},
}

// PutBlock records b, replacing what was stored for its peer.
func (db *DB) PutBlock(b Block) error {
	if err := checkPeer(b.PeerID); err != nil {
		return fmt.Errorf("storage: block: %w", err)
	}
	v, err := blockCodec.encode(b)
	if err != nil {
		return fmt.Errorf("storage: block: %w", err)
	}
	err = db.submit(1, func(w *wtxn, _ int) error { return w.txn.Set(blockedKey(b.PeerID), v) })
	if err != nil {
		return fmt.Errorf("storage: block %s: %w", b.PeerID, err)
	}
	return nil
}

// DeleteBlock removes peer's block and returns it (found false: there was
// none).
func (db *DB) DeleteBlock(peer string) (b Block, found bool, err error) {
	if err := checkPeer(peer); err != nil {
		return Block{}, false, fmt.Errorf("storage: unblock: %w", err)
	}
	err = db.submit(1, func(w *wtxn, _ int) error {
		b, found = Block{}, false
		ok, err := readKeyed(w.txn, blockedKey(peer), blockCodec, &b)
		if err != nil || !ok {
			return err
		}
		found = true
		return w.txn.Delete(blockedKey(peer))
	})
	if err != nil {
		return Block{}, false, fmt.Errorf("storage: unblock %s: %w", peer, err)
	}
	return b, found, nil
}

// Blocks lists the blocked peers, by peer ID.
func (db *DB) Blocks() ([]Block, error) {
	bs, err := listKeyed(db, prefixBlocked, blockCodec)
	if err != nil {
		return nil, fmt.Errorf("storage: blocked peers: %w", err)
	}
	return bs, nil
}

// UpdateConvState lets update change conv's state (the zero ConvState when
// none is stored) and writes it when update asks; a state back to zero is
// deleted. It returns the state as stored.
func (db *DB) UpdateConvState(conv parley.ConversationID, update func(s *ConvState) (bool, error)) (ConvState, error) {
	var st ConvState
	err := db.submit(1, func(w *wtxn, _ int) error {
		st = ConvState{}
		if _, err := readKeyed(w.txn, convStateKey(conv), convStateCodec, &st); err != nil {
			return err
		}
		write, err := update(&st)
		if err != nil || !write {
			return err
		}
		if st == (ConvState{}) {
			return w.txn.Delete(convStateKey(conv))
		}
		v, err := convStateCodec.encode(st)
		if err != nil {
			return err
		}
		return w.txn.Set(convStateKey(conv), v)
	})
	if err != nil {
		return ConvState{}, fmt.Errorf("storage: conversation state %s: %w", conv, err)
	}
	return st, nil
}

// ConvState returns conv's state (zero when none is stored).
func (db *DB) ConvState(conv parley.ConversationID) (ConvState, error) {
	st, err := getKeyed(db, convStateKey(conv), convStateCodec)
	if errors.Is(err, parley.ErrNotFound) {
		return ConvState{}, nil
	}
	if err != nil {
		return ConvState{}, fmt.Errorf("storage: conversation state %s: %w", conv, err)
	}
	return st, nil
}

// ConvStates returns every conversation state stored, by conversation.
func (db *DB) ConvStates() (map[parley.ConversationID]ConvState, error) {
	out := make(map[parley.ConversationID]ConvState)
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixConvState, func(k, v []byte) error {
			conv, err := convStateKeyConv(k)
			if err != nil {
				return err
			}
			st, err := convStateCodec.decode(v)
			if err != nil {
				return err
			}
			out[conv] = st
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: conversation states: %w", err)
	}
	return out, nil
}
