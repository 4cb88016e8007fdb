package localapi_test

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

func TestGroupsThroughClient(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()

	created, err := c.CreateGroup(ctx, "book club", "")
	if err != nil || created.Name != "book club" || created.State != parley.GroupJoined ||
		created.Role != parley.RoleAdmin || created.Members != 1 || !created.LastMessageAt.IsZero() {
		t.Fatalf("CreateGroup: %+v, %v", created, err)
	}
	invitedTo := h.node.addGroup("hikers", parley.GroupInvited, "", aliceID)

	groups, err := c.Groups(ctx)
	if err != nil || len(groups) != 1 || groups[0].ID != created.ID {
		t.Fatalf("Groups: %+v, %v", groups, err)
	}
	invites, err := c.GroupInvites(ctx)
	if err != nil || len(invites) != 1 || invites[0].ID != invitedTo ||
		invites[0].InvitedBy != aliceID || invites[0].InvitedByName != "alice" {
		t.Fatalf("GroupInvites: %+v, %v", invites, err)
	}

	// By name and by ID alike.
	m, err := c.InviteToGroup(ctx, "book club", "bob")
	if err != nil || m.PeerID != bobID || m.Name != "bob" || m.Role != parley.RoleMember || m.AddedBy != selfID || m.Self {
		t.Fatalf("InviteToGroup: %+v, %v", m, err)
	}
	if _, err := c.InviteToGroup(ctx, created.ID.String(), aliceID); err != nil {
		t.Fatalf("InviteToGroup by ID: %v", err)
	}
	members, err := c.GroupMembers(ctx, "book club")
	if err != nil || len(members) != 3 {
		t.Fatalf("GroupMembers: %+v, %v", members, err)
	}
	for _, m := range members {
		// We count as online; of the others, the fake has only alice online.
		if m.Online != (m.PeerID == selfID || m.PeerID == aliceID) || m.Self != (m.PeerID == selfID) {
			t.Errorf("member %+v", m)
		}
	}
	if err := c.RemoveFromGroup(ctx, "book club", "bob"); err != nil {
		t.Fatalf("RemoveFromGroup: %v", err)
	}
	if members, _ := c.GroupMembers(ctx, "book club"); len(members) != 2 {
		t.Errorf("after remove: %+v", members)
	}

	sent, err := c.SendToGroup(ctx, "book club", "chapter 3 <tonight> & wine")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Conversation != created.ID || sent.From != selfID || sent.FromName != "me" || sent.To != "" ||
		sent.ToName != "" || !sent.Outgoing || sent.Text != "chapter 3 <tonight> & wine" || sent.Status != parley.StatusQueued {
		t.Errorf("SendToGroup: %+v", sent)
	}
	h.node.receiveGroup(created.ID, aliceID, "see you")
	msgs, err := c.GroupMessages(ctx, "book club", parley.Page{}, false)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("GroupMessages: %+v, %v", msgs, err)
	}
	if in := msgs[1]; in.From != aliceID || in.FromName != "alice" || in.To != "" || in.ToName != "" || in.Outgoing {
		t.Errorf("incoming group message %+v", in)
	}
	if len(h.node.groupsMarkedRead()) != 0 {
		t.Error("GroupMessages without markRead marked the group read")
	}
	msgs, err = c.GroupMessages(ctx, created.ID.String(), parley.Page{Limit: 1}, true)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "see you" {
		t.Fatalf("GroupMessages limit 1: %+v, %v", msgs, err)
	}
	if got := h.node.groupsMarkedRead(); !slices.Equal(got, []parley.ConversationID{created.ID}) {
		t.Errorf("marked read: %v", got)
	}
	// Group messages stay out of the DMs with their senders.
	if dms, _ := c.Messages(ctx, "alice", parley.Page{}, false); len(dms) != 0 {
		t.Errorf("DMs with alice hold group messages: %+v", dms)
	}

	joined, err := c.AcceptGroup(ctx, "hikers")
	if err != nil || joined.State != parley.GroupJoined || joined.Role != parley.RoleMember || joined.Members != 2 {
		t.Fatalf("AcceptGroup: %+v, %v", joined, err)
	}
	if err := c.LeaveGroup(ctx, "hikers"); err != nil {
		t.Fatalf("LeaveGroup: %v", err)
	}
	h.node.addGroup("knitting", parley.GroupInvited, "", bobID)
	if err := c.DeclineGroup(ctx, "knitting"); err != nil {
		t.Fatalf("DeclineGroup: %v", err)
	}
	if invites, _ := c.GroupInvites(ctx); len(invites) != 0 {
		t.Errorf("invites after accept and decline: %+v", invites)
	}
	groups, _ = c.Groups(ctx)
	var states []string
	for _, g := range groups {
		states = append(states, g.Name+":"+string(g.State))
	}
	if want := []string{"knitting:left", "hikers:left", "book club:joined"}; !slices.Equal(states, want) {
		t.Errorf("groups %v, want %v", states, want)
	}
	if groups[2].LastMessageAt.IsZero() || time.Since(groups[2].LastMessageAt) > time.Minute {
		t.Errorf("last_message_at %v", groups[2].LastMessageAt)
	}

	// A group conversation keeps its name (the view's own Name field hides
	// the embedded one).
	convs, err := c.Conversations(ctx)
	if err != nil || len(convs) != 4 || convs[0].Name != "alice" {
		t.Fatalf("Conversations: %+v, %v", convs, err)
	}
	if g := convs[1]; g.Kind != parley.ConversationGroup || g.ID != created.ID || g.Name != "book club" || g.Peer != "" {
		t.Errorf("group conversation %+v", g)
	}
}

// TestGroupRenameAndRoles: an admin renames the group and changes roles,
// by name or by ID; an admin who steps down loses both powers.
func TestGroupRenameAndRoles(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	created, err := c.CreateGroup(ctx, "book club", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, contact := range []string{"alice", "bob"} {
		if _, err := c.InviteToGroup(ctx, "book club", contact); err != nil {
			t.Fatal(err)
		}
	}

	renamed, err := c.RenameGroup(ctx, "book club", "  readers  ")
	if err != nil || renamed.ID != created.ID || renamed.Name != "readers" || renamed.State != parley.GroupJoined ||
		renamed.Role != parley.RoleAdmin || renamed.Members != 3 {
		t.Fatalf("RenameGroup: %+v, %v", renamed, err)
	}
	if groups, _ := c.Groups(ctx); len(groups) != 1 || groups[0].Name != "readers" {
		t.Errorf("groups after rename: %+v", groups)
	}
	if _, err := c.GroupMembers(ctx, "book club"); !errors.Is(err, parley.ErrUnknownGroup) {
		t.Errorf("old name after rename: %v", err)
	}
	if renamed, err := c.RenameGroup(ctx, created.ID.String(), "a/b"); err != nil || renamed.Name != "a/b" {
		t.Fatalf("RenameGroup by ID: %+v, %v", renamed, err)
	}

	m, err := c.SetGroupRole(ctx, "a/b", "alice", parley.RoleAdmin)
	if err != nil || m.PeerID != aliceID || m.Name != "alice" || m.Role != parley.RoleAdmin || m.Self || !m.Online {
		t.Fatalf("SetGroupRole alice: %+v, %v", m, err)
	}
	m, err = c.SetGroupRole(ctx, created.ID.String(), bobID, parley.RoleMember)
	if err != nil || m.PeerID != bobID || m.Role != parley.RoleMember || m.Online {
		t.Fatalf("SetGroupRole bob: %+v, %v", m, err)
	}
	members, err := c.GroupMembers(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]parley.Role{}
	for _, m := range members {
		roles[m.PeerID] = m.Role
	}
	if want := map[string]parley.Role{selfID: parley.RoleAdmin, aliceID: parley.RoleAdmin, bobID: parley.RoleMember}; !maps.Equal(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}

	// An admin may step down; then the admin's powers are gone.
	m, err = c.SetGroupRole(ctx, "a/b", selfID, parley.RoleMember)
	if err != nil || !m.Self || !m.Online || m.Role != parley.RoleMember {
		t.Fatalf("stepping down: %+v, %v", m, err)
	}
	if groups, _ := c.Groups(ctx); len(groups) != 1 || groups[0].Role != parley.RoleMember {
		t.Errorf("groups after stepping down: %+v", groups)
	}
	if _, err := c.RenameGroup(ctx, "a/b", "mine"); !errors.Is(err, parley.ErrNotAdmin) {
		t.Errorf("rename after stepping down: %v", err)
	}
	if _, err := c.SetGroupRole(ctx, "a/b", selfID, parley.RoleAdmin); !errors.Is(err, parley.ErrNotAdmin) {
		t.Errorf("taking admin back: %v", err)
	}
}

// TestGroupNamesInPaths: a group's name is whatever its creator typed; the
// client escapes it and the server gets it back whole.
func TestGroupNamesInPaths(t *testing.T) {
	h := start(t)
	c := h.client()
	for _, name := range []string{"a/b", "50% off", "what? #1", "..", ".", "ünïcode café", "a%2Fb"} {
		if _, err := c.CreateGroup(t.Context(), name, ""); err != nil {
			t.Fatalf("CreateGroup %q: %v", name, err)
		}
		members, err := c.GroupMembers(t.Context(), name)
		if err != nil || len(members) != 1 {
			t.Errorf("GroupMembers %q: %+v, %v", name, members, err)
		}
	}
}

// TestGroupJSONFieldNames pins the wire names of the group views.
func TestGroupJSONFieldNames(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodPost, apitype.PathGroups, `{"name":"team"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST groups: %d %s", resp.StatusCode, body)
	}
	// No messages yet: last_message_at is left out rather than year 1.
	wantKeys(t, body, "id", "name", "state", "role", "members", "history", "last_hlc", "unread")
	var g map[string]any
	json.Unmarshal(body, &g)
	if id, _ := g["id"].(string); len(id) != 64 || g["state"] != "joined" || g["role"] != "admin" {
		t.Errorf("group %s", body)
	}
	resp, body = h.do(http.MethodPost, "/api/v1/groups/team/messages", `{"text":"hi"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST group message: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "id", "conversation", "from", "from_name", "to", "to_name", "outgoing", "kind", "text", "sent_at", "hlc", "status",
		"edited", "deleted", "reactions")

	_, body = h.do(http.MethodGet, apitype.PathGroups, "")
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 {
		t.Fatalf("groups %s: %v", body, err)
	}
	wantKeys(t, list[0], "id", "name", "state", "role", "members", "history", "last_hlc", "unread", "last_message_at")
	json.Unmarshal(list[0], &g)
	if _, err := time.Parse(time.RFC3339, g["last_message_at"].(string)); err != nil {
		t.Errorf("last_message_at: %v", err)
	}

	h.node.addGroup("hikers", parley.GroupInvited, "", aliceID)
	_, body = h.do(http.MethodGet, apitype.PathGroupInvites, "")
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 {
		t.Fatalf("invites %s: %v", body, err)
	}
	// An invitation has no role yet.
	wantKeys(t, list[0], "id", "name", "state", "members", "history", "invited_by", "invited_by_name", "last_hlc", "unread")

	_, body = h.do(http.MethodGet, "/api/v1/groups/team/members", "")
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 {
		t.Fatalf("members %s: %v", body, err)
	}
	wantKeys(t, list[0], "peer_id", "name", "role", "added_by", "self", "online")

	resp, body = h.do(http.MethodPost, "/api/v1/groups/team/invite", `{"contact":"bob"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST invite: %d %s", resp.StatusCode, body)
	}
	// self is written even when false.
	wantKeys(t, body, "peer_id", "name", "role", "added_by", "self", "online")
	resp, body = h.do(http.MethodPost, "/api/v1/groups/team/members/bob/role", `{"role":"admin"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST role: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "peer_id", "name", "role", "added_by", "self", "online")
	resp, body = h.do(http.MethodPost, "/api/v1/groups/team/rename", `{"name":"crew"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST rename: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "id", "name", "state", "role", "members", "history", "last_hlc", "unread", "last_message_at")

	for _, path := range []string{"/api/v1/groups/crew/members/bob", "/api/v1/groups/crew/leave"} {
		method := http.MethodPost
		if strings.Contains(path, "/members/") {
			method = http.MethodDelete
		}
		resp, body = h.do(method, path, "")
		if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Errorf("%s %s: %d %q, want 204 and no body", method, path, resp.StatusCode, body)
		}
	}
}

func TestGroupErrors(t *testing.T) {
	h := start(t)
	h.node.addContact(parley.Contact{PeerID: "12D3KooWAlice2", Name: "alice", State: parley.ContactAccepted}) // second "alice"
	h.node.addGroup("team", parley.GroupJoined, parley.RoleAdmin)
	h.node.addGroup("readers", parley.GroupJoined, parley.RoleMember, aliceID, bobID)
	h.node.addGroup("dup", parley.GroupJoined, parley.RoleAdmin)
	h.node.addGroup("dup", parley.GroupJoined, parley.RoleAdmin)
	h.node.addGroup("gone", parley.GroupLeft, "")
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"unknown group members", http.MethodGet, "/api/v1/groups/nope/members", "", 404, "unknown_group", `unknown group "nope"`},
		{"unknown group send", http.MethodPost, "/api/v1/groups/nope/messages", `{"text":"hi"}`, 404, "unknown_group", `unknown group "nope"`},
		{"unknown group messages", http.MethodGet, "/api/v1/groups/nope/messages", "", 404, "unknown_group", `unknown group "nope"`},
		{"unknown group accept", http.MethodPost, "/api/v1/groups/nope/accept", "", 404, "unknown_group", `unknown group "nope"`},
		{"unknown group decline", http.MethodPost, "/api/v1/groups/nope/decline", "", 404, "unknown_group", `unknown group "nope"`},
		{"unknown group leave", http.MethodPost, "/api/v1/groups/nope/leave", "", 404, "unknown_group", `unknown group "nope"`},
		{"unknown group remove", http.MethodDelete, "/api/v1/groups/nope/members/bob", "", 404, "unknown_group", `unknown group "nope"`},
		{"unknown group invite", http.MethodPost, "/api/v1/groups/nope/invite", `{"contact":"bob"}`, 404, "unknown_group", `unknown group "nope"`},
		{"unknown group ID", http.MethodGet, "/api/v1/groups/" + strings.Repeat("ab", 32) + "/members", "", 404, "unknown_group", ""},
		{"ambiguous group", http.MethodGet, "/api/v1/groups/dup/members", "", 409, "ambiguous", `ambiguous name "dup": use the group ID`},
		{"ambiguous contact", http.MethodPost, "/api/v1/groups/team/invite", `{"contact":"alice"}`, 409, "ambiguous", `ambiguous name: 2 contacts are called "alice"; use a peer ID`},
		{"unknown contact", http.MethodPost, "/api/v1/groups/team/invite", `{"contact":"carol"}`, 404, "unknown_contact", `unknown contact "carol"`},
		{"no contact", http.MethodPost, "/api/v1/groups/team/invite", `{}`, 400, apitype.CodeBadRequest, ""},
		{"non-admin invite", http.MethodPost, "/api/v1/groups/readers/invite", `{"contact":"bob"}`, 403, "not_admin", "only a group admin may do this"},
		{"non-admin remove", http.MethodDelete, "/api/v1/groups/readers/members/bob", "", 403, "not_admin", "only a group admin may do this"},
		{"unknown group rename", http.MethodPost, "/api/v1/groups/nope/rename", `{"name":"x"}`, 404, "unknown_group", `unknown group "nope"`},
		{"unknown group role", http.MethodPost, "/api/v1/groups/nope/members/bob/role", `{"role":"admin"}`, 404, "unknown_group", `unknown group "nope"`},
		{"ambiguous group role", http.MethodPost, "/api/v1/groups/dup/members/bob/role", `{"role":"admin"}`, 409, "ambiguous",
			`ambiguous name: "dup" or "bob": use the group ID and the member's peer ID`},
		{"non-admin rename", http.MethodPost, "/api/v1/groups/readers/rename", `{"name":"mine"}`, 403, "not_admin", "only a group admin may do this"},
		{"non-admin role", http.MethodPost, "/api/v1/groups/readers/members/bob/role", `{"role":"admin"}`, 403, "not_admin", "only a group admin may do this"},
		{"role of a stranger", http.MethodPost, "/api/v1/groups/team/members/carol/role", `{"role":"admin"}`, 409, "not_member", `"carol": not a member of the group`},
		{"bad role", http.MethodPost, "/api/v1/groups/team/members/" + selfID + "/role", `{"role":"owner"}`, 400, "malformed", `malformed data: role "owner" (want admin or member)`},
		{"no role", http.MethodPost, "/api/v1/groups/team/members/" + selfID + "/role", `{}`, 400, "malformed", ""},
		{"blank member role", http.MethodPost, "/api/v1/groups/team/members/%20/role", `{"role":"admin"}`, 400, apitype.CodeBadRequest, ""},
		{"rename a group left", http.MethodPost, "/api/v1/groups/gone/rename", `{"name":"back"}`, 409, "not_member", "not a member of the group"},
		{"no name rename", http.MethodPost, "/api/v1/groups/team/rename", `{"name":" "}`, 400, "malformed", "malformed data: a group needs a name"},
		{"bad JSON rename", http.MethodPost, "/api/v1/groups/team/rename", `{"name":7}`, 400, apitype.CodeBadRequest, ""},
		{"empty body rename", http.MethodPost, "/api/v1/groups/team/rename", ``, 400, apitype.CodeBadRequest, ""},
		{"unknown field role", http.MethodPost, "/api/v1/groups/team/members/bob/role", `{"role":"admin","member":"x"}`, 400, apitype.CodeBadRequest, ""},
		{"wrong method rename", http.MethodGet, "/api/v1/groups/team/rename", "", 405, apitype.CodeMethod, ""},
		{"wrong method role", http.MethodPut, "/api/v1/groups/team/members/bob/role", `{"role":"admin"}`, 405, apitype.CodeMethod, ""},
		{"remove a stranger", http.MethodDelete, "/api/v1/groups/team/members/carol", "", 409, "not_member", `"carol": not a member of the group`},
		{"send to a group left", http.MethodPost, "/api/v1/groups/gone/messages", `{"text":"hi"}`, 409, "not_member", "not a member of the group"},
		{"accept without invitation", http.MethodPost, "/api/v1/groups/team/accept", "", 404, apitype.CodeNotFound, ""},
		{"empty text", http.MethodPost, "/api/v1/groups/team/messages", `{"text":" "}`, 400, "empty_text", "message text is empty"},
		{"no name", http.MethodPost, apitype.PathGroups, `{"name":"  "}`, 400, "malformed", "malformed data: a group needs a name"},
		{"bad JSON create", http.MethodPost, apitype.PathGroups, `{"name":`, 400, apitype.CodeBadRequest, ""},
		{"unknown field create", http.MethodPost, apitype.PathGroups, `{"name":"x","admins":[]}`, 400, apitype.CodeBadRequest, ""},
		{"bad JSON invite", http.MethodPost, "/api/v1/groups/team/invite", `{"contact":7}`, 400, apitype.CodeBadRequest, ""},
		{"bad JSON send", http.MethodPost, "/api/v1/groups/team/messages", `{"to":"bob","text":"hi"}`, 400, apitype.CodeBadRequest, ""},
		{"empty body send", http.MethodPost, "/api/v1/groups/team/messages", ``, 400, apitype.CodeBadRequest, ""},
		{"bad limit", http.MethodGet, "/api/v1/groups/team/messages?limit=x", "", 400, apitype.CodeBadRequest, ""},
		{"bad read", http.MethodGet, "/api/v1/groups/team/messages?read=maybe", "", 400, apitype.CodeBadRequest, ""},
		{"wrong method", http.MethodPut, "/api/v1/groups/team/members", "", 405, apitype.CodeMethod, ""},
		{"wrong method on invites", http.MethodPost, apitype.PathGroupInvites, "{}", 405, apitype.CodeMethod, ""},
		{"no such group endpoint", http.MethodGet, "/api/v1/groups/team/frob", "", 404, apitype.CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(tt.method, tt.path, tt.body)
			e := wantError(t, resp, body, tt.status, tt.code)
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
		})
	}
	if got := h.node.groupsMarkedRead(); len(got) != 0 {
		t.Errorf("a failed request marked %v read", got)
	}

	// Across the wire, the errors unwrap to the node's sentinels.
	c := h.client()
	if _, err := c.GroupMembers(t.Context(), "nope"); !errors.Is(err, parley.ErrUnknownGroup) {
		t.Errorf("unknown group: %v", err)
	}
	if err := c.RemoveFromGroup(t.Context(), "readers", "bob"); !errors.Is(err, parley.ErrNotAdmin) {
		t.Errorf("non-admin: %v", err)
	}
	if _, err := c.RenameGroup(t.Context(), "readers", "mine"); !errors.Is(err, parley.ErrNotAdmin) {
		t.Errorf("non-admin rename: %v", err)
	}
	if _, err := c.SetGroupRole(t.Context(), "team", selfID, "owner"); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("bad role: %v", err)
	}
	// No refused request renamed a group or changed a role.
	groups, _ := h.node.Groups(t.Context())
	for _, g := range groups {
		if !slices.Contains([]string{"team", "readers", "dup", "gone"}, g.Name) {
			t.Errorf("group renamed to %q", g.Name)
		}
	}
	if members, _ := h.node.GroupMembers(t.Context(), "team"); len(members) != 1 || members[0].Role != parley.RoleAdmin {
		t.Errorf("team's members %+v", members)
	}
	if _, err := c.SendToGroup(t.Context(), "gone", "hi"); !errors.Is(err, parley.ErrNotMember) {
		t.Errorf("group left: %v", err)
	}
	if _, err := c.SendToGroup(t.Context(), "team", strings.Repeat("x", parley.MaxTextBytes+1)); !errors.Is(err, parley.ErrTextTooLong) {
		t.Errorf("oversized text: %v", err)
	}
}

// TestGroupRoutesNeedAuth: every group route is behind the token and the
// origin check, like the rest of the API.
func TestGroupRoutesNeedAuth(t *testing.T) {
	h := start(t)
	id := h.node.addGroup("team", parley.GroupJoined, parley.RoleAdmin, aliceID)
	h.node.addGroup("hikers", parley.GroupInvited, "", aliceID)
	routes := []struct{ method, path, body string }{
		{http.MethodGet, apitype.PathGroups, ""},
		{http.MethodPost, apitype.PathGroups, `{"name":"x"}`},
		{http.MethodGet, apitype.PathGroupInvites, ""},
		{http.MethodPost, "/api/v1/groups/team/invite", `{"contact":"bob"}`},
		{http.MethodPost, "/api/v1/groups/hikers/accept", ""},
		{http.MethodPost, "/api/v1/groups/hikers/decline", ""},
		{http.MethodGet, "/api/v1/groups/team/members", ""},
		{http.MethodDelete, "/api/v1/groups/team/members/alice", ""},
		{http.MethodPost, "/api/v1/groups/team/members/alice/role", `{"role":"member"}`},
		{http.MethodPost, "/api/v1/groups/team/rename", `{"name":"crew"}`},
		{http.MethodPost, "/api/v1/groups/team/leave", ""},
		{http.MethodGet, "/api/v1/groups/" + id.String() + "/messages?read=true", ""},
		{http.MethodPost, "/api/v1/groups/team/messages", `{"text":"hi"}`},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			resp, body := h.do(rt.method, rt.path, rt.body, noAuth)
			wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
			resp, body = h.do(rt.method, rt.path, rt.body, header("Origin", "http://evil.example"))
			wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
		})
	}
	// Nothing changed.
	groups, _ := h.node.Groups(t.Context())
	invites, _ := h.node.GroupInvites(t.Context())
	members, _ := h.node.GroupMembers(t.Context(), "team")
	msgs, _ := h.node.GroupMessages(t.Context(), "team", parley.Page{}, false)
	if len(groups) != 1 || groups[0].State != parley.GroupJoined || groups[0].Name != "team" || len(invites) != 1 ||
		len(members) != 2 || members[1].Role != parley.RoleAdmin || len(msgs) != 0 || len(h.node.groupsMarkedRead()) != 0 {
		t.Errorf("a refused request changed something: groups %+v, invites %+v, members %+v, messages %+v",
			groups, invites, members, msgs)
	}
}

func TestGroupEvents(t *testing.T) {
	h := start(t)
	c := h.client()
	// carol is a member we know only by her card: not a contact.
	id := h.node.addGroup("hikers", parley.GroupInvited, "", aliceID, "12D3KooWCarol")
	ev, err := c.Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	awaitSubscribed(t, h.node)
	// A raw socket too, to see the frame's own field names.
	raw, _, err := websocket.Dial(t.Context(), "ws://"+h.host+apitype.PathEvents, &websocket.DialOptions{
		HTTPClient: h.http, HTTPHeader: http.Header{"Authorization": {"Bearer " + h.token}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	awaitSubscribed(t, h.node)

	invites, _ := h.node.GroupInvites(t.Context())
	h.node.publish(parley.Event{Type: parley.EventGroup, Group: &invites[0]})
	m := h.node.receiveGroup(id, "12D3KooWCarol", "trail is muddy")
	h.node.publish(parley.Event{Type: parley.EventMessage, Message: &m})
	h.node.publish(parley.Event{Type: parley.EventRead, Conversation: id})

	got := next(t, ev)
	if got.Type != parley.EventGroup || got.Group == nil || got.Group.ID != id || got.Group.Name != "hikers" ||
		got.Group.State != parley.GroupInvited || got.Group.InvitedByName != "alice" || got.Message != nil {
		t.Errorf("group event %+v (group %+v)", got, got.Group)
	}
	got = next(t, ev)
	if got.Type != parley.EventMessage || got.Message == nil || got.Message.Conversation != id ||
		got.Message.FromName != "card:12D3KooWCarol" || got.Message.To != "" || got.Message.ToName != "" || got.Group != nil {
		t.Errorf("group message event %+v (message %+v)", got, got.Message)
	}
	if got = next(t, ev); got.Type != parley.EventRead || got.Conversation != id || got.Message != nil {
		t.Errorf("read event %+v", got)
	}

	// The frame carries the group under "group".
	_, frame, err := raw.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, frame, "type", "group")
	for range 2 {
		if _, frame, err = raw.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	wantKeys(t, frame, "type", "conversation")
}

// TestGroupHistoryRoute: a group is created hidden or shared, an admin
// changes the setting, and a bad value or a non-admin is refused.
func TestGroupHistoryRoute(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	hidden, err := c.CreateGroup(ctx, "quiet", "")
	if err != nil || hidden.History != parley.HistoryHidden {
		t.Fatalf("a group created without a setting: %+v, %v", hidden, err)
	}
	shared, err := c.CreateGroup(ctx, "open", parley.HistoryShared)
	if err != nil || shared.History != parley.HistoryShared {
		t.Fatalf("a group created shared: %+v, %v", shared, err)
	}
	if _, err := c.CreateGroup(ctx, "odd", "sometimes"); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a group created with a bad setting: %v", err)
	}
	if groups, _ := c.Groups(ctx); len(groups) != 2 {
		t.Fatalf("a refused create left a group behind: %+v", groups)
	}
	if v, err := c.SetGroupHistory(ctx, "quiet", parley.HistoryShared); err != nil || v.History != parley.HistoryShared {
		t.Fatalf("SetGroupHistory: %+v, %v", v, err)
	}
	if _, err := c.SetGroupHistory(ctx, "quiet", ""); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("an empty setting: %v", err)
	}
	if _, err := c.SetGroupRole(ctx, "quiet", selfID, parley.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetGroupHistory(ctx, "quiet", parley.HistoryHidden); !errors.Is(err, parley.ErrNotAdmin) {
		t.Fatalf("a member changing the setting: %v", err)
	}
}
