package localapi

import (
	"context"
	"net/http"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// PendingContacts are short invite codes added while their owner was not
// reachable; the node adds them once they are (part of Messages).
type PendingContacts interface {
	// PendingContacts lists them, by peer ID.
	PendingContacts(ctx context.Context) ([]parley.PendingContact, error)
	// CancelPending removes one, by peer ID or the name typed
	// (parley.ErrUnknownContact, parley.ErrAmbiguous).
	CancelPending(ctx context.Context, contact string) error
}

func (s *Server) handlePendingContacts(w http.ResponseWriter, r *http.Request) {
	list, err := s.messages.PendingContacts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apitype.PendingContactView, 0, len(list))
	for _, p := range list {
		out = append(out, apitype.NewPendingContactView(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCancelPending(w http.ResponseWriter, r *http.Request) {
	contact, err := contactArg(r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.messages.CancelPending(r.Context(), contact); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
