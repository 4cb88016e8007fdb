package storage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

// The fixture is a data dir as a released Parley wrote it: a small encrypted
// badger store, packed as testdata/fixture-v<schema>.tar.gz with its key
// beside it in hex (test data, not a secret). TestOpensTodaysFixture opens a
// copy through Open, so the schema check and any migration run, and reads
// every record back: a change to a stored format or the key layout that
// would strand users' data fails it. When a schema version is added, keep
// the old fixture and its test, and generate the new one with
//
//	go test ./storage -run TestWriteFixture -write-fixture
var writeFixture = flag.Bool("write-fixture", false, "write testdata/fixture-v<SchemaVersion>.tar.gz with the current code")

// fixtureVersion is the schema version the checked-in fixture was written at.
const fixtureVersion = 1

func fixturePaths(v int) (archive, keyFile string) {
	base := filepath.Join("testdata", fmt.Sprintf("fixture-v%d", v))
	return base + ".tar.gz", base + ".key"
}

// fixtureData is what the fixture holds: fixed IDs, times and bytes, so the
// test can compare values exactly. Statuses are as they stand after the
// generator's writes (see writeFixtureStore).
type fixtureData struct {
	bob, carol   parley.Contact
	dm, request  parley.ConversationID
	group        parley.ConversationID
	groupKeys    []GroupKey
	groupOpKeyID [16]byte
	groupInfo    Group // UpdatedAt aside: UpdateGroup stamps it
	file         FileRecord
	peerKeyID    []byte
	peerKey      []byte

	// Envelopes with their messages as stored in the end.
	hello, reply, fileMsg, receipt, late, fromCarol Record
	groupOp, groupText, groupReply                  Record
}

func fixtureRecord(env string, m parley.Message) Record {
	m.ID = parley.NewEnvelopeID([]byte(env))
	return Record{Message: m, Envelope: []byte(env)}
}

func newFixtureData() fixtureData {
	at := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	d := fixtureData{
		bob: parley.Contact{
			PeerID: bob, Name: "Bob", HPKEKey: []byte{0xb0, 0xb0, 1, 2, 3},
			Addrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip6/::1/udp/4001/quic-v1"},
			State: parley.ContactAccepted, AddedAt: at,
		},
		carol:     parley.Contact{PeerID: carol, Name: "carol (request)", State: parley.ContactRequest, AddedAt: at.Add(time.Hour)},
		dm:        parley.DMConversationID(self, bob),
		request:   parley.DMConversationID(self, carol),
		group:     parley.ConversationID{0x67, 0x72, 0x6f, 0x75, 0x70},
		peerKeyID: []byte("bob-key-1"),
		peerKey:   bytes.Repeat([]byte{0x5e}, 32),
	}
	d.groupKeys = []GroupKey{
		{ID: [16]byte{1, 1}, Key: [32]byte{0xa1, 0xa1}, HLC: 40},
		{ID: [16]byte{2, 2}, Key: [32]byte{0xa2, 0xa2}, HLC: 450},
	}
	d.groupOpKeyID = d.groupKeys[0].ID

	dmMsg := func(env string, outgoing bool, hlc parley.HLC, kind parley.Kind, text string, status parley.Status) Record {
		m := parley.Message{Conversation: d.dm, From: bob, To: self, Outgoing: outgoing, Kind: kind, Text: text, HLC: hlc, Status: status}
		if outgoing {
			m.From, m.To = self, bob
		}
		return fixtureRecord(env, m)
	}
	d.hello = dmMsg("envelope: hello", false, 100, parley.KindText, "Hello from Bob", parley.StatusRead)
	d.reply = dmMsg("envelope: reply", true, 200, parley.KindText, "Hi Bob, héllo back", parley.StatusDelivered)
	d.reply.Message.ReplyTo = &d.hello.Message.ID
	d.fileMsg = dmMsg("envelope: file", true, 300, parley.KindFile, "notes.txt", parley.StatusQueued)
	d.fileMsg.Message.FileID = "00112233445566778899aabbccddeeff"
	d.receipt = dmMsg("envelope: receipt", true, 310, parley.KindReceipt, "", parley.StatusQueued)
	d.late = dmMsg("envelope: late", false, 400, parley.KindText, "still there?", parley.StatusDelivered)
	d.fromCarol = fixtureRecord("envelope: carol", parley.Message{
		Conversation: d.request, From: carol, To: self, Kind: parley.KindText, Text: "hi, it's Carol", HLC: 150, Status: parley.StatusDelivered,
	})

	groupMsg := func(env, from string, hlc parley.HLC, kind parley.Kind, text string, status parley.Status) Record {
		r := fixtureRecord(env, parley.Message{Conversation: d.group, From: from, Outgoing: from == self, Kind: kind, Text: text, HLC: hlc, Status: status})
		r.Group, r.KeyID = true, d.groupKeys[0].ID
		return r
	}
	d.groupOp = groupMsg("envelope: group op", bob, 50, parley.KindGroupOp, "", parley.StatusDelivered)
	d.groupText = groupMsg("envelope: group text", carol, 500, parley.KindText, "hello group", parley.StatusDelivered)
	d.groupReply = groupMsg("envelope: group reply", self, 600, parley.KindText, "hello Carol", parley.StatusSent)
	d.groupReply.Message.ReplyTo = &d.groupText.Message.ID
	d.groupReply.KeyID = d.groupKeys[1].ID

	d.groupInfo = Group{
		ID: d.group, Name: "Fixture group", State: parley.GroupJoined,
		InvitedBy: bob, MemberHints: []string{bob, carol},
	}
	d.file = FileRecord{
		File: parley.File{
			ID: d.fileMsg.Message.FileID, Conversation: d.dm, Message: d.fileMsg.Message.ID,
			Name: "notes.txt", Size: 12345, MediaType: "text/plain", From: self, Outgoing: true,
			State: parley.FileTransferring, BytesDone: 4096, Path: "/home/user/notes.txt",
			Error: "a previous attempt failed", ServedBytes: 8192,
		},
		ChunkSize: 4096, ChunkHashes: bytes.Repeat([]byte{0xc4}, 3*32),
		Root: bytes.Repeat([]byte{0x77}, 32), Key: bytes.Repeat([]byte{0x6b}, 32),
		Accepted: true, PathModTime: 1_700_000_000_123_456_789,
	}
	return d
}

// writeFixtureStore fills a new store the way a node does: records in,
// then statuses moved on by acks and reads.
func writeFixtureStore(t *testing.T, db *DB, d fixtureData) {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(db.PutContact(d.bob))
	check(db.PutContact(d.carol))
	check(db.PutPeerKey(bob, d.peerKeyID, d.peerKey))

	initial := func(r Record, s parley.Status, queueTo string) Record {
		r.Message.Status, r.QueueTo = s, queueTo
		return r
	}
	put(t, db,
		initial(d.hello, parley.StatusDelivered, ""),
		initial(d.reply, parley.StatusQueued, bob),
		initial(d.fileMsg, parley.StatusQueued, bob),
		d.fromCarol,
	)
	// Bob acknowledges the reply; we read his hello and queue the receipt.
	_, err := db.RemoveFromOutbox(bob, []parley.EnvelopeID{d.reply.Message.ID}, parley.StatusDelivered)
	check(err)
	receipt := initial(d.receipt, parley.StatusQueued, bob)
	receipt.MarkRead = []parley.EnvelopeID{d.hello.Message.ID}
	put(t, db, receipt, d.late)

	_, err = db.UpdateGroup(d.group, func(g *Group, found bool) (bool, error) {
		updated := d.groupInfo
		updated.UpdatedAt = g.UpdatedAt
		*g = updated
		return true, nil
	})
	check(err)
	_, err = db.PutGroupKeys(d.group, d.groupKeys)
	check(err)
	put(t, db, d.groupOp, d.groupText, initial(d.groupReply, parley.StatusQueued, ""))
	_, err = db.AdvanceStatus([]parley.EnvelopeID{d.groupReply.Message.ID}, parley.StatusSent)
	check(err)

	_, err = db.UpdateFile(d.file.ID, func(f *FileRecord, found bool) (bool, error) {
		*f = d.file
		return true, nil
	})
	check(err)
}

// TestWriteFixture writes the fixture with the code as it is: run it only
// for a new schema version, never to make TestOpensTodaysFixture pass.
func TestWriteFixture(t *testing.T) {
	if !*writeFixture {
		t.Skip("run with -write-fixture to write the fixture of this schema version")
	}
	archive, keyFile := fixturePaths(SchemaVersion)
	key := bytes.Repeat([]byte{0xf1, 0x78}, 16)
	dir := t.TempDir()
	db := openAt(t, dir, key)
	writeFixtureStore(t, db, newFixtureData())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tarDir(dir, archive); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s and %s", archive, keyFile)
}

func TestOpensTodaysFixture(t *testing.T) {
	archive, keyFile := fixturePaths(fixtureVersion)
	hexKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(hexKey)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := untarDir(archive, dir); err != nil {
		t.Fatal(err)
	}
	db := openAt(t, dir, key)
	// The fixture predates the search index: its backfill writes through
	// the writer, which owns db.outboxSeq, read below.
	waitIndexed(t, db)
	d := newFixtureData()
	// And the backfill indexed it: its file is found by name.
	if ids := searchIDs(t, db, "notes txt", SearchOptions{}); len(ids) != 1 || ids[0] != d.fileMsg.Message.ID {
		t.Errorf("search of the fixture for notes.txt: %v, want the file message", ids)
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	must := func(v any, err error) any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	eq("contacts", must(db.Contacts()), []parley.Contact{d.bob, d.carol})
	// Schema 2 counts what requests take: the migration counted carol's
	// DM (not her group message), and nobody else's.
	own, total, err := db.StrangerUsage(carol)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{Count: 1, Bytes: recordCost(d.fromCarol)}); own != want || total != want {
		t.Errorf("carol's usage after the migration: %+v of %+v, want %+v of the same", own, total, want)
	}
	if own, _, _ := db.StrangerUsage(bob); own != (Usage{}) {
		t.Errorf("bob, a contact, is counted: %+v", own)
	}
	eq("peer key", must(db.PeerKey(bob, d.peerKeyID)), d.peerKey)

	eq("DM messages", must(db.Messages(d.dm, 0)), msgs(d.hello, d.reply, d.fileMsg, d.late))
	eq("DM unread", must(db.Unread(d.dm)), msgs(d.late))
	eq("request messages", must(db.Messages(d.request, 0)), msgs(d.fromCarol))
	eq("receipt", must(db.Message(d.receipt.Message.ID)), d.receipt.Message)
	for _, r := range []Record{d.hello, d.reply, d.fileMsg, d.receipt, d.late, d.fromCarol, d.groupOp, d.groupText, d.groupReply} {
		eq("envelope "+r.Message.Text, must(db.Envelope(r.Message.ID)), r.Envelope)
	}
	eq("outbox peers", must(db.OutboxPeers()), []string{bob})
	eq("outbox", must(db.Outbox(bob, 0)), []OutboxEntry{
		{ID: d.fileMsg.Message.ID, Envelope: d.fileMsg.Envelope},
		{ID: d.receipt.Message.ID, Envelope: d.receipt.Envelope},
	})
	if db.outboxSeq != 3 {
		t.Errorf("outbox sequence %d, want 3", db.outboxSeq)
	}

	groupConv := parley.Conversation{ID: d.group, Kind: parley.ConversationGroup, Name: d.groupInfo.Name, LastHLC: 600, Unread: 1}
	eq("conversations", must(db.Conversations()), []parley.Conversation{
		groupConv,
		{ID: d.dm, Kind: parley.ConversationDM, Peer: bob, LastHLC: 400, Unread: 1},
		{ID: d.request, Kind: parley.ConversationDM, Peer: carol, LastHLC: 150, Unread: 1},
	})
	g := must(db.Group(d.group)).(Group)
	if g.UpdatedAt.IsZero() || g.UpdatedAt.After(time.Now()) {
		t.Errorf("group updated at %v", g.UpdatedAt)
	}
	want := d.groupInfo
	want.UpdatedAt = g.UpdatedAt
	eq("group", g, want)
	eq("groups", must(db.Groups()), []Group{want})
	eq("group keys", must(db.GroupKeys(d.group)), d.groupKeys)
	eq("group ops", must(db.GroupOps(d.group)), []OutboxEntry{{ID: d.groupOp.Message.ID, Envelope: d.groupOp.Envelope}})
	eq("group messages", must(db.Messages(d.group, 0)), msgs(d.groupText, d.groupReply))
	var synced []SyncItem
	if err := db.SyncScan(d.group, 0, 0, func(s SyncItem) bool { synced = append(synced, s); return true }); err != nil {
		t.Fatal(err)
	}
	eq("sync index", synced, []SyncItem{
		{HLC: 50, ID: d.groupOp.Message.ID, KeyID: d.groupOp.KeyID},
		{HLC: 500, ID: d.groupText.Message.ID, KeyID: d.groupText.KeyID},
		{HLC: 600, ID: d.groupReply.Message.ID, KeyID: d.groupReply.KeyID},
	})

	eq("file", must(db.File(d.file.ID)), d.file)
	eq("files", must(db.Files()), []FileRecord{d.file})

	// The store goes on working: a new message lands after the old ones.
	next := text(bob, false, 700, "after the upgrade")
	put(t, db, next)
	if ms := must(db.Messages(d.dm, 1)).([]parley.Message); len(ms) != 1 || ms[0].ID != next.Message.ID {
		t.Errorf("newest message after a write: %+v", ms)
	}
}

func msgs(rs ...Record) []parley.Message {
	out := make([]parley.Message, len(rs))
	for i, r := range rs {
		out[i] = r.Message
	}
	return out
}

// tarDir packs the regular files of dir (no subdirectories: badger has
// none) into a gzipped tar at path.
func tarDir(dir, path string) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", e.Name())
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: e.Name(), Mode: 0o600, Size: int64(len(b)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// untarDir unpacks an archive written by tarDir into dir.
func untarDir(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !fs.ValidPath(hdr.Name) || strings.Contains(hdr.Name, "/") || hdr.Typeflag != tar.TypeReg {
			return fmt.Errorf("unexpected entry %q in %s", hdr.Name, path)
		}
		out, err := os.OpenFile(filepath.Join(dir, hdr.Name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if err := errors.Join(err, out.Close()); err != nil {
			return err
		}
	}
}
