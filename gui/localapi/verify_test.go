package localapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-im/parley/gui/apitype"
)

// TestVerifyContact: the verify route passes the user's choice to the node
// and answers with the contact as the list then shows it; a body that is
// not a VerifyRequest changes nothing.
func TestVerifyContact(t *testing.T) {
	h := start(t)
	verified := func() bool {
		t.Helper()
		_, body := h.do(http.MethodGet, apitype.PathContacts, "")
		var list []apitype.ContactView
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.Name == "alice" {
				return c.Verified
			}
		}
		t.Fatalf("alice not listed: %s", body)
		return false
	}
	resp, body := h.do(http.MethodPost, "/api/v1/contacts/alice/verify", `{"verified":"yes"}`)
	if resp.StatusCode != http.StatusBadRequest || verified() {
		t.Fatalf("malformed body: %d %s, verified=%v", resp.StatusCode, body, verified())
	}
	v, err := h.client().SetVerified(t.Context(), "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Verified || v.KeysChanged || v.SafetyNumber == "" || !verified() {
		t.Fatalf("after verify: answer %+v, listed verified=%v", v, verified())
	}
	if v, err = h.client().SetVerified(t.Context(), "alice", false); err != nil || v.Verified || verified() {
		t.Fatalf("after undo: answer %+v %v, listed verified=%v", v, err, verified())
	}
}

// TestSafetyQR: the safety number's QR code is an SVG image; an unknown
// contact is a 404.
func TestSafetyQR(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodGet, "/api/v1/contacts/alice/safety.svg", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(body), "<svg") {
		t.Fatalf("safety.svg: %d %s %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := h.do(http.MethodGet, "/api/v1/contacts/nobody/safety.svg", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown contact's safety.svg: %d, want 404", resp.StatusCode)
	}
}
