package node_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// Conversations page through the store's cursor, DMs and groups alike: a
// page names its ends by message ID, and an ID from elsewhere is refused.
func TestMessagesPage(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	m := alice.Messenger()
	var dm []parley.Message
	for i := range 10 {
		msg, err := m.Send(ctx, "bob", fmt.Sprint(i), parley.ClientID{})
		if err != nil {
			t.Fatal(err)
		}
		dm = append(dm, msg)
	}
	g := parleytest.CreateGroup(t, "solo", alice)
	var group []parley.Message
	for i := range 5 {
		group = append(group, alice.SendToGroup(g, fmt.Sprintf("g%d", i)))
	}

	dmPage := func(p parley.Page) (string, error) {
		msgs, err := m.Messages(ctx, "bob", p, false)
		return texts(msgs), err
	}
	groupPage := func(p parley.Page) (string, error) {
		msgs, err := m.GroupMessages(ctx, g.String(), p, false)
		return texts(msgs), err
	}
	for _, tc := range []struct {
		name string
		list func(parley.Page) (string, error)
		page parley.Page
		want string
	}{
		{"every message", dmPage, parley.Page{}, "0 1 2 3 4 5 6 7 8 9"},
		{"the newest", dmPage, parley.Page{Limit: 3}, "7 8 9"},
		{"scrolling up", dmPage, parley.Page{Before: &dm[7].ID, Limit: 3}, "4 5 6"},
		{"up to the first", dmPage, parley.Page{Before: &dm[2].ID, Limit: 5}, "0 1"},
		{"catching up", dmPage, parley.Page{After: &dm[2].ID, Limit: 3}, "3 4 5"},
		{"caught up", dmPage, parley.Page{After: &dm[9].ID}, ""},
		{"between", dmPage, parley.Page{After: &dm[2].ID, Before: &dm[6].ID}, "3 4 5"},
		{"a group, up", groupPage, parley.Page{Before: &group[3].ID, Limit: 2}, "g1 g2"},
		{"a group, down", groupPage, parley.Page{After: &group[3].ID}, "g4"},
	} {
		got, err := tc.list(tc.page)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// A cursor from another conversation is not a position in this one.
	if _, err := dmPage(parley.Page{Before: &group[1].ID}); !errors.Is(err, parley.ErrNotFound) {
		t.Errorf("a group message's ID as a DM cursor: %v, want parley.ErrNotFound", err)
	}
	if _, err := groupPage(parley.Page{After: &dm[1].ID}); !errors.Is(err, parley.ErrNotFound) {
		t.Errorf("a DM's ID as a group cursor: %v, want parley.ErrNotFound", err)
	}
	if _, err := dmPage(parley.Page{Limit: -1}); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("a negative limit: %v, want parley.ErrMalformed", err)
	}
}

func texts(msgs []parley.Message) string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return strings.Join(out, " ")
}
