package localapi

import (
	"net/http"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// handleAction replies to, edits, deletes or reacts to a message.
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	var req apitype.ActionRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch req.Action {
	case parley.ActionReply, parley.ActionEdit, parley.ActionDelete, parley.ActionReact:
	default:
		s.fail(w, r, badRequest("action must be reply, edit, delete or react"))
		return
	}
	if req.Conversation == "" || req.Message == "" {
		s.fail(w, r, badRequest("conversation and message are required"))
		return
	}
	m, err := s.messages.Act(r.Context(), parley.Action{
		Kind: req.Action, Conversation: req.Conversation, Message: req.Message, Text: req.Text,
		ForEveryone: req.ForEveryone, Emoji: req.Emoji, Remove: req.Remove,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if req.Action == parley.ActionReply {
		status = http.StatusCreated
	}
	writeJSON(w, status, s.newNamer(r.Context()).messageView(m))
}
