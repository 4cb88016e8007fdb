package storage

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Paging through a conversation. Display order is (HLC, envelope ID), the
// order of the m/ index's keys, so a cursor is a position in that index:
// a page costs one seek and as many steps as it holds messages, however
// deep in the history it starts.

// Cursor is a position in a conversation's display order: the HLC and
// envelope ID of a message (CursorOf). A cursor needs no message stored at
// it; it still sorts between the messages around it.
type Cursor struct {
	HLC parley.HLC
	ID  parley.EnvelopeID
}

// CursorOf is the position of a message.
func CursorOf(m parley.Message) Cursor { return Cursor{HLC: m.HLC, ID: m.ID} }

// Page selects messages of one conversation. The zero Page is every
// message.
//
// Before and After bound the page, each exclusive (the message at a cursor
// is never in the page), and may be used together for the messages
// strictly between two cursors (none when After is not before Before).
//
// Limit caps how many messages the page holds; 0 means no cap, and a
// negative Limit is an error. Which end it keeps follows the way a reader
// moves: with After set, the oldest Limit after it (scrolling down, or
// catching up from the last message seen); otherwise the newest Limit
// before Before, or of the whole conversation (opening it, or scrolling
// up). So the next page down is After: CursorOf(the page's last message),
// and the next page up is Before: CursorOf(its first), and walking either
// way visits every message once.
type Page struct {
	Before, After *Cursor
	Limit         int
}

// MessagePage returns a page of a conversation's text and file messages,
// DM or group alike, in display order (HLC, then envelope ID), oldest
// first. An empty conversation, or one the store has never seen, gives no
// messages and no error.
func (db *DB) MessagePage(conv parley.ConversationID, p Page) ([]parley.Message, error) {
	if p.Limit < 0 {
		return nil, fmt.Errorf("storage: list messages of %s: %w: limit %d", conv, parley.ErrMalformed, p.Limit)
	}
	return db.listDisplay(prefixMessages, conv, p)
}

// MessageCursor returns the cursor of a message listed in a conversation,
// for callers that hold only its ID. It is parley.ErrNotFound when no such
// message is listed there (unknown, of another conversation, or a kind
// never displayed, like a receipt).
func (db *DB) MessageCursor(conv parley.ConversationID, id parley.EnvelopeID) (Cursor, error) {
	var c Cursor
	err := db.view(func(txn *badger.Txn) error {
		m, err := getMessage(txn, id)
		if err != nil {
			return err
		}
		if m.Conversation != conv || !displayed(m) {
			return fmt.Errorf("storage: message %s: %w in conversation %s", id, parley.ErrNotFound, conv)
		}
		c = CursorOf(m)
		return nil
	})
	return c, err
}

// MessagesIn returns the page of a conversation that p names by message
// IDs (parley.Page): MessageCursor for each ID, then MessagePage.
func (db *DB) MessagesIn(conv parley.ConversationID, p parley.Page) ([]parley.Message, error) {
	before, err := db.cursorAt(conv, p.Before)
	if err != nil {
		return nil, err
	}
	after, err := db.cursorAt(conv, p.After)
	if err != nil {
		return nil, err
	}
	return db.MessagePage(conv, Page{Before: before, After: after, Limit: p.Limit})
}

// cursorAt is MessageCursor for an optional ID: none gives no cursor.
func (db *DB) cursorAt(conv parley.ConversationID, id *parley.EnvelopeID) (*Cursor, error) {
	if id == nil {
		return nil, nil
	}
	c, err := db.MessageCursor(conv, *id)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// listDisplay reads a page of an m/ or u/ index and the messages it names.
func (db *DB) listDisplay(prefix string, conv parley.ConversationID, p Page) ([]parley.Message, error) {
	var out []parley.Message
	err := db.viewAfterPurges(func(txn *badger.Txn) error {
		ids, err := scanDisplay(txn, prefix, conv, p)
		if err != nil {
			return err
		}
		out = make([]parley.Message, 0, len(ids))
		for _, id := range ids {
			m, err := getMessage(txn, id)
			if err != nil {
				return err // a missing record is a broken index: not ErrNotFound to the caller
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list messages of %s: %w", conv, notFoundIsMalformed(err))
	}
	return out, nil
}

// scanDisplay returns the envelope IDs of a page in display order. It
// walks the index from the end the limit counts from (see Page): forwards
// from After, else backwards from Before or the newest key, so a page of
// n messages costs n steps.
func scanDisplay(txn *badger.Txn, prefix string, conv parley.ConversationID, p Page) ([]parley.EnvelopeID, error) {
	pre := displayPrefix(prefix, conv)
	forward := p.After != nil
	var from, stop []byte // from: the cursor the walk starts at, skipped; stop: the far bound
	switch {
	case forward:
		from = displayKeyAt(prefix, conv, p.After.HLC, p.After.ID)
		if p.Before != nil {
			stop = displayKeyAt(prefix, conv, p.Before.HLC, p.Before.ID)
		}
	case p.Before != nil:
		from = displayKeyAt(prefix, conv, p.Before.HLC, p.Before.ID)
	}
	seek := from
	if seek == nil {
		// In reverse, Seek finds the last key <= its argument: here, the
		// largest possible key under pre.
		seek = append(bytes.Clone(pre), bytes.Repeat([]byte{0xff}, displayKeyLen)...)
	}

	it := txn.NewIterator(badger.IteratorOptions{Prefix: pre, Reverse: !forward})
	defer it.Close()
	var ids []parley.EnvelopeID
	for it.Seek(seek); it.ValidForPrefix(pre) && (p.Limit == 0 || len(ids) < p.Limit); it.Next() {
		k := it.Item().Key()
		if from != nil && bytes.Equal(k, from) {
			continue
		}
		if stop != nil && bytes.Compare(k, stop) >= 0 {
			break
		}
		id, err := displayKeyID(prefix, k)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if !forward {
		slices.Reverse(ids)
	}
	return ids, nil
}
