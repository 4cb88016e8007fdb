package storage

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"slices"
	"testing"

	parley "github.com/parley-im/parley"
)

// pagedConversation stores a DM with bob whose messages share HLCs (three
// at 20, two at 40), with messages of other conversations on both sides of
// it in the index, and returns bob's messages in display order.
func pagedConversation(t *testing.T, db *DB) []parley.Message {
	t.Helper()
	var recs []Record
	for i, hlc := range []parley.HLC{40, 10, 20, 30, 20, 40, 20} {
		recs = append(recs, text(bob, i%2 == 0, hlc, "m"))
	}
	// Not listed: another conversation, a group, and a receipt in bob's.
	group := parley.ConversationID{0xff}
	other := text(carol, false, 20, "carol")
	g := text(carol, false, 20, "group")
	g.Message.Conversation, g.Group = group, true
	put(t, db, append(recs, other, g, receipt(bob, 25))...)

	all := msgs(recs...)
	slices.SortFunc(all, func(a, b parley.Message) int {
		return cmp.Or(cmp.Compare(a.HLC, b.HLC), bytes.Compare(a.ID[:], b.ID[:]))
	})
	return all
}

func TestMessagePage(t *testing.T) {
	db := openTemp(t)
	all := pagedConversation(t, db)
	conv := all[0].Conversation
	n := len(all)
	at := func(i int) *Cursor { c := CursorOf(all[i]); return &c }
	// Positions between messages: no message is stored at them.
	beforeHLC20 := &Cursor{HLC: 20}
	afterHLC20 := &Cursor{HLC: 20, ID: parley.EnvelopeID(bytes.Repeat([]byte{0xff}, 32))}
	end := &Cursor{HLC: math.MaxUint64, ID: afterHLC20.ID}
	if all[1].HLC != 20 || all[3].HLC != 20 || all[4].HLC == 20 {
		t.Fatalf("fixture: three messages at HLC 20 expected at 1..3: %+v", all)
	}

	for _, tc := range []struct {
		name   string
		page   Page
		lo, hi int // want all[lo:hi]
	}{
		{"everything", Page{}, 0, n},
		{"newest", Page{Limit: 2}, n - 2, n},
		{"limit above the count", Page{Limit: 100}, 0, n},
		{"limit equal to the count", Page{Limit: n}, 0, n},

		{"before, within equal HLCs", Page{Before: at(2)}, 0, 2},
		{"before, newest 2", Page{Before: at(4), Limit: 2}, 2, 4},
		{"before the last", Page{Before: at(n - 1)}, 0, n - 1},
		{"before the first", Page{Before: at(0)}, 0, 0},
		{"before a gap", Page{Before: beforeHLC20}, 0, 1},
		{"before the end", Page{Before: end, Limit: 3}, n - 3, n},

		{"after, within equal HLCs", Page{After: at(2)}, 3, n},
		{"after, oldest 2", Page{After: at(1), Limit: 2}, 2, 4},
		{"after the first", Page{After: at(0)}, 1, n},
		{"after the last", Page{After: at(n - 1)}, 0, 0},
		{"after a gap", Page{After: afterHLC20}, 4, n},
		{"after the start", Page{After: &Cursor{}, Limit: 1}, 0, 1},

		{"between", Page{After: at(1), Before: at(5)}, 2, 5},
		{"between, limit from after", Page{After: at(1), Before: at(5), Limit: 2}, 2, 4},
		{"between neighbours", Page{After: at(2), Before: at(3)}, 0, 0},
		{"between, crossed", Page{After: at(4), Before: at(2)}, 0, 0},
		{"between, same", Page{After: at(3), Before: at(3)}, 0, 0},
		{"between gaps", Page{After: beforeHLC20, Before: afterHLC20}, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.MessagePage(conv, tc.page)
			if err != nil {
				t.Fatal(err)
			}
			equalIDs(t, "MessagePage", ids(got), ids(all[tc.lo:tc.hi]))
		})
	}

	// The messages come back whole.
	got, err := db.MessagePage(conv, Page{After: at(0), Limit: 1})
	if err != nil || len(got) != 1 || got[0] != all[1] {
		t.Fatalf("MessagePage = %+v, %v, want %+v", got, err, all[1])
	}
	if _, err := db.MessagePage(conv, Page{Limit: -1}); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("negative limit: %v", err)
	}
}

func TestMessagePageWalks(t *testing.T) {
	db := openTemp(t)
	all := pagedConversation(t, db)
	conv := all[0].Conversation
	for limit := 1; limit <= len(all)+1; limit++ {
		// Up from the newest, as a GUI scrolls back.
		equalIDs(t, "walking up", ids(walk(t, db, conv, Page{Limit: limit}, true)), ids(all))
		// Down from the oldest, as a client catches up.
		equalIDs(t, "walking down", ids(walk(t, db, conv, Page{After: &Cursor{}, Limit: limit}, false)), ids(all))
	}
}

// walk pages from p until a page is empty, moving Before to each page's
// first message (up) or After to its last, and returns every message met
// in display order.
func walk(t *testing.T, db *DB, conv parley.ConversationID, p Page, up bool) []parley.Message {
	t.Helper()
	var met []parley.Message
	for steps := 0; ; steps++ {
		if steps > 100 {
			t.Fatalf("the walk does not end: %d messages met", len(met))
		}
		page, err := db.MessagePage(conv, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return met
		}
		if up {
			met = append(page, met...)
			p.Before = new(CursorOf(page[0]))
		} else {
			met = append(met, page...)
			p.After = new(CursorOf(page[len(page)-1]))
		}
	}
}

func TestMessagePageEmpty(t *testing.T) {
	db := openTemp(t)
	pagedConversation(t, db) // other conversations' keys around the empty one
	empty := parley.DMConversationID(self, "12D3KooWNobody")
	c := &Cursor{HLC: 20}
	for _, p := range []Page{{}, {Limit: 3}, {Before: c}, {After: c}, {After: c, Before: c}} {
		got, err := db.MessagePage(empty, p)
		if err != nil || len(got) != 0 {
			t.Fatalf("MessagePage(%+v) of an empty conversation = %+v, %v", p, got, err)
		}
	}
}

func TestMessagePageGroup(t *testing.T) {
	db := openTemp(t)
	group := parley.ConversationID{0x67}
	var recs []Record
	for _, hlc := range []parley.HLC{5, 5, 9} {
		r := text(carol, false, hlc, "in the group")
		r.Message.Conversation, r.Group = group, true
		recs = append(recs, r)
	}
	op := text(carol, false, 7, "")
	op.Message.Conversation, op.Group, op.Message.Kind = group, true, parley.KindGroupOp
	put(t, db, append(recs, op)...)

	all, err := db.MessagePage(group, Page{})
	if err != nil || len(all) != 3 {
		t.Fatalf("group messages = %+v, %v", all, err)
	}
	got, err := db.MessagePage(group, Page{Before: new(CursorOf(all[2])), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "group page", ids(got), ids(all[1:2]))
}

func TestMessageCursor(t *testing.T) {
	db := openTemp(t)
	all := pagedConversation(t, db)
	conv := all[0].Conversation
	if c, err := db.MessageCursor(conv, all[2].ID); err != nil || c != CursorOf(all[2]) {
		t.Fatalf("MessageCursor = %+v, %v", c, err)
	}
	r := receipt(bob, 99)
	other := text(carol, false, 1, "elsewhere")
	put(t, db, r, other)
	for name, id := range map[string]parley.EnvelopeID{
		"unknown":              {1, 2, 3},
		"a receipt":            r.Message.ID,
		"another conversation": other.Message.ID,
	} {
		if _, err := db.MessageCursor(conv, id); !errors.Is(err, parley.ErrNotFound) {
			t.Errorf("MessageCursor of %s: %v, want ErrNotFound", name, err)
		}
	}
}
