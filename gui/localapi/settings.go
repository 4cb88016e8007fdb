package localapi

import (
	"fmt"
	"net/http"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The settings endpoint: GET reports them all; PUT changes the ones its
// body names.

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apitype.NewSettingsView(s.network.Settings(r.Context())))
}

// handleSetSettings checks the whole request before it changes anything
// (a mailbox service set by a `parley run` flag is refused here), then
// joins or leaves the public DHT first: that is the change the node may
// refuse (in a private network), and a refusal then changes nothing.
func (s *Server) handleSetSettings(w http.ResponseWriter, r *http.Request) {
	var req apitype.SettingsRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.AutoAcceptBytes == nil && req.PublicDHT == nil && req.MailboxService == nil && req.TypingIndicators == nil && req.LastSeen == nil && req.ReadReceipts == nil {
		s.fail(w, r, badRequest("nothing to change: give auto_accept_bytes (0 or -1: always ask), public_dht, mailbox_service, typing_indicators, last_seen or read_receipts"))
		return
	}
	if req.AutoAcceptBytes != nil && *req.AutoAcceptBytes < -1 {
		s.fail(w, r, fmt.Errorf("%w: auto-accept limit %d (want -1 or more)", parley.ErrMalformed, *req.AutoAcceptBytes))
		return
	}
	if req.MailboxService != nil && s.network.Settings(r.Context()).MailboxServiceAtStart {
		s.fail(w, r, fmt.Errorf("hold mail for others: %w: `parley run --mailbox-service` (or --relay-service) decides for this run", parley.ErrSetAtStart))
		return
	}
	var set parley.Settings
	var err error
	if req.PublicDHT != nil {
		if set, err = s.network.SetPublicDHT(r.Context(), *req.PublicDHT); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if req.MailboxService != nil {
		if set, err = s.network.SetMailboxService(r.Context(), *req.MailboxService); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if req.AutoAcceptBytes != nil {
		if set, err = s.network.SetAutoAccept(r.Context(), *req.AutoAcceptBytes); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if set, err = s.setPresenceSettings(r.Context(), req, set); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.ReadReceipts != nil {
		if set, err = s.network.SetReadReceipts(r.Context(), *req.ReadReceipts); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, apitype.NewSettingsView(set))
}
