package localapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The mailboxes endpoints: add (registering first, so a mailbox that is
// unreachable or refuses is an error the GUI can show, and nothing is
// added), list, remove.
func TestMailboxes(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	if list, err := c.Mailboxes(ctx); err != nil || len(list) != 0 {
		t.Fatalf("Mailboxes at first: %+v, %v; want none", list, err)
	}
	if _, err := c.AddMailbox(ctx, "/ip4/127.0.0.1/tcp/9/p2p/"+aliceID); !errors.Is(err, parley.ErrMailboxUnavailable) {
		t.Fatalf("adding an unreachable mailbox: %v, want ErrMailboxUnavailable", err)
	}
	if _, err := c.AddMailbox(ctx, "not an address"); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("adding a malformed address: %v, want ErrMalformed", err)
	}
	resp, body := h.do(http.MethodPost, apitype.PathMailboxes, `{"addr":""}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST without an address: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do(http.MethodPost, apitype.PathMailboxes, `{"addr":"`+mailboxOK+`"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST a mailbox: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "peer_id", "addrs")
	if list, err := c.Mailboxes(ctx); err != nil || len(list) != 1 || list[0].PeerID != aliceID {
		t.Fatalf("Mailboxes after adding: %+v, %v", list, err)
	}
	if err := c.RemoveMailbox(ctx, aliceID); err != nil {
		t.Fatalf("RemoveMailbox: %v", err)
	}
	if err := c.RemoveMailbox(ctx, aliceID); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("removing it again: %v, want ErrNotFound", err)
	}
	if list, err := c.Mailboxes(ctx); err != nil || len(list) != 0 {
		t.Fatalf("Mailboxes after removing: %+v, %v; want none", list, err)
	}
}
