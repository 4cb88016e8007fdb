package localapi

import (
	"context"
	"net/http"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Presence is typing indicators and last seen (PROTOCOL.md §10.1). A
// CONV argument is a contact or a group, by name or ID.
type Presence interface {
	// Typing tells CONV that the user is typing (active) or stopped; sent
	// reports whether anything went out (the node rate limits, sends
	// nothing while the setting is off, and never dials for it).
	Typing(ctx context.Context, conv string, active bool) (sent bool, err error)
	// SetTypingIndicators and SetLastSeen turn the two settings on or
	// off, now and after restarts, and return the new settings.
	SetTypingIndicators(ctx context.Context, on bool) (parley.Settings, error)
	SetLastSeen(ctx context.Context, on bool) (parley.Settings, error)
}

// handleTyping is POST /api/v1/conversations/{conv}/typing.
func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request) {
	var req apitype.TypingRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Active == nil {
		s.fail(w, r, badRequest("active is required: true (typing) or false (stopped)"))
		return
	}
	sent, err := s.presence.Typing(r.Context(), r.PathValue("conv"), *req.Active)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitype.TypingView{Sent: sent})
}

// setPresenceSettings applies the presence settings a PUT names; set is
// the settings after, unchanged when it names none.
func (s *Server) setPresenceSettings(ctx context.Context, req apitype.SettingsRequest, set parley.Settings) (parley.Settings, error) {
	var err error
	if req.TypingIndicators != nil {
		if set, err = s.presence.SetTypingIndicators(ctx, *req.TypingIndicators); err != nil {
			return set, err
		}
	}
	if req.LastSeen != nil {
		if set, err = s.presence.SetLastSeen(ctx, *req.LastSeen); err != nil {
			return set, err
		}
	}
	return set, nil
}
