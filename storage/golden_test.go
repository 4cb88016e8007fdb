package storage

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

// The golden files under testdata/golden pin every stored format: a test
// here failing means data dirs written before the change no longer read
// the same. Change a format only with a new schema version and a migration
// (db.go); then, and only then, rewrite them with
//
//	go test ./storage -run TestGolden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCase is one stored value: encoding value must give the golden
// bytes, and decoding the golden bytes must give value back.
type goldenCase struct {
	file   string // under testdata/golden: .hex for binary, .json for JSON
	value  any
	encode func() ([]byte, error)
	decode func([]byte) (any, error)
}

func golden[T any](file string, v T, enc func(T) ([]byte, error), dec func([]byte) (T, error)) goldenCase {
	return goldenCase{
		file:   file,
		value:  v,
		encode: func() ([]byte, error) { return enc(v) },
		decode: func(b []byte) (any, error) { return dec(b) },
	}
}

func infallible[T any](enc func(T) []byte) func(T) ([]byte, error) {
	return func(v T) ([]byte, error) { return enc(v), nil }
}

func goldenCases() []goldenCase {
	conv := parley.DMConversationID(self, bob)
	id := parley.EnvelopeID{0xe1, 0xe2, 0xe3, 31: 0xef}
	reply := parley.EnvelopeID{0xaa, 31: 0xbb}
	keyID := [16]byte{0x4b, 15: 0x49}
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

	text := parley.Message{
		ID: id, Conversation: conv, From: bob, To: self, Kind: parley.KindText,
		Text: "héllo, world", HLC: 0x0193_a1b2_c3d4_0001, Status: parley.StatusDelivered,
	}
	replyMsg := parley.Message{
		ID: id, Conversation: conv, From: self, To: bob, Outgoing: true, Kind: parley.KindText,
		Text: "a reply", ReplyTo: &reply, HLC: 0x0193_a1b2_c3d4_0002, Status: parley.StatusRead,
	}
	fileMsg := parley.Message{
		ID: id, Conversation: conv, From: self, To: bob, Outgoing: true, Kind: parley.KindFile,
		Text: "notes.txt", ReplyTo: &reply, FileID: "00112233445566778899aabbccddeeff", HLC: 7, Status: parley.StatusFailed,
	}
	groupOp := parley.Message{
		ID: id, Conversation: parley.ConversationID{0x67}, From: carol, Kind: parley.KindGroupOp, HLC: 9, Status: parley.StatusQueued,
	}
	reaction := parley.Message{
		ID: id, Conversation: conv, From: bob, To: self, Kind: parley.KindReaction, Target: &reply,
		Emoji: "👍🏽", Remove: true, HLC: 11, Status: parley.StatusDelivered,
	}
	deleted := parley.Message{
		ID: id, Conversation: conv, From: bob, To: self, Kind: parley.KindText, ReplyTo: &reply,
		Deleted: true, HLC: 12, Status: parley.StatusRead,
	}
	expiring := parley.Message{
		ID: id, Conversation: conv, From: bob, To: self, Kind: parley.KindText,
		Text: "gone in an hour", Timer: 3600, HLC: 13, Status: parley.StatusDelivered,
	}
	timer := parley.Message{
		ID: id, Conversation: conv, From: self, To: bob, Outgoing: true, Kind: parley.KindTimer,
		Timer: 604800, HLC: 14, Status: parley.StatusDelivered,
	}
	decMsg, decConv := decodeMessage, decodeConversation
	return []goldenCase{
		golden("message-text.hex", text, infallible(encodeMessage), decMsg),
		golden("message-reply.hex", replyMsg, infallible(encodeMessage), decMsg),
		golden("message-file.hex", fileMsg, infallible(encodeMessage), decMsg),
		golden("message-group-op.hex", groupOp, infallible(encodeMessage), decMsg),
		golden("message-reaction.hex", reaction, infallible(encodeMessage), decMsg),
		golden("message-deleted.hex", deleted, infallible(encodeMessage), decMsg),
		golden("message-expiring.hex", expiring, infallible(encodeMessage), decMsg),
		golden("message-timer.hex", timer, infallible(encodeMessage), decMsg),

		golden("conversation-dm.hex", parley.Conversation{
			ID: conv, Kind: parley.ConversationDM, Peer: bob, LastHLC: 0x0193_a1b2_c3d4_0002, Unread: 300,
		}, infallible(encodeConversation), decConv),
		// A group's name is kept with the group, not the conversation.
		golden("conversation-group.hex", parley.Conversation{
			ID: parley.ConversationID{0x67}, Kind: parley.ConversationGroup,
		}, infallible(encodeConversation), decConv),

		golden("contact-accepted.json", parley.Contact{
			PeerID: bob, Name: "Bob", HPKEKey: []byte{0xb0, 0xb1, 0xb2},
			Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}, State: parley.ContactAccepted, AddedAt: at,
		}, encodeContact, decodeContact),
		// With what card updates added: a local name, the contact's
		// mailboxes and the HLC of the card applied last.
		golden("contact-card.json", parley.Contact{
			PeerID: bob, Name: "Bobby", HPKEKey: []byte{0xb0}, State: parley.ContactAccepted, AddedAt: at,
			LocalName: true, CardHLC: 0x0193_a1b2_c3d4_0004,
			Mailboxes: []parley.Mailbox{
				{PeerID: carol, Addrs: []string{"/ip4/192.0.2.7/tcp/4001", "/ip4/192.0.2.7/udp/4001/quic-v1"}},
				{PeerID: self},
			},
		}, encodeContact, decodeContact),
		// A contact the user verified once, whose key changed since.
		golden("contact-keys-changed.json", parley.Contact{
			PeerID: bob, Name: "Bob", HPKEKey: []byte{0xb1}, State: parley.ContactAccepted, AddedAt: at,
			KeysChanged: true,
		}, encodeContact, decodeContact),
		golden("contact-verified.json", parley.Contact{
			PeerID: bob, Name: "Bob", HPKEKey: []byte{0xb0}, State: parley.ContactAccepted, AddedAt: at,
			Verified: true,
		}, encodeContact, decodeContact),
		golden("contact-request.json", parley.Contact{
			PeerID: carol, State: parley.ContactRequest,
		}, encodeContact, decodeContact),

		golden("file.json", FileRecord{
			File: parley.File{
				ID: "00112233445566778899aabbccddeeff", Conversation: conv, Message: id,
				Name: "notes.txt", Size: 12345, MediaType: "text/plain", From: self, Outgoing: true,
				State: parley.FileComplete, BytesDone: 12345, Path: "/tmp/notes.txt",
				Error: "an earlier try failed", ServedBytes: 999,
			},
			ChunkSize: 65536, ChunkHashes: []byte{1, 2, 3, 4}, Root: []byte{5, 6}, Key: []byte{7, 8},
			Accepted: true, PathModTime: 1_700_000_000_123_456_789,
		}, encodeFile, decodeFile),
		golden("file-offered.json", FileRecord{
			File: parley.File{ID: "ffeeddccbbaa99887766554433221100", Conversation: conv, Message: id,
				Name: "photo.jpg", Size: 1, From: bob, State: parley.FileOffered},
			ChunkSize: 1, ChunkHashes: []byte{9}, Root: []byte{9}, Key: []byte{9},
		}, encodeFile, decodeFile),

		golden("group.json", Group{
			ID: parley.ConversationID{0x67}, Name: "Climbers", State: parley.GroupJoined,
			InvitedBy: bob, MemberHints: []string{bob, carol}, UpdatedAt: at,
		}, encodeGroup, decodeGroup),
		golden("group-minimal.json", Group{
			ID: parley.ConversationID{0x68}, State: parley.GroupLeft,
		}, encodeGroup, decodeGroup),

		golden("group-key.hex", GroupKey{ID: keyID, Key: [32]byte{0x11, 31: 0x22}, HLC: 0x0193_a1b2_c3d4_0003},
			infallible(encodeGroupKey), func(b []byte) (GroupKey, error) { return decodeGroupKey(keyID, b) }),
		golden("sync-key-id.hex", keyID, infallible(encodeSyncKeyID), decodeSyncKeyID),
		golden("outbox-entry.hex", id, infallible(encodeOutboxEntry), decodeOutboxEntry),
		// Every counter (meta/schema, meta/outbox-seq, the seq under q/)
		// has this format.
		golden("schema-version.hex", uint64(1), infallible(encodeUint64),
			func(b []byte) (uint64, error) { return decodeUint64("schema version", b) }),
		golden("stranger-usage.hex", Usage{Count: 200, Bytes: 2 << 20}, infallible(encodeUsage), decodeUsage),
		golden("message-stored.hex", parley.Message{
			ID: id, Conversation: conv, From: self, To: bob, Outgoing: true, Kind: parley.KindText,
			Text: "in a mailbox", HLC: 11, Status: parley.StatusStored,
		}, infallible(encodeMessage), decMsg),
		golden("mailbox-grant.json", MailboxGrant{HLC: 0x0193_a1b2_c3d4_0004, Mailboxes: []GrantedMailbox{
			{PeerID: carol, Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, Nonce: []byte{0x0e, 15: 0x0f}, Token: []byte{0x70, 31: 0x7f}},
			{PeerID: bob, Nonce: []byte{1}, Token: []byte{2}, Refused: true},
		}}, encodeGrant, decodeGrant),
		golden("mailbox-grant-empty.json", MailboxGrant{HLC: 12}, encodeGrant, decodeGrant),
		golden("block.json", Block{PeerID: bob, At: at, Request: false, RevokedMailbox: true}, blockCodec.encode, blockCodec.decode),
		golden("conv-state.json", ConvState{Muted: true, MutedUntil: at.Add(time.Hour), Archived: true, PinnedAt: at},
			convStateCodec.encode, convStateCodec.decode),
	}
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", c.file)
			got, err := c.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if *update {
				writeGolden(t, path, got)
			}
			want := readGolden(t, path)
			if !bytes.Equal(got, want) {
				t.Errorf("encoding changed the stored format:\n got %s\nwant %s", show(c.file, got), show(c.file, want))
			}
			v, err := c.decode(want)
			if err != nil {
				t.Fatalf("decode the golden bytes: %v", err)
			}
			if !reflect.DeepEqual(v, c.value) {
				t.Errorf("decoded golden bytes:\n got %+v\nwant %+v", v, c.value)
			}
		})
	}
}

// TestGoldenKeys pins the key layout (keys.go), which orders and finds
// everything as much as the values do.
func TestGoldenKeys(t *testing.T) {
	conv := parley.ConversationID{0xc0, 31: 0xc1}
	m := parley.Message{ID: parley.EnvelopeID{0xe0, 31: 0xe1}, Conversation: conv, HLC: 0x0102030405060708}
	fk, err := fileKey("00112233445566778899aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		name string
		key  []byte
	}{
		{"schema", []byte(keySchema)},
		{"outbox-seq", []byte(keyOutboxSeq)},
		{"contact", contactKey(bob)},
		{"envelope", envelopeKey(m.ID)},
		{"record", recordKey(m.ID)},
		{"messages", displayKey(prefixMessages, m)},
		{"unread", displayKey(prefixUnread, m)},
		{"conversation", conversationKey(conv)},
		{"outbox", outboxKey(bob, 0x0a0b)},
		{"outbox-index", outboxIndexKey(bob, m.ID)},
		{"peer-key", peerKeyKey(bob, []byte("kid"))},
		{"group", groupKey(conv)},
		{"group-key", groupKeyKey(conv, []byte{0x4b, 15: 0x49})},
		{"group-ops", opIndexKey(m)},
		{"sync", syncIndexKey(conv, m.HLC, m.ID)},
		{"file", fk},
		{"strangers", []byte(keyStrangers)},
		{"stranger", strangerKey(bob)},
		{"grant", grantKey(bob)},
		{"deposited", depositedKey(bob, m.ID)},
		{"blocked", blockedKey(bob)},
		{"conv-state", convStateKey(conv)},
	}
	var got strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&got, "%-13s %x\n", k.name, k.key)
	}
	path := filepath.Join("testdata", "golden", "keys.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("key layout changed:\n%s\nwant\n%s", got.String(), want)
	}
	if id, err := displayKeyID(prefixMessages, displayKey(prefixMessages, m)); err != nil || id != m.ID {
		t.Errorf("displayKeyID = %x, %v", id, err)
	}
	if peer, err := outboxKeyPeer(outboxKey(bob, 7)); err != nil || peer != bob {
		t.Errorf("outboxKeyPeer = %q, %v", peer, err)
	}
}

// Golden .hex files hold 32 bytes a line; .json files the bytes and a newline.
func writeGolden(t *testing.T, path string, b []byte) {
	t.Helper()
	var out []byte
	if strings.HasSuffix(path, ".hex") {
		h := hex.EncodeToString(b)
		for len(h) > 64 {
			out, h = append(append(out, h[:64]...), '\n'), h[64:]
		}
		out = append(append(out, h...), '\n')
	} else {
		out = append(bytes.Clone(b), '\n')
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGolden(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !strings.HasSuffix(path, ".hex") {
		return bytes.TrimSuffix(raw, []byte("\n"))
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

func show(file string, b []byte) string {
	if strings.HasSuffix(file, ".hex") {
		return hex.EncodeToString(b)
	}
	return string(b)
}
