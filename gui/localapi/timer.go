package localapi

import (
	"context"
	"net/http"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Timers is the disappearing-messages part of the node (node.Messenger
// implements it). It is optional: a Config.Messages that lacks it serves
// 501 on /api/v1/timer.
type Timers interface {
	// Timer is the timer in force in a conversation (a contact or a group).
	Timer(ctx context.Context, conversation string) (parley.ConversationTimer, error)
	// SetTimer sets it: 0 off, else parley.MinTimer to parley.MaxTimer
	// (parley.ErrMalformed otherwise); in a group, admins only
	// (parley.ErrNotAdmin).
	SetTimer(ctx context.Context, conversation string, d time.Duration) (parley.ConversationTimer, error)
}

func (s *Server) timers(w http.ResponseWriter) (Timers, bool) {
	t, ok := s.messages.(Timers)
	if !ok {
		writeError(w, &apitype.Error{Status: http.StatusNotImplemented, Code: apitype.CodeInternal, Message: "this node has no disappearing messages"})
	}
	return t, ok
}

// handleTimer answers GET /api/v1/timer?conversation=.
func (s *Server) handleTimer(w http.ResponseWriter, r *http.Request) {
	conv := r.URL.Query().Get("conversation")
	if conv == "" {
		s.fail(w, r, badRequest("conversation is required"))
		return
	}
	tm, ok := s.timers(w)
	if !ok {
		return
	}
	t, err := tm.Timer(r.Context(), conv)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.timerView(r.Context(), t))
}

// handleSetTimer answers PUT /api/v1/timer.
func (s *Server) handleSetTimer(w http.ResponseWriter, r *http.Request) {
	var req apitype.TimerRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Conversation == "" {
		s.fail(w, r, badRequest("conversation is required"))
		return
	}
	tm, ok := s.timers(w)
	if !ok {
		return
	}
	t, err := tm.SetTimer(r.Context(), req.Conversation, time.Duration(req.Seconds)*time.Second)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.timerView(r.Context(), t))
}

func (s *Server) timerView(ctx context.Context, t parley.ConversationTimer) apitype.TimerView {
	name := ""
	if t.SetBy != "" {
		name = s.newNamer(ctx).name(t.SetBy)
	}
	return apitype.NewTimerView(t, name)
}
