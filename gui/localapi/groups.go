package localapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The group endpoints. {group} reaches the node as the user wrote it (an
// ID or a name): the node resolves it, and groupError names it in a bare
// sentinel.

func (s *Server) handleGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.groups.Groups(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.groupViews(r.Context(), gs))
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var req apitype.CreateGroupRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.History != "" {
		if _, err := parley.ParseGroupHistory(string(req.History)); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	// The node trims and checks the name (parley.ErrMalformed): the rule
	// is the group's, and one place holds it.
	g, err := s.groups.CreateGroup(r.Context(), req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.History != "" && req.History != g.History {
		if g, err = s.groups.SetGroupHistory(r.Context(), g.ID.String(), req.History); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, s.newNamer(r.Context()).groupView(g))
}

func (s *Server) handleGroupInvites(w http.ResponseWriter, r *http.Request) {
	gs, err := s.groups.GroupInvites(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.groupViews(r.Context(), gs))
}

func (s *Server) handleInviteToGroup(w http.ResponseWriter, r *http.Request) {
	var req apitype.InviteToGroupRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	contact, err := contactArg(req.Contact)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The node resolves the contact; its errors name it already, so they
	// are not confused with the group's.
	group := r.PathValue("group")
	m, err := s.groups.InviteToGroup(r.Context(), group, contact)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	writeJSON(w, http.StatusOK, s.memberView(m))
}

func (s *Server) handleAcceptGroup(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	g, err := s.groups.AcceptGroup(r.Context(), group)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	writeJSON(w, http.StatusOK, s.newNamer(r.Context()).groupView(g))
}

func (s *Server) handleDeclineGroup(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	if err := s.groups.DeclineGroup(r.Context(), group); err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleLeaveGroup(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	if err := s.groups.LeaveGroup(r.Context(), group); err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGroupMembers(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	ms, err := s.groups.GroupMembers(r.Context(), group)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	views := make([]apitype.GroupMemberView, 0, len(ms))
	for _, m := range ms {
		views = append(views, s.memberView(m))
	}
	writeJSON(w, http.StatusOK, views)
}

func (s *Server) handleRemoveFromGroup(w http.ResponseWriter, r *http.Request) {
	group, member := r.PathValue("group"), strings.TrimSpace(r.PathValue("member"))
	if member == "" {
		s.fail(w, r, badRequest("no member given: pass a name or a peer ID"))
		return
	}
	// The member goes to the node as given: it may be a member we know only
	// by the name on its card, which Resolve does not know.
	if err := s.groups.RemoveFromGroup(r.Context(), group, member); err != nil {
		s.fail(w, r, groupMemberError(err, group, member))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSetGroupRole(w http.ResponseWriter, r *http.Request) {
	var req apitype.SetGroupRoleRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	group, member := r.PathValue("group"), strings.TrimSpace(r.PathValue("member"))
	if member == "" {
		s.fail(w, r, badRequest("no member given: pass a name or a peer ID"))
		return
	}
	// The node checks the role (parley.ErrMalformed), so the API and the
	// node cannot disagree on which roles exist.
	m, err := s.groups.SetGroupRole(r.Context(), group, member, req.Role)
	if err != nil {
		s.fail(w, r, groupMemberError(err, group, member))
		return
	}
	writeJSON(w, http.StatusOK, s.memberView(m))
}

func (s *Server) handleRenameGroup(w http.ResponseWriter, r *http.Request) {
	var req apitype.RenameGroupRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	group := r.PathValue("group")
	g, err := s.groups.RenameGroup(r.Context(), group, req.Name)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	writeJSON(w, http.StatusOK, s.newNamer(r.Context()).groupView(g))
}

func (s *Server) handleGroupHistory(w http.ResponseWriter, r *http.Request) {
	var req apitype.GroupHistoryRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	group := r.PathValue("group")
	g, err := s.groups.SetGroupHistory(r.Context(), group, req.History)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	writeJSON(w, http.StatusOK, s.newNamer(r.Context()).groupView(g))
}

func (s *Server) handleGroupMessages(w http.ResponseWriter, r *http.Request) {
	p, markRead, err := pageQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	group := r.PathValue("group")
	msgs, err := s.groups.GroupMessages(r.Context(), group, p, markRead)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	n := s.newNamer(r.Context())
	n.addMembers(group)
	views := make([]apitype.MessageView, 0, len(msgs))
	for _, m := range msgs {
		views = append(views, n.messageView(m))
	}
	writeJSON(w, http.StatusOK, views)
}

func (s *Server) handleGroupSend(w http.ResponseWriter, r *http.Request) {
	var req apitype.GroupSendRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	cid, err := clientIDArg(req.ClientID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	group := r.PathValue("group")
	m, err := s.groups.SendToGroup(r.Context(), group, req.Text, cid)
	if err != nil {
		s.fail(w, r, groupError(err, group))
		return
	}
	writeJSON(w, http.StatusCreated, s.newNamer(r.Context()).messageView(m))
}

// groupError names the group in a bare sentinel from the node, so the user
// sees which name failed. Errors the node
// wrapped already say what they are about and pass unchanged.
func groupError(err error, group string) error {
	switch err {
	case parley.ErrUnknownGroup:
		return fmt.Errorf("%w %q", err, group)
	case parley.ErrAmbiguous:
		return fmt.Errorf("%w %q: use the group ID", err, group)
	}
	return err
}

// groupMemberError is groupError for a call with two names: a bare
// ErrAmbiguous may be about either.
func groupMemberError(err error, group, member string) error {
	if err == parley.ErrAmbiguous {
		return fmt.Errorf("%w: %q or %q: use the group ID and the member's peer ID", err, group, member)
	}
	return groupError(err, group)
}

func (s *Server) groupViews(ctx context.Context, gs []parley.Group) []apitype.GroupView {
	n := s.newNamer(ctx)
	views := make([]apitype.GroupView, 0, len(gs))
	for _, g := range gs {
		views = append(views, n.groupView(g))
	}
	return views
}

func (n *namer) groupView(g parley.Group) apitype.GroupView {
	return apitype.NewGroupView(g, n.name(g.InvitedBy))
}

// memberView counts ourselves online: the node need not be connected to
// itself.
func (s *Server) memberView(m parley.GroupMember) apitype.GroupMemberView {
	return apitype.NewGroupMemberView(m, m.Self || s.network.Online(m.PeerID))
}

// isGroupMessage tells a group message from a DM: both may lack a
// recipient (a DM received is addressed to us), but only a DM's conversation
// is derived from its two peers.
func (n *namer) isGroupMessage(m parley.Message) bool {
	return m.To == "" && m.Conversation != parley.DMConversationID(n.self.PeerID, m.From)
}

// addMembers learns the names of a group's members, so that members who
// are not our contacts show by the name on their card rather than by peer
// ID. Without the list (the group just went away), names come from contacts
// alone.
func (n *namer) addMembers(group string) {
	ms, err := n.groups.GroupMembers(n.ctx, group)
	if err != nil {
		return
	}
	for _, m := range ms {
		if _, ok := n.names[m.PeerID]; !ok && m.Name != "" {
			n.names[m.PeerID] = m.Name
		}
	}
}
