package localapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/parley-im/parley/gui/apitype"
)

// Message info answers a message's recipients, and 404 for an unknown
// one; read receipts turn off and on through the settings.
func TestMessageInfoAndReadReceipts(t *testing.T) {
	h := start(t)
	hi := h.node.receive(aliceID, "hi").ID.String()
	resp, body := h.do(http.MethodGet, "/api/v1/conversations/alice/messages/"+hi[:8]+"/info", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("info: %d %s", resp.StatusCode, body)
	}
	var info apitype.MessageInfoView
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	if info.Message.ID.String() != hi || len(info.Recipients) != 1 || info.Recipients[0].Pending != nil {
		t.Fatalf("info: %s", body)
	}
	resp, body = h.do(http.MethodGet, "/api/v1/conversations/alice/messages/ffffffff/info", "")
	wantError(t, resp, body, http.StatusNotFound, "not_found")

	resp, body = h.do(http.MethodPut, apitype.PathSettings, `{"read_receipts":false}`)
	var set apitype.SettingsView
	if err := json.Unmarshal(body, &set); resp.StatusCode != http.StatusOK || err != nil || set.ReadReceipts {
		t.Fatalf("PUT read_receipts:false: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do(http.MethodGet, apitype.PathSettings, "")
	if err := json.Unmarshal(body, &set); resp.StatusCode != http.StatusOK || err != nil || set.ReadReceipts {
		t.Fatalf("GET settings after turning read receipts off: %s", body)
	}
	resp, body = h.do(http.MethodPut, apitype.PathSettings, `{"read_receipts":true}`)
	if err := json.Unmarshal(body, &set); resp.StatusCode != http.StatusOK || err != nil || !set.ReadReceipts {
		t.Fatalf("PUT read_receipts:true: %s", body)
	}
}
