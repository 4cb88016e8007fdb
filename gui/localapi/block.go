package localapi

import (
	"context"
	"net/http"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Blocks is blocking peers and the user's view of conversations: mute,
// archive, pin (node/block.go).
type Blocks interface {
	// Block blocks a contact, a request (CONTACT) or any peer ID: what
	// they send is dropped unread, nothing of ours reaches them. Blocking
	// someone blocked returns their block.
	Block(ctx context.Context, contact string) (parley.BlockedPeer, error)
	// Unblock lifts a block (parley.ErrNotFound when there is none): new
	// messages are delivered again.
	Unblock(ctx context.Context, contact string) (parley.BlockedPeer, error)
	// BlockList lists the blocked peers.
	BlockList(ctx context.Context) ([]parley.BlockedPeer, error)
	// SetConversationState mutes, archives or pins a conversation (a
	// contact, a request or a group) and returns it as now listed;
	// parley.ErrMalformed past parley.MaxPinned pins.
	SetConversationState(ctx context.Context, conv string, ch parley.ConversationChange) (parley.Conversation, error)
}

func (s *Server) handleBlocked(w http.ResponseWriter, r *http.Request) {
	list, err := s.blocks.BlockList(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apitype.BlockedView, 0, len(list))
	for _, b := range list {
		out = append(out, apitype.NewBlockedView(b))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	var req apitype.BlockRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	contact, err := contactArg(req.Contact)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.blocks.Block(r.Context(), contact)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitype.NewBlockedView(b))
}

func (s *Server) handleUnblock(w http.ResponseWriter, r *http.Request) {
	contact, err := contactArg(r.PathValue("peer"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.blocks.Unblock(r.Context(), contact)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitype.NewBlockedView(b))
}

func (s *Server) handleConversationState(w http.ResponseWriter, r *http.Request) {
	var req apitype.ConversationStateRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Conversation == "" {
		s.fail(w, r, badRequest("conversation is required: a contact (name or peer ID) or a group (name or ID)"))
		return
	}
	ch := parley.ConversationChange{Mute: req.Muted, Archive: req.Archived, Pin: req.Pinned}
	if req.MuteFor != "" {
		d, err := time.ParseDuration(req.MuteFor)
		if err != nil || d <= 0 {
			s.fail(w, r, badRequest("mute_for must be a positive duration such as 8h or 90m"))
			return
		}
		if req.Muted == nil || !*req.Muted {
			s.fail(w, r, badRequest("mute_for goes with muted: true"))
			return
		}
		ch.MuteFor = d
	}
	if ch.Mute == nil && ch.Archive == nil && ch.Pin == nil {
		s.fail(w, r, badRequest("nothing to change: give muted, archived or pinned"))
		return
	}
	c, err := s.blocks.SetConversationState(r.Context(), req.Conversation, ch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := s.newNamer(r.Context())
	name, online := c.Name, false
	if c.Peer != "" {
		name, online = n.name(c.Peer), s.network.Online(c.Peer)
	}
	writeJSON(w, http.StatusOK, apitype.NewConversationView(c, name, online, s.lastMessage(r.Context(), n, c)))
}
