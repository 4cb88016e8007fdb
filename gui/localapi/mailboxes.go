package localapi

import (
	"net/http"
	"strings"

	parley "github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The mailboxes endpoints: the nodes that hold the user's mail while the
// user is offline.

func (s *Server) handleMailboxes(w http.ResponseWriter, r *http.Request) {
	list, err := s.network.Mailboxes(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mailboxViews(list))
}

// handleAddMailbox registers with the mailbox before it answers: 201 with
// the mailbox, or why the mailbox could not be added (502 when it was
// unreachable or refused).
func (s *Server) handleAddMailbox(w http.ResponseWriter, r *http.Request) {
	var req apitype.AddMailboxRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	addr := strings.TrimSpace(req.Addr)
	if addr == "" {
		s.fail(w, r, badRequest("no mailbox address given"))
		return
	}
	m, err := s.network.AddMailbox(r.Context(), addr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apitype.NewMailboxView(m))
}

func (s *Server) handleRemoveMailbox(w http.ResponseWriter, r *http.Request) {
	if err := s.network.RemoveMailbox(r.Context(), r.PathValue("peer")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleOfferMailbox offers this node to hold the contact's mail: 201 with
// the offer as sent (a message), 409 while the mailbox service is off.
func (s *Server) handleOfferMailbox(w http.ResponseWriter, r *http.Request) {
	contact, err := contactArg(r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.network.OfferMailbox(r.Context(), contact)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.newNamer(r.Context()).messageView(m))
}

// handleAcceptMailboxOffer registers with the mailbox offered before it
// answers, as adding a mailbox does: 201 with the mailbox, or why not.
func (s *Server) handleAcceptMailboxOffer(w http.ResponseWriter, r *http.Request) {
	m, err := s.network.AcceptMailboxOffer(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apitype.NewMailboxView(m))
}

func (s *Server) handleDismissMailboxOffer(w http.ResponseWriter, r *http.Request) {
	if err := s.network.DismissMailboxOffer(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleResetMailbox moves one mailbox, or all, to a new deposit key: 200
// with the mailboxes reset, or 502 when one could not be told yet (the new
// key is kept, and reaches it when the node does).
func (s *Server) handleResetMailbox(w http.ResponseWriter, r *http.Request) {
	var req apitype.ResetMailboxRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.network.ResetMailbox(r.Context(), strings.TrimSpace(req.PeerID))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mailboxViews(list))
}

// handleRevokeMailbox revokes (POST) or restores (DELETE) a contact's
// capability to deposit at the user's mailboxes: 200 with the contact.
func (s *Server) handleRevokeMailbox(w http.ResponseWriter, r *http.Request) {
	contact, err := contactArg(r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.network.RevokeMailboxCapability(r.Context(), contact, r.Method == http.MethodPost)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.contactView(c))
}

func mailboxViews(list []parley.Mailbox) []apitype.MailboxView {
	out := make([]apitype.MailboxView, 0, len(list))
	for _, m := range list {
		out = append(out, apitype.NewMailboxView(m))
	}
	return out
}
