package localapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

const pendingID = "12D3KooWCarol"

// A short code whose owner is unreachable is answered 202 with a pending
// contact, listed with its note until cancelled; a refused one says so.
func TestPendingContacts(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	resp, body := h.do(http.MethodPost, apitype.PathContacts, `{"invite":"offline:`+pendingID+`","name":"Carol"}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("adding an unreachable inviter's code: %d %s, want 202", resp.StatusCode, body)
	}
	wantKeys(t, body, "peer_id", "name", "state", "added_at", "online", "safety_number", "verified", "keys_changed")
	cv, err := c.AddContact(ctx, "offline:"+pendingID, "")
	if err != nil || cv.State != parley.ContactPending || cv.Name != "Carol" {
		t.Fatalf("adding it again: %+v, %v; want pending", cv, err)
	}
	list, err := c.PendingContacts(ctx)
	if err != nil || len(list) != 1 || list[0].PeerID != pendingID || list[0].State != parley.ContactPending ||
		list[0].Note != "pending: Parley will add them once their node is reachable" || !list[0].ExpiresAt.After(list[0].AddedAt) {
		t.Fatalf("PendingContacts: %+v, %v", list, err)
	}
	if cs, err := c.Contacts(ctx); err != nil {
		t.Fatal(err)
	} else {
		for _, x := range cs {
			if x.PeerID == pendingID {
				t.Fatal("a pending contact is listed among contacts")
			}
		}
	}
	h.node.refusePending(pendingID)
	if list, err := c.PendingContacts(ctx); err != nil || len(list) != 1 || list[0].State != parley.ContactRefused ||
		list[0].Note != "refused: the code was reset, ask for a new one" {
		t.Fatalf("refused: %+v, %v", list, err)
	}
	if err := c.CancelPending(ctx, "Carol"); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelPending(ctx, "Carol"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("cancelling again: %v, want ErrUnknownContact", err)
	}
	if list, err := c.PendingContacts(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after cancelling: %+v, %v", list, err)
	}
}
