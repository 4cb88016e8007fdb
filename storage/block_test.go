package storage

import (
	"errors"
	"testing"
	"time"

	parley "github.com/parley-im/parley"
)

func TestBlocksKeptAcrossReopen(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	db := openAt(t, dir, key)
	at := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	for _, b := range []Block{{PeerID: bob, At: at, RevokedMailbox: true}, {PeerID: carol, At: at, Request: true}} {
		if err := db.PutBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutBlock(Block{PeerID: "bad\x00peer"}); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a peer ID with a NUL: %v", err)
	}
	db.Close()
	db = openAt(t, dir, key)
	bs, err := db.Blocks()
	if err != nil || len(bs) != 2 || bs[0] != (Block{PeerID: bob, At: at, RevokedMailbox: true}) || !bs[1].Request {
		t.Fatalf("Blocks after a reopen = %+v, %v", bs, err)
	}
	b, found, err := db.DeleteBlock(bob)
	if err != nil || !found || !b.RevokedMailbox {
		t.Fatalf("DeleteBlock = %+v, %v, %v", b, found, err)
	}
	if _, found, err := db.DeleteBlock(bob); err != nil || found {
		t.Fatalf("DeleteBlock again = %v, %v", found, err)
	}
}

func TestConvStateZeroIsDeleted(t *testing.T) {
	db := openTemp(t)
	conv := parley.DMConversationID(self, bob)
	now := time.Now().UTC()
	st, err := db.UpdateConvState(conv, func(s *ConvState) (bool, error) {
		s.Muted, s.MutedUntil, s.PinnedAt = true, now.Add(time.Hour), now
		return true, nil
	})
	if err != nil || !st.MutedAt(now) || st.MutedAt(now.Add(2*time.Hour)) {
		t.Fatalf("state = %+v, %v", st, err)
	}
	if got, err := db.ConvState(conv); err != nil || got != st {
		t.Fatalf("ConvState = %+v, %v, want %+v", got, err, st)
	}
	if _, err := db.UpdateConvState(conv, func(s *ConvState) (bool, error) { *s = ConvState{}; return true, nil }); err != nil {
		t.Fatal(err)
	}
	all, err := db.ConvStates()
	if err != nil || len(all) != 0 {
		t.Fatalf("ConvStates after all was turned off = %v, %v", all, err)
	}
}

func TestConvStateCorruptRefused(t *testing.T) {
	for _, v := range []string{"", "{", `{"muted":"yes"}`} {
		if _, err := convStateCodec.decode([]byte(v)); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("conversation state %q: %v", v, err)
		}
		if _, err := blockCodec.decode([]byte(v)); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("block %q: %v", v, err)
		}
	}
	if _, err := blockCodec.decode([]byte(`{"peer":""}`)); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("a block without a peer: %v", err)
	}
}

// A hidden group record is stored and indexed for sync, but never listed,
// counted unread or bumping its conversation.
func TestHiddenRecordSyncedNotShown(t *testing.T) {
	db := openTemp(t)
	group := parley.ConversationID{0x91, 31: 0x92}
	shown, hidden := text(bob, false, 10, "shown"), text(carol, false, 20, "hidden")
	for _, r := range []*Record{&shown, &hidden} {
		r.Message.Conversation, r.Group = group, true
	}
	hidden.Hidden = true
	put(t, db, shown, hidden)
	msgs, err := db.Messages(group, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "shown" {
		t.Fatalf("Messages = %+v, %v", msgs, err)
	}
	c, err := db.Conversation(group)
	if err != nil || c.Unread != 1 || c.LastHLC != 10 {
		t.Fatalf("conversation = %+v, %v: the hidden message counted", c, err)
	}
	var synced []parley.EnvelopeID
	if err := db.SyncScan(group, 0, 0, func(it SyncItem) bool { synced = append(synced, it.ID); return true }); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "synced", synced, recIDs(shown, hidden))
	if ok, err := db.HasEnvelope(hidden.Message.ID); err != nil || !ok {
		t.Fatalf("the hidden envelope is not held: %v, %v", ok, err)
	}
}
