package localapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/parley-im/parley/gui/apitype"
)

// TestAcceptLinkConfirm: an accept without yes answers the safety code and
// a session; confirming it links, declining it is a refusal, and a
// session is good once.
func TestAcceptLinkConfirm(t *testing.T) {
	h := start(t)
	accept := func() apitype.AcceptLinkView {
		t.Helper()
		resp, body := h.do(http.MethodPost, apitype.PathAcceptLink, `{"code":"parley:link"}`)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("accept: status %d: %s", resp.StatusCode, body)
		}
		var v apitype.AcceptLinkView
		if err := json.Unmarshal(body, &v); err != nil || v.Safety != fakeSafety || v.Session == "" {
			t.Fatalf("accept: %s (%v)", body, err)
		}
		return v
	}
	v := accept()
	resp, body := h.do(http.MethodPost, apitype.PathConfirmLink, fmt.Sprintf(`{"session":%q,"confirm":true}`, v.Session))
	var done apitype.AcceptLinkView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &done) != nil || done.Device == nil || done.Device.PeerID != bobID || done.Safety != fakeSafety {
		t.Fatalf("confirm: status %d: %s", resp.StatusCode, body)
	}
	resp, body = h.do(http.MethodPost, apitype.PathConfirmLink, fmt.Sprintf(`{"session":%q,"confirm":true}`, v.Session))
	wantError(t, resp, body, http.StatusNotFound, apitype.CodeNotFound)

	v = accept()
	resp, body = h.do(http.MethodPost, apitype.PathConfirmLink, fmt.Sprintf(`{"session":%q,"confirm":false}`, v.Session))
	wantError(t, resp, body, http.StatusConflict, "link_refused")
}
