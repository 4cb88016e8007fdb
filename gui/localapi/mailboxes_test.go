package localapi_test

import (
	"encoding/json"
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

// Offers to hold mail: offering needs the mailbox service on; an offer
// received lists as a message of kind mailbox-offer with its mailbox and
// the user's answer, which accepting (a mailbox added) or dismissing sets.
func TestMailboxOffers(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	if _, err := c.OfferMailbox(ctx, "alice"); !errors.Is(err, parley.ErrMailboxServiceOff) {
		t.Fatalf("offering with the service off: %v, want ErrMailboxServiceOff", err)
	}
	resp, body := h.do(http.MethodPost, "/api/v1/contacts/alice/mailbox-offer", "")
	wantError(t, resp, body, http.StatusConflict, "mailbox_service_off")
	if _, err := c.SetMailboxService(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OfferMailbox(ctx, "nobody"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("offering to a stranger: %v, want ErrUnknownContact", err)
	}
	resp, body = h.do(http.MethodPost, "/api/v1/contacts/alice/mailbox-offer", "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST mailbox-offer: %d %s", resp.StatusCode, body)
	}
	var sent apitype.MessageView
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Kind != parley.KindMailboxOffer || !sent.Outgoing || sent.To != aliceID || sent.Text != "" ||
		sent.MailboxOffer == nil || sent.MailboxOffer.PeerID != selfID || sent.MailboxOffer.Addrs[0] != offerAddr {
		t.Fatalf("offer sent: %+v (offer %+v)", sent, sent.MailboxOffer)
	}

	first, second := h.node.receiveOffer(bobID), h.node.receiveOffer(aliceID)
	state := func(with string, id parley.EnvelopeID) parley.OfferState {
		t.Helper()
		msgs, err := c.Messages(ctx, with, parley.Page{}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.ID == id {
				if m.MailboxOffer == nil || m.MailboxOffer.PeerID != m.From || m.Text != "" {
					t.Fatalf("offer listed as %+v", m)
				}
				return m.MailboxOffer.State
			}
		}
		t.Fatalf("offer %s not listed with %s", id, with)
		return ""
	}
	if s := state("bob", first.ID); s != parley.OfferOpen {
		t.Fatalf("a new offer is %q, want open", s)
	}
	// Our own offer is not ours to accept; a made-up ID is not found.
	for _, id := range []string{sent.ID.String(), parley.NewEnvelopeID([]byte("none")).String()} {
		resp, body = h.do(http.MethodPost, "/api/v1/mailbox-offers/"+id+"/accept", "")
		wantError(t, resp, body, http.StatusNotFound, apitype.CodeNotFound)
	}
	resp, body = h.do(http.MethodPost, "/api/v1/mailbox-offers/xyz/dismiss", "")
	wantError(t, resp, body, http.StatusBadRequest, "malformed")

	mb, err := c.AcceptMailboxOffer(ctx, first.ID.String())
	if err != nil || mb.PeerID != bobID {
		t.Fatalf("AcceptMailboxOffer: %+v, %v", mb, err)
	}
	if list, err := c.Mailboxes(ctx); err != nil || len(list) != 1 || list[0].PeerID != bobID {
		t.Fatalf("Mailboxes after accepting: %+v, %v", list, err)
	}
	if s := state("bob", first.ID); s != parley.OfferAccepted {
		t.Errorf("an accepted offer is %q", s)
	}
	if err := c.DismissMailboxOffer(ctx, second.ID.String()); err != nil {
		t.Fatal(err)
	}
	if s := state("alice", second.ID); s != parley.OfferDismissed {
		t.Errorf("a dismissed offer is %q", s)
	}
}
