package localapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Set, change, skip and remove through the API, as the GUI and the CLI do;
// a wrong current passphrase is a 403 with the node's message and changes
// nothing.
func TestPassphraseEndpoints(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	if v, err := c.Passphrase(ctx); err != nil || v.Set || v.Offered {
		t.Fatalf("Passphrase on a new node: %+v, %v", v, err)
	}
	if v, err := c.SetPassphrase(ctx, "", "correct horse"); err != nil || !v.Set || !v.Offered {
		t.Fatalf("SetPassphrase: %+v, %v", v, err)
	}
	if _, err := c.SetPassphrase(ctx, "", "another"); !errors.Is(err, parley.ErrWrongPassphrase) {
		t.Errorf("set again without the current one: %v, want ErrWrongPassphrase", err)
	}
	resp, body := h.do(http.MethodPut, apitype.PathPassphrase, `{"old":"wrong","new":"x"}`)
	if e := wantError(t, resp, body, http.StatusForbidden, "wrong_passphrase"); e.Message != parley.ErrWrongPassphrase.Error() {
		t.Errorf("message %q", e.Message)
	}
	resp, body = h.do(http.MethodDelete, apitype.PathPassphrase, `{"old":"wrong"}`)
	wantError(t, resp, body, http.StatusForbidden, "wrong_passphrase")
	if h.node.passphrase != "correct horse" || h.node.changes != 1 {
		t.Fatalf("refused requests changed the passphrase: %q after %d changes", h.node.passphrase, h.node.changes)
	}

	if v, err := c.SetPassphrase(ctx, "correct horse", "battery staple"); err != nil || !v.Set {
		t.Fatalf("change: %+v, %v", v, err)
	}
	if v, err := c.RemovePassphrase(ctx, "battery staple"); err != nil || v.Set || !v.Offered {
		t.Fatalf("remove: %+v, %v", v, err)
	}
	resp, body = h.do(http.MethodGet, apitype.PathPassphrase, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "set", "offered")
}

func TestPassphraseSkip(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodPost, apitype.PathPassphraseSkip, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("skip: %d %s", resp.StatusCode, body)
	}
	if v, err := h.client().Passphrase(t.Context()); err != nil || v.Set || !v.Offered {
		t.Errorf("after skip: %+v, %v", v, err)
	}
}

func TestPassphraseBadRequests(t *testing.T) {
	h := start(t)
	h.node.passphrase = "secret"
	tests := []struct{ name, method, body string }{
		{"set to empty", http.MethodPut, `{"old":"secret","new":""}`},
		{"set without a body", http.MethodPut, ``},
		{"an unknown field", http.MethodPut, `{"old":"secret","new":"x","again":"x"}`},
		{"remove without the current one", http.MethodDelete, `{}`},
		{"remove with a new one", http.MethodDelete, `{"old":"secret","new":"x"}`},
	}
	for _, tt := range tests {
		resp, body := h.do(tt.method, apitype.PathPassphrase, tt.body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tt.name, resp.StatusCode, body)
		}
	}
	if h.node.passphrase != "secret" || h.node.changes != 0 {
		t.Errorf("a bad request changed the passphrase")
	}
}

// Like every state-changing endpoint: no session, no change; and no
// request from another origin, whatever it carries.
func TestPassphraseRoutesNeedAuth(t *testing.T) {
	h := start(t)
	routes := []struct{ method, path, body string }{
		{http.MethodGet, apitype.PathPassphrase, ""},
		{http.MethodPut, apitype.PathPassphrase, `{"old":"","new":"attacker's"}`},
		{http.MethodDelete, apitype.PathPassphrase, `{"old":"x"}`},
		{http.MethodPost, apitype.PathPassphraseSkip, ""},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			resp, body := h.do(rt.method, rt.path, rt.body, noAuth)
			wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
			resp, body = h.do(rt.method, rt.path, rt.body, header("Origin", "http://evil.example"))
			wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
			resp, body = h.do(rt.method, rt.path, rt.body, header("Sec-Fetch-Site", "cross-site"))
			wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
		})
	}
	if h.node.passphrase != "" || h.node.offered {
		t.Errorf("a refused request changed the keystore: %q, offered %v", h.node.passphrase, h.node.offered)
	}
}
