package storage

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Record is one envelope to store, with what it means. PutRecords is the
// only way envelopes enter the store, whether sent or received, text or
// receipt.
type Record struct {
	// Message is the decrypted envelope. Its ID is the envelope ID and
	// makes the record idempotent.
	Message parley.Message
	// Envelope is the encoded envelope, kept as received or sent. Required.
	Envelope []byte
	// QueueTo, when set, also appends the envelope to this peer's outbox.
	QueueTo string
	// MarkRead lists incoming messages to mark StatusRead in the same
	// transaction (the record is then the read receipt being queued).
	MarkRead []parley.EnvelopeID
	// Group marks an envelope of a group conversation, sealed under the
	// group key KeyID: it is indexed for sync (SyncScan), and an op for
	// GroupOps.
	Group bool
	KeyID [16]byte
	// SenderKey, when set, is the DM key the sender (Message.From)
	// established with this envelope: it is kept (as by PutPeerKey) in the
	// same write, and only if the record is stored, so an envelope refused
	// leaves nothing behind.
	SenderKey *PeerKey
	// ClientID, when set, is the idempotency key of an outgoing message
	// (parley.ClientID): stored with the record, in the same transaction,
	// so that a send retried after a crash finds the first one
	// (MessageByClientID). A record whose ClientID is already stored is
	// skipped like a duplicate envelope.
	ClientID parley.ClientID
	// Hidden: a group message by a peer the user blocked (node/block.go).
	// It is stored and indexed for sync like any other, so that the group
	// converges and we serve it to members who lack it, but never listed
	// by Messages, counted unread or bumping its conversation.
	Hidden bool
	// ReceivedBy, when set (our peer ID), notes in the receipts index
	// (NoteReceipts) that the message, a new incoming one, was delivered
	// to us now, in the same transaction: the receiver's ack waits for
	// one sync, not two.
	ReceivedBy string
	// Sealed: this node sealed the envelope just now (a send), so no
	// copy of it, and no delete of it, can be stored already: the checks
	// for those are skipped. Each is a read of a key that is not there,
	// which goes through every level, on the writer's serial path.
	Sealed bool
}

// PeerKey is a DM sending key a peer established with us.
type PeerKey struct {
	ID  []byte
	Key []byte
}

// PutRecords stores records, committing them in as few synced transactions
// as possible, shared with concurrent writers. added[i] reports whether
// recs[i] was new: a record whose envelope ID is already stored, or appeared
// earlier in recs, is skipped entirely and changes nothing (no outbox entry,
// no MarkRead, no unread count).
//
// A new text record upserts its DM conversation: Peer is the other side,
// LastHLC the newest timestamp, and an incoming message with a status below
// StatusRead adds one to Unread. Other kinds (receipts) are stored for
// idempotency and the outbox but never listed by Messages or Unread.
//
// Records are validated before anything is written. After a storage error
// some records may already be stored; calling again with the same records is
// safe.
func (db *DB) PutRecords(recs []Record) (added []bool, err error) {
	added, _, err = db.putRecords(recs, nil)
	return added, err
}

// putRecords is PutRecords, and PutStrangerRecords when quota is set.
func (db *DB) putRecords(recs []Record, quota *strangerQuota) (added, refused []bool, err error) {
	for i, r := range recs {
		if err := checkRecord(r); err != nil {
			return nil, nil, fmt.Errorf("storage: record %d (%s): %w", i, r.Message.ID, err)
		}
	}
	added, refused = make([]bool, len(recs)), make([]bool, len(recs))
	err = db.submit(len(recs), func(w *wtxn, i int) error {
		ok, no, err := putRecord(w, recs[i], quota)
		added[i], refused[i] = ok, no
		if err != nil {
			return fmt.Errorf("storage: put record %s: %w", recs[i].Message.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i, r := range recs {
		if added[i] && r.QueueTo != "" {
			db.queuedEnvelopes.put(r.Message.ID, r.Envelope)
		}
	}
	return added, refused, nil
}

func checkRecord(r Record) error {
	m := r.Message
	switch {
	case len(r.Envelope) == 0:
		return fmt.Errorf("%w: no envelope bytes", parley.ErrMalformed)
	case m.Kind == "":
		return fmt.Errorf("%w: no message kind", parley.ErrMalformed)
	case !validStatus(m.Status):
		return fmt.Errorf("%w: status %d", parley.ErrMalformed, m.Status)
	case r.SenderKey != nil && (len(r.SenderKey.ID) == 0 || len(r.SenderKey.Key) == 0):
		return fmt.Errorf("%w: empty sender key", parley.ErrMalformed)
	case r.ReceivedBy != "" && checkPeer(r.ReceivedBy) != nil:
		return checkPeer(r.ReceivedBy)
	case r.SenderKey != nil:
		return checkPeer(m.From)
	case r.QueueTo != "":
		return checkPeer(r.QueueTo)
	}
	return nil
}

// putRecord stores one record unless it is stored already (added false) or
// quota, when set, refuses it (refused true).
func putRecord(w *wtxn, r Record, quota *strangerQuota) (added, refused bool, err error) {
	m := r.Message
	txn := w.txn
	if !r.Sealed {
		if ok, err := exists(txn, envelopeKey(m.ID)); err != nil || ok {
			return false, false, err
		}
		if ok, err := exists(txn, tombstoneKey(m.ID)); err != nil || ok {
			return false, false, err // deleted: a copy arriving again is not stored (convo.go)
		}
	}
	if !r.ClientID.IsZero() {
		// A send retried under the same idempotency key: the first one
		// stored is the message (MessageByClientID).
		if ok, err := exists(txn, clientIDKey(r.ClientID)); err != nil || ok {
			return false, false, err
		}
	}
	if quota != nil {
		if ok, err := quota.admit(txn, r); err != nil || !ok {
			return false, err == nil, err
		}
	}
	if k := r.SenderKey; k != nil {
		if err := txn.Set(peerKeyKey(m.From, k.ID), k.Key); err != nil {
			return false, false, err
		}
	}
	ok, err := storeRecord(w, r)
	return ok, false, err
}

// storeRecord writes a new record and everything that goes with it.
func storeRecord(w *wtxn, r Record) (bool, error) {
	m := r.Message
	txn := w.txn
	if !r.ClientID.IsZero() {
		if err := txn.Set(clientIDKey(r.ClientID), m.ID[:]); err != nil {
			return false, err
		}
	}
	if err := txn.Set(envelopeKey(m.ID), r.Envelope); err != nil {
		return false, err
	}
	if err := txn.Set(recordKey(m.ID), encodeMessage(m)); err != nil {
		return false, err
	}
	if r.Group {
		if err := txn.Set(syncIndexKey(m.Conversation, m.HLC, m.ID), encodeSyncKeyID(r.KeyID)); err != nil {
			return false, err
		}
		if m.Kind == parley.KindGroupOp {
			if err := txn.Set(opIndexKey(m), nil); err != nil {
				return false, err
			}
		}
		if m.Outgoing && m.Status == parley.StatusQueued && displayed(m) {
			if err := txn.Set(pendingGroupKey(m.Conversation, m.ID), encodeSyncKeyID(r.KeyID)); err != nil {
				return false, err
			}
		}
	}
	if m.Kind.Annotates() && m.Target != nil {
		if err := txn.Set(annotationKey(m), nil); err != nil {
			return false, err
		}
	}
	if r.ReceivedBy != "" && !m.Outgoing {
		at := parley.NewHLC(time.Now(), 0)
		if err := noteReceipts(txn, m.Conversation, r.ReceivedBy, []parley.EnvelopeID{m.ID}, nil, at); err != nil {
			return false, err
		}
	}
	if m.Kind == parley.KindGroupReceipt && r.Group && m.Receipted != nil {
		if err := noteReceipts(txn, m.Conversation, m.From, m.Receipted.Delivered, m.Receipted.Read, m.HLC); err != nil {
			return false, err
		}
	}
	if m.Kind == parley.KindTimer && w.timerConvs != nil {
		w.timerConvs.Store(m.Conversation, struct{}{}) // before the commit: Timers must look from then on
	}
	if err := indexTimer(txn, m); err != nil {
		return false, err
	}
	// A hidden message (a blocked member's) is not found by search either.
	if !w.noSearchIndex && !r.Hidden {
		if err := indexRecord(txn, m, true); err != nil {
			return false, err
		}
	}
	if displayed(m) && !r.Hidden {
		if err := txn.Set(displayKey(prefixMessages, m), nil); err != nil {
			return false, err
		}
		if isUnread(m) {
			if err := txn.Set(displayKey(prefixUnread, m), nil); err != nil {
				return false, err
			}
		}
		if err := bumpConversation(txn, m, r.Group); err != nil {
			return false, err
		}
	}
	if r.QueueTo != "" {
		if err := w.enqueue(r.QueueTo, m.ID); err != nil {
			return false, err
		}
	}
	for _, id := range r.MarkRead {
		if _, _, err := advance(txn, id, parley.StatusRead, true); err != nil {
			return false, err
		}
	}
	return true, nil
}

// isUnread: an incoming text message its user has not seen. These are the
// messages under u/ and counted in Conversation.Unread.
func isUnread(m parley.Message) bool {
	return !m.Outgoing && displayed(m) && m.Kind != parley.KindTimer && m.Status < parley.StatusRead
}

// displayed: a message the user sees in the conversation (a text, a file,
// a mailbox offer, or a timer set, as an event); the other kinds are
// stored for idempotency only.
func displayed(m parley.Message) bool {
	return m.Kind == parley.KindText || m.Kind == parley.KindFile || m.Kind == parley.KindMailboxOffer || m.Kind == parley.KindTimer
}

// bumpConversation upserts the conversation of a new text message.
func bumpConversation(txn *badger.Txn, m parley.Message, group bool) error {
	c, err := getConversation(txn, m.Conversation)
	if errors.Is(err, parley.ErrNotFound) {
		c = parley.Conversation{ID: m.Conversation, Kind: parley.ConversationDM}
		if group {
			c.Kind = parley.ConversationGroup
		}
	} else if err != nil {
		return err
	}
	if c.Kind == parley.ConversationDM && c.Peer == "" {
		c.Peer = m.From
		if m.Outgoing {
			c.Peer = m.To
		}
	}
	c.LastHLC = max(c.LastHLC, m.HLC)
	if isUnread(m) {
		c.Unread++
	}
	return txn.Set(conversationKey(c.ID), encodeConversation(c))
}

// statusAdvances says whether a message may move from one status to another:
// only forward along Queued < Sent < Stored < Delivered < Read
// (parley.Status.Rank), and to Failed only from Queued, Sent or Stored (a
// peer that refuses a message directly refuses the mailbox's copy too).
// Failed is final.
func statusAdvances(from, to parley.Status) bool {
	switch {
	case to == parley.StatusFailed:
		return from == parley.StatusQueued || from == parley.StatusSent || from == parley.StatusStored
	case from == parley.StatusFailed:
		return false
	}
	return to.Rank() > from.Rank()
}

// advance moves one message's status forward, keeping the unread index and
// count in step. Unknown IDs, and outgoing ones when incomingOnly, are left
// alone. It returns the message and whether it changed.
func advance(txn *badger.Txn, id parley.EnvelopeID, to parley.Status, incomingOnly bool) (parley.Message, bool, error) {
	m, err := getMessage(txn, id)
	if errors.Is(err, parley.ErrNotFound) {
		return m, false, nil
	}
	if err != nil || !statusAdvances(m.Status, to) || incomingOnly && m.Outgoing {
		return m, false, err
	}
	wasUnread := isUnread(m)
	// Only group records have a pending mark; a DM (To set) is not looked
	// for, since a key that is not there costs a read through every level.
	if m.Outgoing && m.Status == parley.StatusQueued && m.To == "" {
		pending := pendingGroupKey(m.Conversation, id)
		if ok, err := exists(txn, pending); err != nil {
			return m, false, err
		} else if ok {
			if err := txn.Delete(pending); err != nil {
				return m, false, err
			}
		}
	}
	m.Status = to
	if err := txn.Set(recordKey(id), encodeMessage(m)); err != nil {
		return m, false, err
	}
	if wasUnread && !isUnread(m) {
		if err := txn.Delete(displayKey(prefixUnread, m)); err != nil {
			return m, false, err
		}
		c, err := getConversation(txn, m.Conversation)
		if err != nil {
			return m, false, notFoundIsMalformed(err)
		}
		c.Unread = max(c.Unread-1, 0)
		if err := txn.Set(conversationKey(c.ID), encodeConversation(c)); err != nil {
			return m, false, err
		}
	}
	return m, true, nil
}

// AdvanceStatus sets the status of the given messages where that moves it
// forward (see statusAdvances) and returns the messages that changed, with
// their new status, in the order of ids. Unknown IDs are ignored. Marking an
// incoming message read takes it off its conversation's unread count. The
// result includes receipt-kind records (whose status tracks their own
// delivery); callers that show status filter on Kind.
func (db *DB) AdvanceStatus(ids []parley.EnvelopeID, s parley.Status) ([]parley.Message, error) {
	if !validStatus(s) {
		return nil, fmt.Errorf("storage: advance status: %w: status %d", parley.ErrMalformed, s)
	}
	changed := make([]*parley.Message, len(ids))
	err := db.submit(len(ids), func(w *wtxn, i int) error {
		m, ok, err := advance(w.txn, ids[i], s, false)
		changed[i] = nil
		if ok {
			changed[i] = &m
		}
		if err != nil {
			return fmt.Errorf("storage: advance %s to %s: %w", ids[i], s, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return compact(changed), nil
}

func compact(ms []*parley.Message) []parley.Message {
	var out []parley.Message
	for _, m := range ms {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// HasEnvelope reports whether an envelope is stored, or was and was
// deleted (so it needs no fetching again).
func (db *DB) HasEnvelope(id parley.EnvelopeID) (bool, error) {
	var ok bool
	err := db.view(func(txn *badger.Txn) (err error) {
		if ok, err = exists(txn, envelopeKey(id)); err != nil || ok {
			return err
		}
		ok, err = exists(txn, tombstoneKey(id))
		return err
	})
	return ok, err
}

// Envelope returns the stored bytes of an envelope, or parley.ErrNotFound.
func (db *DB) Envelope(id parley.EnvelopeID) ([]byte, error) {
	var b []byte
	err := db.view(func(txn *badger.Txn) (err error) {
		b, err = getValue(txn, envelopeKey(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: envelope %s: %w", id, err)
	}
	return b, nil
}

// Message returns a stored message of any kind, or parley.ErrNotFound.
func (db *DB) Message(id parley.EnvelopeID) (parley.Message, error) {
	var m parley.Message
	err := db.view(func(txn *badger.Txn) (err error) {
		m, err = getMessage(txn, id)
		return err
	})
	return m, err
}

func getMessage(txn *badger.Txn, id parley.EnvelopeID) (parley.Message, error) {
	b, err := getValue(txn, recordKey(id))
	if errors.Is(err, parley.ErrNotFound) {
		b, err = deletedRecord(txn, id, err)
	}
	if err != nil {
		return parley.Message{}, fmt.Errorf("storage: message %s: %w", id, err)
	}
	m, err := decodeMessage(b)
	if err != nil {
		return parley.Message{}, fmt.Errorf("storage: message %s: %w", id, err)
	}
	return withSettled(txn, m), nil
}

// Messages returns the text messages of a conversation in display order
// (HLC, then envelope ID): the newest limit of them, or all when limit <= 0.
// It is MessagePage with no cursor.
func (db *DB) Messages(conv parley.ConversationID, limit int) ([]parley.Message, error) {
	return db.MessagePage(conv, Page{Limit: max(limit, 0)})
}

// Unread returns the incoming text messages of a conversation whose status
// is below StatusRead, in display order.
func (db *DB) Unread(conv parley.ConversationID) ([]parley.Message, error) {
	return db.listDisplay(prefixUnread, conv, Page{})
}

// notFoundIsMalformed reports a dangling index entry as corruption rather
// than as "not found", which callers would read as an empty result.
func notFoundIsMalformed(err error) error {
	if errors.Is(err, parley.ErrNotFound) {
		return fmt.Errorf("%w: %v", errIndexWithoutRecord, err)
	}
	return err
}

// errIndexWithoutRecord is an index entry whose record is missing.
var errIndexWithoutRecord = fmt.Errorf("%w: index entry without a record", parley.ErrMalformed)

// viewAfterPurges is view for reads that follow index entries to records.
// A purge deletes its index entries in a transaction, then drops the
// record with badger's DropPrefix, which removes every version at once:
// a snapshot taken before the purge committed, still reading after the
// drop, finds the entry and not the record. Read again then, from a new
// snapshot, which sees the purge; a record still missing is corruption.
// fn must start from scratch each time it runs.
func (db *DB) viewAfterPurges(fn func(txn *badger.Txn) error) error {
	err := db.view(fn)
	if errors.Is(err, errIndexWithoutRecord) || errors.Is(err, parley.ErrNotFound) {
		err = db.view(fn)
	}
	return err
}

// Conversation returns one conversation, or parley.ErrNotFound.
func (db *DB) Conversation(id parley.ConversationID) (parley.Conversation, error) {
	var c parley.Conversation
	err := db.view(func(txn *badger.Txn) (err error) {
		c, err = getConversation(txn, id)
		return err
	})
	return c, err
}

func getConversation(txn *badger.Txn, id parley.ConversationID) (parley.Conversation, error) {
	b, err := getValue(txn, conversationKey(id))
	if err != nil {
		return parley.Conversation{}, fmt.Errorf("storage: conversation %s: %w", id, err)
	}
	c, err := decodeConversation(b)
	if err != nil {
		return parley.Conversation{}, fmt.Errorf("storage: conversation %s: %w", id, err)
	}
	return c, nil
}

// Conversations lists every conversation, newest LastHLC first.
func (db *DB) Conversations() ([]parley.Conversation, error) {
	var out []parley.Conversation
	err := db.view(func(txn *badger.Txn) error {
		err := scan(txn, prefixConversation, func(_, v []byte) error {
			c, err := decodeConversation(v)
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
		if err != nil {
			return err
		}
		// A group's name lives with the group, which renames change.
		for i, c := range out {
			if c.Kind != parley.ConversationGroup {
				continue
			}
			var g Group
			found, err := readKeyed(txn, groupKey(c.ID), groupCodec, &g)
			if err != nil {
				return err
			}
			if found {
				out[i].Name = g.Name
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list conversations: %w", err)
	}
	slices.SortFunc(out, func(a, b parley.Conversation) int {
		return cmp.Or(cmp.Compare(b.LastHLC, a.LastHLC), bytes.Compare(a.ID[:], b.ID[:]))
	})
	return out, nil
}

// scan calls fn with every key and value under a prefix, in key order. The
// slices are valid only during the call.
func scan(txn *badger.Txn, prefix string, fn func(k, v []byte) error) error {
	p := []byte(prefix)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	for it.Seek(p); it.ValidForPrefix(p); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error { return fn(item.Key(), v) })
		if err != nil {
			return err
		}
	}
	return nil
}
