package storage

import (
	"encoding/binary"
	"fmt"
	"strings"

	parley "github.com/parley-im/parley"
)

// Key prefixes. doc.go lists the layout with each key's value. Prefixes are
// short because every key is repeated in the LSM tree and its index.
const (
	keySchema    = "meta/schema"     // schema version, 8 bytes big-endian
	keyOutboxSeq = "meta/outbox-seq" // next outbox sequence number, 8 bytes big-endian
	keyStrangers = "meta/strangers"  // what all strangers' records take: usage

	keyMailboxAccounts = "meta/mailbox-accounts" // how many owners this node is a mailbox for, 8 bytes big-endian

	prefixContact      = "c/"  // c/<peer> → contact
	prefixEnvelope     = "e/"  // e/<id> → envelope bytes
	prefixRecord       = "r/"  // r/<id> → message record
	prefixMessages     = "m/"  // m/<conv><hlc><id> → empty: text messages in display order
	prefixUnread       = "u/"  // u/<conv><hlc><id> → empty: unread incoming text
	prefixConversation = "v/"  // v/<conv> → conversation
	prefixOutbox       = "o/"  // o/<peer>\x00<seq> → envelope ID
	prefixOutboxIndex  = "q/"  // q/<peer>\x00<id> → seq, to find an entry by ID
	prefixPeerKey      = "k/"  // k/<peer>\x00<key ID> → key
	prefixGroup        = "g/"  // g/<conv> → group (JSON)
	prefixGroupKey     = "gk/" // gk/<conv><key ID> → key(32) hlc(8)
	prefixGroupOps     = "go/" // go/<conv><hlc><id> → empty: group ops in order
	prefixSync         = "a/"  // a/<conv><hlc><id> → key ID: every envelope of a group, for sync
	prefixFile         = "f/"  // f/<file ID> → file record (JSON)
	prefixStranger     = "s/"  // s/<peer> → what this stranger's records take: usage
	prefixClientID     = "i/"  // i/<client ID> → envelope ID: the message a send's idempotency key stored
	prefixPendingGroup = "p/"  // p/<conv><id> → key ID: our group message no member is known to hold yet
	prefixGrant        = "mg/" // mg/<peer> → a contact's latest mailbox grant (JSON)
	prefixDeposited    = "od/" // od/<peer>\x00<id> → empty: this outbox entry is held by a mailbox of peer
	prefixQueuedWhy    = "oy/" // oy/<id> → text: why this outbox entry, in no mailbox, is still queued (outbox_reason.go)

	// Edits, deletes and reactions (convo.go): prefixAnnotation "cv/t/",
	// prefixTombstone "cv/x/".
	// Receipts per recipient (group_receipts.go): prefixReceipts "gcr/".
	// Disappearing messages (timer.go): prefixTimer "tmc/", prefixExpiry "tme/".
	// Group-scoped mailbox grants (group_grants.go).
	prefixGroupGrant     = "ggr/" // ggr/<conv><member>\x00<hlc><id> → a member's grant to the group (JSON)
	prefixGroupDeposited = "ggd/" // ggd/<id><owner>\x00<mailbox> → empty, with a TTL: we deposited this group envelope there

	// Mail this node holds as a mailbox for others (mailbox.go).
	prefixMailboxAccount = "xa/" // xa/<owner> → mailbox account
	prefixMail           = "xm/" // xm/<owner><seq> → stored-at(8) envelope
	prefixMailIndex      = "xi/" // xi/<owner><id> → seq, or a tombstone (with a TTL) once acked
)

// peerSep ends a peer ID inside a key. Peer IDs are base58 or base32 text,
// so they never contain it, and checkPeer makes sure of that.
const peerSep = 0x00

// displayKeyLen is the part of an m/ or u/ key after the prefix: conversation,
// HLC, envelope ID. Big-endian HLC makes byte order equal display order.
const displayKeyLen = 32 + 8 + 32

func checkPeer(peer string) error {
	if peer == "" || strings.IndexByte(peer, peerSep) >= 0 {
		return fmt.Errorf("%w: peer ID %q", parley.ErrMalformed, peer)
	}
	return nil
}

func key(prefix string, parts ...[]byte) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, prefix...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func contactKey(peer string) []byte           { return key(prefixContact, []byte(peer)) }
func strangerKey(peer string) []byte          { return key(prefixStranger, []byte(peer)) }
func envelopeKey(id parley.EnvelopeID) []byte { return key(prefixEnvelope, id[:]) }
func recordKey(id parley.EnvelopeID) []byte   { return key(prefixRecord, id[:]) }

func conversationKey(id parley.ConversationID) []byte {
	return key(prefixConversation, id[:])
}

func displayPrefix(prefix string, conv parley.ConversationID) []byte {
	return key(prefix, conv[:])
}

func displayKey(prefix string, m parley.Message) []byte {
	return displayKeyAt(prefix, m.Conversation, m.HLC, m.ID)
}

func displayKeyAt(prefix string, conv parley.ConversationID, hlc parley.HLC, id parley.EnvelopeID) []byte {
	return key(prefix, conv[:], binary.BigEndian.AppendUint64(nil, uint64(hlc)), id[:])
}

// displayKeyID reads the envelope ID at the end of an m/, u/ or go/ key.
func displayKeyID(prefix string, k []byte) (parley.EnvelopeID, error) {
	if len(k) != len(prefix)+displayKeyLen {
		return parley.EnvelopeID{}, fmt.Errorf("%w: index key of %d bytes", parley.ErrMalformed, len(k))
	}
	return parley.EnvelopeIDFromBytes(k[len(k)-32:])
}

func clientIDKey(id parley.ClientID) []byte { return key(prefixClientID, id[:]) }

func pendingGroupKey(conv parley.ConversationID, id parley.EnvelopeID) []byte {
	return key(prefixPendingGroup, conv[:], id[:])
}

func peerPrefix(prefix, peer string) []byte {
	return append(key(prefix, []byte(peer)), peerSep)
}

func outboxKey(peer string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(peerPrefix(prefixOutbox, peer), seq)
}

func outboxIndexKey(peer string, id parley.EnvelopeID) []byte {
	return append(peerPrefix(prefixOutboxIndex, peer), id[:]...)
}

// outboxKeyPeer reads the peer ID out of an o/ key.
func outboxKeyPeer(k []byte) (string, error) {
	rest := k[len(prefixOutbox):]
	i := strings.IndexByte(string(rest), peerSep)
	if i <= 0 || len(rest) != i+1+8 {
		return "", fmt.Errorf("%w: outbox key %q", parley.ErrMalformed, k)
	}
	return string(rest[:i]), nil
}

func peerKeyKey(peer string, keyID []byte) []byte {
	return append(peerPrefix(prefixPeerKey, peer), keyID...)
}

func mailboxAccountKey(owner MailboxOwner) []byte { return key(prefixMailboxAccount, owner[:]) }
func mailPrefix(owner MailboxOwner) []byte        { return key(prefixMail, owner[:]) }

func mailKey(owner MailboxOwner, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(mailPrefix(owner), seq)
}

func mailIndexKey(owner MailboxOwner, id parley.EnvelopeID) []byte {
	return key(prefixMailIndex, owner[:], id[:])
}

// mailKeySeq reads the sequence number at the end of an xm/ key.
func mailKeySeq(k []byte) (uint64, error) {
	if len(k) != len(prefixMail)+32+8 {
		return 0, fmt.Errorf("%w: mail key of %d bytes", parley.ErrMalformed, len(k))
	}
	return binary.BigEndian.Uint64(k[len(k)-8:]), nil
}
