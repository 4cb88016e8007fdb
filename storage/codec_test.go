package storage

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	parley "github.com/parley-im/parley"
)

func sampleMessages() []parley.Message {
	reply := parley.EnvelopeID{1, 2, 3}
	return []parley.Message{
		{},
		{
			ID: parley.EnvelopeID{9}, Conversation: parley.ConversationID{8}, From: bob, To: self,
			Kind: parley.KindText, Text: "héllo", HLC: 1 << 60, Status: parley.StatusDelivered,
		},
		{
			ID: parley.EnvelopeID{7}, From: self, To: bob, Outgoing: true, Kind: parley.KindReceipt,
			ReplyTo: &reply, HLC: 5, Status: parley.StatusFailed,
		},
		{
			ID: parley.EnvelopeID{6}, From: bob, To: self, Kind: parley.KindReaction, Target: &reply,
			Emoji: "👍", Remove: true, HLC: 6, Status: parley.StatusDelivered,
		},
		{
			ID: parley.EnvelopeID{5}, From: bob, To: self, Kind: parley.KindText, Deleted: true, HLC: 7, Status: parley.StatusRead,
		},
		{
			ID: parley.EnvelopeID{4}, From: bob, To: self, Kind: parley.KindText, Text: "soon gone", Timer: 300, HLC: 8, Status: parley.StatusDelivered,
		},
		{
			ID: parley.EnvelopeID{3}, From: self, To: bob, Outgoing: true, Kind: parley.KindTimer, Timer: 365 * 86400, HLC: 9, Status: parley.StatusQueued,
		},
	}
}

func TestMessageCodec(t *testing.T) {
	for _, m := range sampleMessages() {
		b := encodeMessage(m)
		got, err := decodeMessage(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %+v: %+v, %v", m, got, err)
		}
		// Every truncation and any extra byte is refused.
		for i := range b {
			if _, err := decodeMessage(b[:i]); !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("truncated to %d bytes: %v", i, err)
			}
		}
		if _, err := decodeMessage(append(b, 0)); !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
	bad := encodeMessage(sampleMessages()[1])
	bad[2] = 6 // status: past StatusStored, the last
	if _, err := decodeMessage(bad); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("bad status: %v", err)
	}
	zeroTimer := append(encodeMessage(sampleMessages()[1]), 0)
	zeroTimer[1] |= flagTimer // a timer of 0 is written as none
	if _, err := decodeMessage(zeroTimer); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a timer of 0: %v", err)
	}
}

func TestConversationCodec(t *testing.T) {
	c := parley.Conversation{ID: parley.ConversationID{3}, Kind: parley.ConversationDM, Peer: bob, LastHLC: 77, Unread: 300}
	b := encodeConversation(c)
	if got, err := decodeConversation(b); err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for i := range b {
		if _, err := decodeConversation(b[:i]); !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(encodeMessage(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		again, err := decodeMessage(encodeMessage(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding changed %+v into %+v, %v", m, again, err)
		}
	})
}

func FuzzDecodeConversation(f *testing.F) {
	f.Add(encodeConversation(parley.Conversation{Peer: bob, Unread: 3, LastHLC: 9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeConversation(b)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if again, err := decodeConversation(encodeConversation(c)); err != nil || again != c {
			t.Fatalf("re-encoding changed %+v into %+v, %v", c, again, err)
		}
	})
}

// FuzzDecodeRecord feeds the JSON record decoders (contacts, files,
// groups: what a damaged or hostile data dir hands us) anything at all:
// each refuses with ErrMalformed or gives a record that encodes again.
func FuzzDecodeRecord(f *testing.F) {
	for kind, name := range []string{"contact-accepted.json", "file.json", "group.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(kind), b)
	}
	f.Add(byte(0), []byte(`{"peer_id":1}`))
	f.Add(byte(1), []byte(`{"id":"zz"}`))
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		var err error
		switch kind % 3 {
		case 0:
			var c parley.Contact
			if c, err = decodeContact(b); err == nil {
				_, err = encodeContact(c)
			}
		case 1:
			var r FileRecord
			if r, err = decodeFile(b); err == nil {
				_, err = encodeFile(r)
			}
		case 2:
			var g Group
			if g, err = decodeGroup(b); err == nil {
				_, err = encodeGroup(g)
			}
		}
		if err != nil && !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("kind %d: error does not wrap ErrMalformed: %v", kind%3, err)
		}
	})
}
