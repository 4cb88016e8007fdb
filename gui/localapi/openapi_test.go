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

	"github.com/getkin/kin-openapi/openapi3"

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
	"APIFile":              apitype.File{},
	"SelfView":             apitype.SelfView{},
	"ContactView":          apitype.ContactView{},
	"MessageView":          apitype.MessageView{},
	"ConversationView":     apitype.ConversationView{},
	"GroupView":            apitype.GroupView{},
	"GroupMemberView":      apitype.GroupMemberView{},
	"FileView":             apitype.FileView{},
	"EventView":            apitype.EventView{},
	"DiskView":             apitype.DiskView{},
	"PeerView":             apitype.PeerView{},
	"NetworkStatusView":    apitype.NetworkStatusView{},
	"ConnectedPeerView":    apitype.ConnectedPeerView{},
	"MailboxLoadView":      apitype.MailboxLoadView{},
	"SettingsView":         apitype.SettingsView{},
	"PassphraseView":       apitype.PassphraseView{},
	"MailboxView":          apitype.MailboxView{},
	"Error":                apitype.Error{},
	"SetNameRequest":       apitype.SetNameRequest{},
	"AddContactRequest":    apitype.AddContactRequest{},
	"SendRequest":          apitype.SendRequest{},
	"CreateGroupRequest":   apitype.CreateGroupRequest{},
	"GroupHistoryRequest":  apitype.GroupHistoryRequest{},
	"InviteToGroupRequest": apitype.InviteToGroupRequest{},
	"RenameGroupRequest":   apitype.RenameGroupRequest{},
	"SetGroupRoleRequest":  apitype.SetGroupRoleRequest{},
	"GroupSendRequest":     apitype.GroupSendRequest{},
	"SendFileRequest":      apitype.SendFileRequest{},
	"PassphraseRequest":    apitype.PassphraseRequest{},
	"SettingsRequest":      apitype.SettingsRequest{},
	"AddMailboxRequest":    apitype.AddMailboxRequest{},
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
		"mailbox": "MailboxView", "settings": "SettingsView",
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
