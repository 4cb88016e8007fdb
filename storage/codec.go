package storage

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	parley "github.com/parley-im/parley"
)

// Every stored value is encoded and decoded here and nowhere else, and the
// golden files under testdata/golden pin each format (golden_test.go).
//
// Message records and conversations are written on every message, so they
// use a compact binary form that starts with a format byte (formatV1); a
// later format gets a new byte and a migration. Contacts, groups and file
// records change rarely and gain fields, so they are JSON, written through
// the stored* structs below and never through a domain type: the root
// package's types carry no format, and renaming one of their fields
// changes nothing on disk. Group keys, index values and counters are fixed
// binary layouts.
//
// Decoders never trust their input: anything short, oversized, out of range
// or followed by extra bytes is an error wrapping parley.ErrMalformed.

const formatV1 = 1

// Message record flags.
const (
	flagOutgoing = 1 << iota
	flagReplyTo
	flagFileID // a file ID (uvarint length and text) follows the text
	flagTarget // a target (32) follows the reply-to: an edit, delete or reaction
	flagEmoji  // an emoji (uvarint length and text) follows the file ID
	flagRemove // a reaction withdrawn
	flagDeleted
	flagTimer  // a disappearing-messages timer (uvarint seconds) follows the emoji
	flagsKnown = flagOutgoing | flagReplyTo | flagFileID | flagTarget | flagEmoji | flagRemove | flagDeleted | flagTimer
)

// encodeMessage lays a message out as:
//
//	format(1) flags(1) status(1) hlc(8) id(32) conversation(32) [reply-to(32)]
//	[target(32)] from, to, kind, text: each a uvarint length and the bytes
//	[file ID: a uvarint length and the bytes] [emoji: the same]
//	[timer: uvarint seconds]
//
// The optional parts appear when their flag is set, so records written
// before they existed decode unchanged.
func encodeMessage(m parley.Message) []byte {
	b := make([]byte, 0, 3+8+64+32+4*2+len(m.From)+len(m.To)+len(m.Kind)+len(m.Text))
	var flags byte
	if m.Outgoing {
		flags |= flagOutgoing
	}
	if m.ReplyTo != nil {
		flags |= flagReplyTo
	}
	if m.FileID != "" {
		flags |= flagFileID
	}
	if m.Target != nil {
		flags |= flagTarget
	}
	if m.Emoji != "" {
		flags |= flagEmoji
	}
	if m.Remove {
		flags |= flagRemove
	}
	if m.Deleted {
		flags |= flagDeleted
	}
	if m.Timer != 0 {
		flags |= flagTimer
	}
	b = append(b, formatV1, flags, byte(m.Status))
	b = binary.BigEndian.AppendUint64(b, uint64(m.HLC))
	b = append(b, m.ID[:]...)
	b = append(b, m.Conversation[:]...)
	if m.ReplyTo != nil {
		b = append(b, m.ReplyTo[:]...)
	}
	if m.Target != nil {
		b = append(b, m.Target[:]...)
	}
	for _, s := range []string{m.From, m.To, string(m.Kind), m.Text} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if m.FileID != "" {
		b = binary.AppendUvarint(b, uint64(len(m.FileID)))
		b = append(b, m.FileID...)
	}
	if m.Emoji != "" {
		b = binary.AppendUvarint(b, uint64(len(m.Emoji)))
		b = append(b, m.Emoji...)
	}
	if m.Timer != 0 {
		b = binary.AppendUvarint(b, uint64(m.Timer))
	}
	return b
}

func decodeMessage(b []byte) (parley.Message, error) {
	var m parley.Message
	r := reader{b: b}
	if f := r.byte(); r.err == nil && f != formatV1 {
		return m, malformed("message record", fmt.Errorf("unknown format %d", f))
	}
	flags := r.byte()
	status := parley.Status(r.byte())
	m.HLC = parley.HLC(r.uint64())
	copy(m.ID[:], r.bytes(32))
	copy(m.Conversation[:], r.bytes(32))
	if flags&flagReplyTo != 0 {
		var id parley.EnvelopeID
		copy(id[:], r.bytes(32))
		m.ReplyTo = &id
	}
	if flags&flagTarget != 0 {
		var id parley.EnvelopeID
		copy(id[:], r.bytes(32))
		m.Target = &id
	}
	m.From = r.string()
	m.To = r.string()
	m.Kind = parley.Kind(r.string())
	m.Text = r.string()
	if flags&flagFileID != 0 {
		m.FileID = r.string()
	}
	if flags&flagEmoji != 0 {
		m.Emoji = r.string()
	}
	if flags&flagTimer != 0 {
		t := r.uvarint()
		if r.err == nil && (t == 0 || t > math.MaxUint32) {
			r.err = fmt.Errorf("timer %d", t)
		}
		m.Timer = uint32(t)
	}
	r.end()
	switch {
	case r.err != nil:
		return parley.Message{}, malformed("message record", r.err)
	case flags&^flagsKnown != 0:
		return parley.Message{}, malformed("message record", fmt.Errorf("unknown flags %#x", flags))
	case !validStatus(status):
		return parley.Message{}, malformed("message record", fmt.Errorf("status %d", status))
	}
	m.Outgoing = flags&flagOutgoing != 0
	m.Remove = flags&flagRemove != 0
	m.Deleted = flags&flagDeleted != 0
	m.Status = status
	return m, nil
}

// encodeConversation lays a conversation out as:
//
//	format(1) id(32) last-hlc(8) unread(uvarint) kind, peer: uvarint length and bytes
func encodeConversation(c parley.Conversation) []byte {
	b := make([]byte, 0, 1+32+8+binary.MaxVarintLen64+2+len(c.Kind)+len(c.Peer))
	b = append(b, formatV1)
	b = append(b, c.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.LastHLC))
	b = binary.AppendUvarint(b, uint64(max(c.Unread, 0)))
	for _, s := range []string{string(c.Kind), c.Peer} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func decodeConversation(b []byte) (parley.Conversation, error) {
	var c parley.Conversation
	r := reader{b: b}
	if f := r.byte(); r.err == nil && f != formatV1 {
		return c, malformed("conversation", fmt.Errorf("unknown format %d", f))
	}
	copy(c.ID[:], r.bytes(32))
	c.LastHLC = parley.HLC(r.uint64())
	unread := r.uvarint()
	c.Kind = parley.ConversationKind(r.string())
	c.Peer = r.string()
	r.end()
	if r.err == nil && unread > 1<<31 {
		r.err = fmt.Errorf("unread count %d", unread)
	}
	if r.err != nil {
		return parley.Conversation{}, malformed("conversation", r.err)
	}
	c.Unread = int(unread)
	return c, nil
}

// Contacts, groups and file records are JSON, through the stored* structs
// below: their field names and types are the stored format, so they stay
// as they are (the golden files pin them) whatever the domain types become.
// Field order matters too: it is the order of the bytes.

// storedContact is the c/ record. The fields after AddedAt came with card
// updates; a record written before them reads as a contact with no local
// name, no mailboxes and no card update applied.
type storedContact struct {
	PeerID    string          `json:"peer_id"`
	Name      string          `json:"name"`
	HPKEKey   []byte          `json:"hpke_key,omitempty"`
	Addrs     []string        `json:"addrs,omitempty"`
	State     string          `json:"state"`
	AddedAt   time.Time       `json:"added_at"`
	LocalName bool            `json:"local_name,omitempty"`
	Mailboxes []storedMailbox `json:"mailboxes,omitempty"`
	CardHLC   uint64          `json:"card_hlc,omitempty"`
	// Verification came later still: an older record reads as unverified.
	Verified    bool `json:"verified,omitempty"`
	KeysChanged bool `json:"keys_changed,omitempty"`
}

// storedMailbox is one of a contact's mailboxes in a c/ record.
type storedMailbox struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs,omitempty"`
}

func encodeContact(c parley.Contact) ([]byte, error) {
	s := storedContact{
		PeerID: c.PeerID, Name: c.Name, HPKEKey: c.HPKEKey, Addrs: c.Addrs,
		State: string(c.State), AddedAt: c.AddedAt, LocalName: c.LocalName, CardHLC: uint64(c.CardHLC),
		Verified: c.Verified, KeysChanged: c.KeysChanged,
	}
	for _, mb := range c.Mailboxes {
		s.Mailboxes = append(s.Mailboxes, storedMailbox{PeerID: mb.PeerID, Addrs: mb.Addrs})
	}
	return encodeJSON("contact "+c.PeerID, s)
}

func decodeContact(b []byte) (parley.Contact, error) {
	s, err := decodeJSON[storedContact]("contact", b)
	c := parley.Contact{
		PeerID: s.PeerID, Name: s.Name, HPKEKey: s.HPKEKey, Addrs: s.Addrs,
		State: parley.ContactState(s.State), AddedAt: s.AddedAt, LocalName: s.LocalName, CardHLC: parley.HLC(s.CardHLC),
		Verified: s.Verified, KeysChanged: s.KeysChanged,
	}
	for _, mb := range s.Mailboxes {
		c.Mailboxes = append(c.Mailboxes, parley.Mailbox{PeerID: mb.PeerID, Addrs: mb.Addrs})
	}
	return c, err
}

// storedFile is the f/ record: the fields of the offer and transfer
// (once parley.File's), then the store's own.
type storedFile struct {
	ID           string `json:"id"` // hex
	Conversation hexID  `json:"conversation"`
	Message      hexID  `json:"message"`
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	MediaType    string `json:"media_type,omitempty"`
	From         string `json:"from"`
	Outgoing     bool   `json:"outgoing"`
	State        string `json:"state"`
	BytesDone    int64  `json:"bytes_done"`
	Path         string `json:"path,omitempty"`
	Error        string `json:"error,omitempty"`
	ServedBytes  int64  `json:"served_bytes,omitempty"`

	ChunkSize   uint32 `json:"chunk_size"`
	ChunkHashes []byte `json:"chunk_hashes"`
	Root        []byte `json:"root"`
	Key         []byte `json:"key"`
	Accepted    bool   `json:"accepted,omitempty"`
	PathModTime int64  `json:"path_mod_time,omitempty"`
}

func encodeFile(f FileRecord) ([]byte, error) {
	return encodeJSON("file "+f.ID, storedFile{
		ID: f.ID, Conversation: hexID(f.Conversation), Message: hexID(f.Message),
		Name: f.Name, Size: f.Size, MediaType: f.MediaType, From: f.From, Outgoing: f.Outgoing,
		State: string(f.State), BytesDone: f.BytesDone, Path: f.Path, Error: f.Error, ServedBytes: f.ServedBytes,
		ChunkSize: f.ChunkSize, ChunkHashes: f.ChunkHashes, Root: f.Root, Key: f.Key,
		Accepted: f.Accepted, PathModTime: f.PathModTime,
	})
}

func decodeFile(b []byte) (FileRecord, error) {
	s, err := decodeJSON[storedFile]("file", b)
	return FileRecord{
		File: parley.File{
			ID: s.ID, Conversation: parley.ConversationID(s.Conversation), Message: parley.EnvelopeID(s.Message),
			Name: s.Name, Size: s.Size, MediaType: s.MediaType, From: s.From, Outgoing: s.Outgoing,
			State: parley.FileState(s.State), BytesDone: s.BytesDone, Path: s.Path, Error: s.Error, ServedBytes: s.ServedBytes,
		},
		ChunkSize: s.ChunkSize, ChunkHashes: s.ChunkHashes, Root: s.Root, Key: s.Key,
		Accepted: s.Accepted, PathModTime: s.PathModTime,
	}, err
}

// storedGroup is the g/ record.
type storedGroup struct {
	ID          hexID    `json:"id"`
	Name        string   `json:"name"`
	State       string   `json:"state"`
	InvitedBy   string   `json:"invited_by,omitempty"`
	MemberHints []string `json:"member_hints,omitempty"`
	// Added with the history setting; absent in older records.
	InviteHistory string    `json:"invite_history,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func encodeGroup(g Group) ([]byte, error) {
	return encodeJSON("group "+g.ID.String(), storedGroup{
		ID: hexID(g.ID), Name: g.Name, State: string(g.State),
		InvitedBy: g.InvitedBy, MemberHints: g.MemberHints, InviteHistory: string(g.InviteHistory), UpdatedAt: g.UpdatedAt,
	})
}

func decodeGroup(b []byte) (Group, error) {
	s, err := decodeJSON[storedGroup]("group", b)
	return Group{
		ID: parley.ConversationID(s.ID), Name: s.Name, State: parley.GroupState(s.State),
		InvitedBy: s.InvitedBy, MemberHints: s.MemberHints, InviteHistory: parley.GroupHistory(s.InviteHistory), UpdatedAt: s.UpdatedAt,
	}, err
}

var (
	fileCodec  = valueCodec[FileRecord]{encode: encodeFile, decode: decodeFile}
	groupCodec = valueCodec[Group]{encode: encodeGroup, decode: decodeGroup}
)

func encodeJSON[S any](what string, s S) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("storage: encode %s: %w", what, err)
	}
	return b, nil
}

// decodeJSON returns the zero S with any error, so decoders convert
// without checking first.
func decodeJSON[S any](what string, b []byte) (S, error) {
	var s S
	if err := json.Unmarshal(b, &s); err != nil {
		var zero S
		return zero, malformed(what, err)
	}
	return s, nil
}

// hexID is a conversation or envelope ID in a JSON record: 64 hex digits,
// written in lower case.
type hexID [32]byte

func (id hexID) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, id[:]), nil }

func (id *hexID) UnmarshalText(b []byte) error {
	if len(b) != 2*len(id) {
		return fmt.Errorf("ID of %d hex digits, want %d", len(b), 2*len(id))
	}
	_, err := hex.Decode(id[:], b)
	return err
}

// encodeGroupKey lays out the value of a gk/ key (its key holds the ID):
//
//	key(32) hlc(8)
func encodeGroupKey(k GroupKey) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 32+8), k.Key[:]...), uint64(k.HLC))
}

func decodeGroupKey(id [16]byte, v []byte) (GroupKey, error) {
	if len(v) != 32+8 {
		return GroupKey{}, malformed("group key", fmt.Errorf("%d-byte value, want 40", len(v)))
	}
	return GroupKey{ID: id, Key: [32]byte(v[:32]), HLC: parley.HLC(binary.BigEndian.Uint64(v[32:]))}, nil
}

// The value of an a/ (sync index) key is the 16-byte ID of the group key
// that sealed the envelope.
func encodeSyncKeyID(keyID [16]byte) []byte { return keyID[:] }

func decodeSyncKeyID(v []byte) ([16]byte, error) {
	if len(v) != 16 {
		return [16]byte{}, malformed("sync index value", fmt.Errorf("%d bytes", len(v)))
	}
	return [16]byte(v), nil
}

// The value of an o/ (outbox) key is the 32-byte envelope ID waiting.
func encodeOutboxEntry(id parley.EnvelopeID) []byte { return id[:] }

func decodeOutboxEntry(v []byte) (parley.EnvelopeID, error) {
	id, err := parley.EnvelopeIDFromBytes(v)
	if err != nil {
		return parley.EnvelopeID{}, malformed("outbox entry", err)
	}
	return id, nil
}

// encodeMailboxAccount lays out an xa/ value:
//
//	format(1) owner(32) issued-at(8) expires-at(8) deposit-key(32)
//	count(8) bytes(8) next-seq(8)
//	owner-key: uvarint length and bytes
//	revoked: uvarint count, then 16 bytes each
//
// Times are Unix seconds.
func encodeMailboxAccount(a MailboxAccount) []byte {
	b := make([]byte, 0, 1+32+8+8+32+24+2*binary.MaxVarintLen64+len(a.OwnerKey)+16*len(a.Revoked))
	b = append(b, formatV1)
	b = append(b, a.Owner[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.IssuedAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(a.ExpiresAt.Unix()))
	b = append(b, a.DepositKey[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Count))
	b = binary.BigEndian.AppendUint64(b, uint64(a.Bytes))
	b = binary.BigEndian.AppendUint64(b, a.NextSeq)
	b = binary.AppendUvarint(b, uint64(len(a.OwnerKey)))
	b = append(b, a.OwnerKey...)
	b = binary.AppendUvarint(b, uint64(len(a.Revoked)))
	for _, r := range a.Revoked {
		b = append(b, r[:]...)
	}
	return b
}

// maxRevoked bounds the revoked nonces an account holds (node/mailbox
// refuses registrations with more).
const maxRevoked = 4096

func decodeMailboxAccount(b []byte) (MailboxAccount, error) {
	var a MailboxAccount
	r := reader{b: b}
	if f := r.byte(); r.err == nil && f != formatV1 {
		return a, malformed("mailbox account", fmt.Errorf("unknown format %d", f))
	}
	copy(a.Owner[:], r.bytes(32))
	a.IssuedAt = time.Unix(int64(r.uint64()), 0).UTC()
	a.ExpiresAt = time.Unix(int64(r.uint64()), 0).UTC()
	copy(a.DepositKey[:], r.bytes(32))
	a.Count = int64(r.uint64())
	a.Bytes = int64(r.uint64())
	a.NextSeq = r.uint64()
	a.OwnerKey = []byte(r.string())
	n := r.uvarint()
	if r.err == nil && (n > maxRevoked || n*16 > uint64(len(r.b))) {
		r.err = fmt.Errorf("%d revoked nonces", n)
	}
	if n > 0 && r.err == nil {
		a.Revoked = make([][16]byte, n)
		for i := range a.Revoked {
			copy(a.Revoked[i][:], r.bytes(16))
		}
	}
	r.end()
	if r.err == nil && (a.Count < 0 || a.Bytes < 0) {
		r.err = fmt.Errorf("negative usage %d/%d", a.Count, a.Bytes)
	}
	if r.err != nil {
		return MailboxAccount{}, malformed("mailbox account", r.err)
	}
	return a, nil
}

// encodeMail lays out an xm/ value: stored-at(8, Unix seconds) and the
// envelope's bytes, as deposited.
func encodeMail(at time.Time, env []byte) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(env)), uint64(at.Unix()))
	return append(b, env...)
}

func decodeMail(v []byte) (time.Time, []byte, error) {
	if len(v) < 8+1 {
		return time.Time{}, nil, malformed("mail", fmt.Errorf("%d bytes", len(v)))
	}
	return time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC(), v[8:], nil
}

// tombstone is the xi/ value an acked mail leaves (an index value is
// otherwise 8 bytes): the ID was held and taken; badger drops it at its TTL.
var tombstone = []byte{0xac}

// Counters (meta/schema, meta/outbox-seq, meta/mailbox-accounts, the seq under q/ and xi/) are 8 bytes
// big-endian.
func encodeUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeUint64(what string, b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, malformed(what, fmt.Errorf("%d bytes, want 8", len(b)))
	}
	return binary.BigEndian.Uint64(b), nil
}

func validStatus(s parley.Status) bool { return s >= parley.StatusQueued && s <= parley.StatusStored }

func malformed(what string, err error) error {
	return fmt.Errorf("%w: stored %s: %v", parley.ErrMalformed, what, err)
}

var errShort = errors.New("truncated")

// reader consumes a binary value; the first problem sticks in err and every
// later read returns zero values, so decoders check once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("bad length")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errShort
	}
	return string(r.bytes(int(n)))
}

func (r *reader) end() {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
}
