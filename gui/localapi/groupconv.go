package localapi

import (
	"net/http"

	"github.com/parley-im/parley/gui/apitype"
)

// handleMessageInfo answers when a message was sent, delivered and read
// by each recipient, or why not yet.
func (s *Server) handleMessageInfo(w http.ResponseWriter, r *http.Request) {
	conv, msg := r.PathValue("conv"), r.PathValue("msg")
	if conv == "" || msg == "" {
		s.fail(w, r, badRequest("a conversation and a message are required"))
		return
	}
	info, err := s.messages.MessageInfo(r.Context(), conv, msg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitype.NewMessageInfoView(info, s.newNamer(r.Context()).messageView(info.Message)))
}
