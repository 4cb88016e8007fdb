package localapi_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/localapi"
)

// loadOpenAPI parses the served description and checks it is a valid
// OpenAPI 3.1 document (kin-openapi: structure, references, path
// parameters against their templates, schemas).
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(localapi.OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.IsOpenAPI30() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("openapi.json is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	return doc
}

func TestOpenAPIValid(t *testing.T) { loadOpenAPI(t) }

// TestOpenAPIRoutes fails when a route is served but not described, or
// described but not served: add it to openapi.json (or remove it) with
// its parameters, body and answers.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	for _, pattern := range localapi.RouteTable() {
		// "/{$}" is ServeMux's "exactly /".
		served[strings.Replace(pattern, "/{$}", "/", 1)] = true
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	for _, r := range slices.Sorted(maps.Keys(served)) {
		if !described[r] {
			t.Errorf("%s is served but openapi.json does not describe it", r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(described)) {
		if !served[r] {
			t.Errorf("openapi.json describes %s, which is not served", r)
		}
	}
}

// schemaTypes are the components/schemas that a Go type in apitype
// writes or reads: their properties must be its JSON fields.
var schemaTypes = map[string]any{
	"APIFile":                  apitype.File{},
	"SelfView":                 apitype.SelfView{},
	"DeviceView":               apitype.DeviceView{},
	"LinkStatusView":           apitype.LinkStatusView{},
	"AcceptLinkRequest":        apitype.AcceptLinkRequest{},
	"ConfirmLinkRequest":       apitype.ConfirmLinkRequest{},
	"AcceptLinkView":           apitype.AcceptLinkView{},
	"ContactView":              apitype.ContactView{},
	"PendingContactView":       apitype.PendingContactView{},
	"SafetyScanView":           apitype.SafetyScanView{},
	"MessageView":              apitype.MessageView{},
	"ConversationView":         apitype.ConversationView{},
	"GroupView":                apitype.GroupView{},
	"GroupMemberView":          apitype.GroupMemberView{},
	"FileView":                 apitype.FileView{},
	"EventView":                apitype.EventView{},
	"DiskView":                 apitype.DiskView{},
	"PeerView":                 apitype.PeerView{},
	"NetworkStatusView":        apitype.NetworkStatusView{},
	"ConnectedPeerView":        apitype.ConnectedPeerView{},
	"MailboxLoadView":          apitype.MailboxLoadView{},
	"SettingsView":             apitype.SettingsView{},
	"PassphraseView":           apitype.PassphraseView{},
	"MailboxView":              apitype.MailboxView{},
	"Error":                    apitype.Error{},
	"SetNameRequest":           apitype.SetNameRequest{},
	"AddContactRequest":        apitype.AddContactRequest{},
	"SendRequest":              apitype.SendRequest{},
	"CreateGroupRequest":       apitype.CreateGroupRequest{},
	"GroupHistoryRequest":      apitype.GroupHistoryRequest{},
	"InviteToGroupRequest":     apitype.InviteToGroupRequest{},
	"RenameGroupRequest":       apitype.RenameGroupRequest{},
	"SetGroupRoleRequest":      apitype.SetGroupRoleRequest{},
	"GroupSendRequest":         apitype.GroupSendRequest{},
	"SendFileRequest":          apitype.SendFileRequest{},
	"PassphraseRequest":        apitype.PassphraseRequest{},
	"BackupRequest":            apitype.BackupRequest{},
	"SettingsRequest":          apitype.SettingsRequest{},
	"AddMailboxRequest":        apitype.AddMailboxRequest{},
	"BlockedView":              apitype.BlockedView{},
	"BlockRequest":             apitype.BlockRequest{},
	"ConversationStateRequest": apitype.ConversationStateRequest{},
	"TimerRequest":             apitype.TimerRequest{},
	"TimerView":                apitype.TimerView{},
	"SearchView":               apitype.SearchView{},
	"SearchResultView":         apitype.SearchResultView{},
}

// jsonFields are the JSON names of v's fields, and those always written
// (no omitempty or omitzero).
func jsonFields(v any) (all, always []string) {
	typ := reflect.TypeOf(v)
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			always = append(always, name)
		}
	}
	return all, always
}

// TestOpenAPISchemas holds each schema to its Go type: the same property
// names, and for the views (what the server writes) "required" is exactly
// the fields always written, so a client may rely on them.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, v := range schemaTypes {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			if ref == nil {
				t.Fatalf("components/schemas has no %s", name)
			}
			schema := ref.Value
			all, always := jsonFields(v)
			if got := slices.Sorted(maps.Keys(schema.Properties)); !slices.Equal(got, slices.Sorted(slices.Values(all))) {
				t.Errorf("properties %v, but %T has %v", got, v, all)
			}
			if strings.HasSuffix(name, "Request") {
				return // what a request must carry is the handler's rule, not the type's
			}
			if got := slices.Sorted(slices.Values(schema.Required)); !slices.Equal(got, slices.Sorted(slices.Values(always))) {
				t.Errorf("required %v, but %T always writes %v", got, v, always)
			}
		})
	}
}

// TestOpenAPIErrorCodes: the Error schema lists every code the API
// answers with, each with its HTTP status (x-status).
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	code := doc.Components.Schemas["Error"].Value.Properties["code"].Value
	want := apitype.Codes()
	var enum []string
	for _, c := range code.Enum {
		enum = append(enum, c.(string))
	}
	if got := slices.Sorted(slices.Values(enum)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Errorf("Error.code enum %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	raw, err := json.Marshal(code.Extensions["x-status"])
	if err != nil {
		t.Fatal(err)
	}
	var status map[string]int
	if err := json.Unmarshal(raw, &status); err != nil {
		t.Fatalf("Error.code x-status: %v", err)
	}
	if !maps.Equal(status, want) {
		t.Errorf("Error.code x-status %v, want %v", status, want)
	}
}

// TestOpenAPIGolden checks the views' golden files (gui/apitype/testdata,
// the JSON the server writes) against their schemas: every key is a
// property and every required property is there; and every case but the
// last (the zero value, which no real answer is) validates against the
// schema, types, formats and enums included.
func TestOpenAPIGolden(t *testing.T) {
	doc := loadOpenAPI(t)
	golden := map[string]string{
		"self": "SelfView", "contact": "ContactView", "message": "MessageView",
		"conversation": "ConversationView", "group": "GroupView", "group_member": "GroupMemberView",
		"file": "FileView", "event": "EventView", "peer": "PeerView", "status": "NetworkStatusView",
		"mailbox": "MailboxView", "settings": "SettingsView", "pending_contact": "PendingContactView",
		"device": "DeviceView",
	}
	files, err := filepath.Glob(filepath.Join("..", "apitype", "testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if _, ok := golden[name]; !ok {
			t.Errorf("%s: a golden file whose view has no schema here: add it to this test", f)
		}
	}
	for file, name := range golden {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "apitype", "testdata", file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []map[string]any
			if err := json.Unmarshal(b, &cases); err != nil {
				t.Fatal(err)
			}
			schema := doc.Components.Schemas[name].Value
			for i, c := range cases {
				for k := range c {
					if schema.Properties[k] == nil {
						t.Errorf("case %d: key %q is not a property of %s", i, k, name)
					}
				}
				for _, k := range schema.Required {
					if _, ok := c[k]; !ok {
						t.Errorf("case %d: required %q missing", i, k)
					}
				}
				if i == len(cases)-1 {
					continue
				}
				if err := doc.ValidateSchemaJSON(schema, any(c), openapi3.EnableJSONSchema2020()); err != nil {
					t.Errorf("case %d does not validate against %s: %v", i, name, err)
				}
			}
		})
	}
}

// TestOpenAPIServed: the node serves the description, without a token
// (it is public) but behind the Host check like everything else.
func TestOpenAPIServed(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodGet, apitype.PathOpenAPI, "", noAuth)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if string(body) != string(localapi.OpenAPI()) {
		t.Error("served description differs from openapi.json")
	}
	resp, body = h.do(http.MethodGet, apitype.PathOpenAPI, "", noAuth, func(r *http.Request) { r.Host = "evil.example" })
	wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
	// The exemption is for reading it only.
	resp, body = h.do(http.MethodPost, apitype.PathOpenAPI, "", noAuth)
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
}

// TestOpenAPIResponses sends a request to every route of a server over
// fake node and checks each answer against the description: its status
// is one the operation lists (successes explicitly, errors at least as
// default), its Content-Type one the response lists, and a JSON body
// validates against the response's schema. So a route documented with
// the wrong view, status or media type fails here. A route added to the
// table needs a request below.
func TestOpenAPIResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	h := start(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "a.txt", []byte("hello"))
	hi := h.node.receive(aliceID, "hi").ID.String()[:8]
	teamID := h.node.addGroup("team", parley.GroupJoined, parley.RoleAdmin, aliceID)
	team := teamID.String()
	hikers := h.node.addGroup("hikers", parley.GroupInvited, "", aliceID).String()
	walkers := h.node.addGroup("walkers", parley.GroupInvited, "", aliceID).String()
	h.node.receiveGroup(teamID, aliceID, "hi team")
	offered := h.node.offer(aliceID, parley.File{ID: "0123456789abcdef0123456789abcdef", Name: "b.txt", Size: 5})
	done := h.node.offer(aliceID, parley.File{ID: "00112233445566778899aabbccddeeff", Name: "a.txt", Size: 5,
		State: parley.FileComplete, Path: path, BytesDone: 5})
	// Offers to hold our mail, received before the messages are listed so
	// the listing carries one.
	bobOffer, aliceOffer := h.node.receiveOffer(bobID).ID.String(), h.node.receiveOffer(aliceID).ID.String()

	reqs := []struct {
		method, template, path, body string
		status                       int
	}{
		{"GET", "/", "/", "", 200},
		{"GET", apitype.PathOpenAPI, apitype.PathOpenAPI, "", 200},
		{"GET", apitype.PathSelf, apitype.PathSelf, "", 200},
		{"PUT", apitype.PathSelf, apitype.PathSelf, `{"name":"me"}`, 200},
		{"GET", apitype.PathSelfQR, apitype.PathSelfQR, "", 200},
		{"POST", apitype.PathSelfInvite, apitype.PathSelfInvite, "", 200},
		{"GET", apitype.PathDevices, apitype.PathDevices, "", 200},
		{"GET", apitype.PathLink, apitype.PathLink, "", 200},
		{"POST", apitype.PathLink, apitype.PathLink, "", 200},
		{"POST", apitype.PathAcceptLink, apitype.PathAcceptLink, `{"code":"parley:link","yes":true}`, 200},
		{"POST", apitype.PathAcceptLink, apitype.PathAcceptLink, `{"code":"wrong:link","yes":true}`, 409},
		{"POST", apitype.PathAcceptLink, apitype.PathAcceptLink, `{"code":"nonsense"}`, 400},
		{"POST", apitype.PathAcceptLink, apitype.PathAcceptLink, `{"code":"parley:link"}`, 202},
		{"POST", apitype.PathConfirmLink, apitype.PathConfirmLink, `{"session":"none","confirm":true}`, 404},
		{"GET", apitype.PathContacts, apitype.PathContacts, "", 200},
		{"POST", apitype.PathContacts, apitype.PathContacts, `{"invite":"invite:12D3KooWCarol","name":"carol"}`, 200},
		{"POST", apitype.PathContacts, apitype.PathContacts, `{"invite":"nonsense"}`, 400},
		{"POST", apitype.PathContacts, apitype.PathContacts, `{"invite":"offline:12D3KooWDave","name":"dave"}`, 202},
		{"GET", apitype.PathPendingContacts, apitype.PathPendingContacts, "", 200},
		{"DELETE", apitype.PathPendingContact, "/api/v1/pending-contacts/dave", "", 204},
		{"DELETE", apitype.PathPendingContact, "/api/v1/pending-contacts/dave", "", 404},
		{"GET", apitype.PathRequests, apitype.PathRequests, "", 200},
		{"POST", apitype.PathAccept, "/api/v1/requests/" + strayID + "/accept", "", 200},
		{"POST", apitype.PathVerify, "/api/v1/contacts/alice/verify", `{"verified":true}`, 200},
		{"POST", apitype.PathVerify, "/api/v1/contacts/nobody/verify", `{"verified":true}`, 404},
		{"GET", apitype.PathSafetyQR, "/api/v1/contacts/alice/safety.svg", "", 200},
		{"GET", apitype.PathSafetyQR, "/api/v1/contacts/nobody/safety.svg", "", 404},
		{"POST", apitype.PathSafetyScan, "/api/v1/contacts/bob/safety/scan", string(qrPNG(t, "PARLEY:ABCDEFGH234567")), 200},
		{"POST", apitype.PathSafetyScan, "/api/v1/contacts/bob/safety/scan", "not an image", 400},
		{"GET", apitype.PathConversations, apitype.PathConversations, "", 200},
		{"POST", apitype.PathConversationState, apitype.PathConversationState, `{"conversation":"alice","muted":true,"mute_for":"8h","pinned":true}`, 200},
		{"POST", apitype.PathConversationState, apitype.PathConversationState, `{"conversation":"alice","archived":true}`, 200},
		{"POST", apitype.PathConversationState, apitype.PathConversationState, `{"conversation":"alice"}`, 400},
		{"POST", apitype.PathConversationState, apitype.PathConversationState, `{"conversation":"alice","mute_for":"1h"}`, 400},
		{"POST", apitype.PathConversationState, apitype.PathConversationState, `{"conversation":"nobody","pinned":true}`, 404},
		{"POST", apitype.PathBlocked, apitype.PathBlocked, `{"contact":"bob"}`, 200},
		{"POST", apitype.PathBlocked, apitype.PathBlocked, `{"contact":""}`, 400},
		{"GET", apitype.PathBlocked, apitype.PathBlocked, "", 200},
		{"DELETE", apitype.PathBlockedPeer, "/api/v1/blocked/bob", "", 200},
		{"DELETE", apitype.PathBlockedPeer, "/api/v1/blocked/bob", "", 404},
		{"GET", apitype.PathMessages, apitype.PathMessages + "?with=alice&limit=10", "", 200},
		{"GET", apitype.PathMessages, apitype.PathMessages + "?with=nobody", "", 404},
		{"POST", apitype.PathMessages, apitype.PathMessages, `{"to":"alice","text":"hello","client_id":"00112233445566778899aabbccddeeff"}`, 201},
		{"POST", apitype.PathMessages, apitype.PathMessages, `{"to":"alice","text":`, 400},
		{"POST", apitype.PathActions, apitype.PathActions, `{"action":"reply","conversation":"alice","message":"` + hi + `","text":"yes"}`, 201},
		{"POST", apitype.PathActions, apitype.PathActions, `{"action":"react","conversation":"alice","message":"` + hi + `","emoji":"👍"}`, 200},
		{"POST", apitype.PathActions, apitype.PathActions, `{"action":"edit","conversation":"alice","message":"` + hi + `","text":"mine now"}`, 403},
		{"POST", apitype.PathActions, apitype.PathActions, `{"action":"shout","conversation":"alice","message":"` + hi + `"}`, 400},
		{"POST", apitype.PathTyping, "/api/v1/conversations/alice/typing", `{"active":true}`, 200},
		{"POST", apitype.PathTyping, "/api/v1/conversations/alice/typing", `{}`, 400},
		{"POST", apitype.PathTyping, "/api/v1/conversations/nobody/typing", `{"active":false}`, 404},
		{"GET", apitype.PathMessageInfo, "/api/v1/conversations/alice/messages/" + hi + "/info", "", 200},
		{"GET", apitype.PathMessageInfo, "/api/v1/conversations/alice/messages/ffffffff/info", "", 404},
		{"GET", apitype.PathTimer, apitype.PathTimer + "?conversation=alice", "", 200},
		{"GET", apitype.PathTimer, apitype.PathTimer + "?conversation=nobody", "", 404},
		{"PUT", apitype.PathTimer, apitype.PathTimer, `{"conversation":"alice","seconds":3600}`, 200},
		{"PUT", apitype.PathTimer, apitype.PathTimer, `{"conversation":"alice","seconds":5}`, 400},
		{"GET", apitype.PathSearch, apitype.PathSearch + "?q=hi", "", 200},
		{"GET", apitype.PathSearch, apitype.PathSearch + "?q=hi&conv=alice&limit=5", "", 200},
		{"GET", apitype.PathSearch, apitype.PathSearch + "?q=%3F%21", "", 400},
		{"GET", apitype.PathSearch, apitype.PathSearch + "?q=hi&conv=nobody", "", 404},
		{"GET", apitype.PathPeers, apitype.PathPeers, "", 200},
		{"GET", apitype.PathStatus, apitype.PathStatus, "", 200},
		{"GET", apitype.PathGroups, apitype.PathGroups, "", 200},
		{"POST", apitype.PathGroups, apitype.PathGroups, `{"name":"club","history":"shared"}`, 201},
		{"GET", apitype.PathGroupInvites, apitype.PathGroupInvites, "", 200},
		{"POST", apitype.PathGroupInvite, "/api/v1/groups/" + team + "/invite", `{"contact":"bob"}`, 200},
		{"POST", apitype.PathGroupAccept, "/api/v1/groups/" + hikers + "/accept", "", 200},
		{"POST", apitype.PathGroupDecline, "/api/v1/groups/" + walkers + "/decline", "", 204},
		{"GET", apitype.PathGroupMembers, "/api/v1/groups/" + team + "/members", "", 200},
		{"POST", apitype.PathGroupRole, "/api/v1/groups/" + team + "/members/bob/role", `{"role":"admin"}`, 200},
		{"POST", apitype.PathGroupRename, "/api/v1/groups/" + team + "/rename", `{"name":"team two"}`, 200},
		{"POST", apitype.PathGroupHistory, "/api/v1/groups/" + team + "/history", `{"history":"shared"}`, 200},
		{"GET", apitype.PathGroupMessages, "/api/v1/groups/" + team + "/messages?limit=5", "", 200},
		{"POST", apitype.PathGroupMessages, "/api/v1/groups/" + team + "/messages", `{"text":"hi all"}`, 201},
		{"DELETE", apitype.PathGroupMember, "/api/v1/groups/" + team + "/members/bob", "", 204},
		{"POST", apitype.PathGroupLeave, "/api/v1/groups/club/leave", "", 204},
		{"GET", apitype.PathFiles, apitype.PathFiles, "", 200},
		{"POST", apitype.PathFiles, apitype.PathFiles, `{"to":"alice","path":"` + path + `"}`, 201},
		{"POST", apitype.PathFileUpload, apitype.PathFileUpload + "?to=alice&name=c.txt", "some bytes", 201},
		{"GET", apitype.PathFile, "/api/v1/files/" + done.ID, "", 200},
		{"POST", apitype.PathFileAccept, "/api/v1/files/" + offered.ID + "/accept", "", 200},
		{"GET", apitype.PathFileContent, "/api/v1/files/" + done.ID + "/content", "", 200},
		{"GET", apitype.PathFileContent, "/api/v1/files/" + offered.ID + "/content", "", 409},
		{"POST", apitype.PathFileCancel, "/api/v1/files/" + offered.ID + "/cancel", "", 200},
		{"GET", apitype.PathSettings, apitype.PathSettings, "", 200},
		{"PUT", apitype.PathSettings, apitype.PathSettings, `{"auto_accept_bytes":1024}`, 200},
		{"GET", apitype.PathMailboxes, apitype.PathMailboxes, "", 200},
		{"POST", apitype.PathMailboxes, apitype.PathMailboxes, `{"addr":"` + mailboxOK + `"}`, 201},
		{"POST", apitype.PathMailboxReset, apitype.PathMailboxReset, `{}`, 200},
		{"POST", apitype.PathMailboxReset, apitype.PathMailboxReset, `{"peer_id":"nope"}`, 404},
		{"POST", apitype.PathMailboxRevocation, "/api/v1/contacts/alice/mailbox-revocation", "", 200},
		{"DELETE", apitype.PathMailboxRevocation, "/api/v1/contacts/alice/mailbox-revocation", "", 200},
		{"DELETE", apitype.PathMailbox, "/api/v1/mailboxes/" + aliceID, "", 204},
		{"POST", apitype.PathMailboxOffer, "/api/v1/contacts/alice/mailbox-offer", "", 409}, // the service is off
		{"PUT", apitype.PathSettings, apitype.PathSettings, `{"mailbox_service":true}`, 200},
		{"POST", apitype.PathMailboxOffer, "/api/v1/contacts/alice/mailbox-offer", "", 201},
		{"POST", apitype.PathMailboxOfferAccept, "/api/v1/mailbox-offers/" + bobOffer + "/accept", "", 201},
		{"POST", apitype.PathMailboxOfferDismiss, "/api/v1/mailbox-offers/" + aliceOffer + "/dismiss", "", 204},
		{"POST", apitype.PathMailboxOfferDismiss, "/api/v1/mailbox-offers/xyz/dismiss", "", 400},
		{"GET", apitype.PathPassphrase, apitype.PathPassphrase, "", 200},
		{"POST", apitype.PathPassphraseSkip, apitype.PathPassphraseSkip, "", 200},
		{"PUT", apitype.PathPassphrase, apitype.PathPassphrase, `{"old":"","new":"pw"}`, 200},
		{"DELETE", apitype.PathPassphrase, apitype.PathPassphrase, `{"old":"wrong"}`, 403},
		{"DELETE", apitype.PathPassphrase, apitype.PathPassphrase, `{"old":"pw"}`, 200},
		{"POST", apitype.PathBackup, apitype.PathBackup, `{"passphrase":"pw"}`, 200},
		{"POST", apitype.PathBackup, apitype.PathBackup, `{"passphrase":""}`, 400},
		{"POST", apitype.PathLogin, apitype.PathLogin, "", 200},
		{"POST", apitype.PathLogout, apitype.PathLogout, "", 204},
		{"POST", apitype.PathLogoutAll, apitype.PathLogoutAll, "", 204},
		{"PATCH", apitype.PathSelf, apitype.PathSelf, "", 405},
		{"GET", apitype.PathSelf, apitype.PathSelf, "", 401}, // no token
	}
	exercised := map[string]bool{}
	for i, rq := range reqs {
		edit := func(*http.Request) {}
		if rq.status == http.StatusUnauthorized {
			edit = noAuth
		}
		resp, body := h.do(rq.method, rq.path, rq.body, edit)
		if resp.StatusCode != rq.status {
			t.Errorf("%d %s %s: status %d, want %d: %s", i, rq.method, rq.path, resp.StatusCode, rq.status, body)
			continue
		}
		var op *openapi3.Operation
		if item := doc.Paths.Value(rq.template); item != nil {
			op = item.GetOperation(rq.method)
		}
		if op == nil {
			if rq.status == http.StatusMethodNotAllowed { // answered by the server for any route
				op = doc.Paths.Value(rq.template).Get
			} else {
				t.Errorf("%s %s is not described", rq.method, rq.template)
				continue
			}
		}
		exercised[rq.method+" "+rq.template] = true
		checkResponse(t, doc, op, rq.method+" "+rq.path, resp, body)
	}

	// The WebSocket: frames, which validate against the 101 response's
	// schema (EventView).
	checkEventFrame(t, doc, h)
	exercised["GET "+apitype.PathEvents] = true

	for _, pattern := range localapi.RouteTable() {
		if p := strings.Replace(pattern, "/{$}", "/", 1); !exercised[p] {
			t.Errorf("%s: no request in this test checks its answer against openapi.json: add one", p)
		}
	}
}

// checkResponse checks one answer against op's description.
func checkResponse(t *testing.T, doc *openapi3.T, op *openapi3.Operation, what string, resp *http.Response, body []byte) {
	t.Helper()
	described := op.Responses.Status(resp.StatusCode)
	if described == nil {
		if resp.StatusCode < 400 {
			t.Errorf("%s: status %d is not described", what, resp.StatusCode)
			return
		}
		described = op.Responses.Default()
	}
	if described == nil || described.Value == nil {
		t.Errorf("%s: status %d is not described, nor is a default", what, resp.StatusCode)
		return
	}
	content := described.Value.Content
	if len(body) == 0 {
		if len(content) != 0 {
			t.Errorf("%s: empty answer, but %d is described with content", what, resp.StatusCode)
		}
		return
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	media := content.Get(ct)
	if media == nil {
		t.Errorf("%s: Content-Type %q, but %d is described as %v", what, ct, resp.StatusCode, slices.Sorted(maps.Keys(content)))
		return
	}
	if ct != "application/json" || media.Schema == nil {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if err := doc.ValidateSchemaJSON(media.Schema.Value, v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s: the answer does not match its description: %v", what, err)
	}
}

func checkEventFrame(t *testing.T, doc *openapi3.T, h *harness) {
	t.Helper()
	conn, _, err := websocket.Dial(t.Context(), "ws://"+h.host+apitype.PathEvents, &websocket.DialOptions{
		HTTPClient: h.http, HTTPHeader: http.Header{"Authorization": {"Bearer " + h.token}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	awaitSubscribed(t, h.node)
	op := doc.Paths.Value(apitype.PathEvents).Get
	upgrade := op.Responses.Status(http.StatusSwitchingProtocols)
	if upgrade == nil {
		t.Fatal("GET /api/v1/events: no 101 response described")
	}
	schema := upgrade.Value.Content.Get("application/json").Schema.Value
	m := h.node.receive(aliceID, "ping")
	for _, ev := range []parley.Event{
		{Type: parley.EventMessage, Message: &m},
		{Type: parley.EventContact, PeerID: aliceID}, // her card changed
	} {
		h.node.publish(ev)
		_, frame, err := conn.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(frame, &v); err != nil {
			t.Fatal(err)
		}
		if err := doc.ValidateSchemaJSON(schema, v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("event frame %s does not match its description: %v", frame, err)
		}
	}
}
