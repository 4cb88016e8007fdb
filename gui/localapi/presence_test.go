package localapi_test

import (
	"net/http"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Typing goes out through POST .../typing, and others' typing reaches the
// page as "typing" events with the conversation and who.
func TestTypingEndpointAndEvents(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodPost, "/api/v1/conversations/alice/typing", `{"active":true}`)
	if resp.StatusCode != http.StatusOK || string(body) != "{\"sent\":true}\n" {
		t.Fatalf("typing: %d %s", resp.StatusCode, body)
	}
	// The fake holds "typing" back until a stop, as the node's rate limit does.
	if _, body := h.do(http.MethodPost, "/api/v1/conversations/alice/typing", `{"active":true}`); string(body) != "{\"sent\":false}\n" {
		t.Fatalf("typing again: %s", body)
	}
	if resp, body := h.do(http.MethodPost, "/api/v1/conversations/alice/typing", `{"active":"yes"}`); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed body: %d %s", resp.StatusCode, body)
	}

	ev, err := h.client().Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	awaitSubscribed(t, h.node)
	conv := parley.DMConversationID(aliceID, bobID)
	h.node.publish(parley.Event{Type: parley.EventTyping, Conversation: conv, PeerID: aliceID, Typing: true})
	h.node.publish(parley.Event{Type: parley.EventTyping, Conversation: conv, PeerID: aliceID})
	if got := next(t, ev); got.Type != parley.EventTyping || got.Conversation != conv || got.PeerID != aliceID || !got.Typing {
		t.Errorf("typing event %+v", got)
	}
	if got := next(t, ev); got.Type != parley.EventTyping || got.Typing {
		t.Errorf("stopped event %+v", got)
	}
}

// The presence settings change through PUT /api/v1/settings like the rest.
func TestPresenceSettings(t *testing.T) {
	h := start(t)
	off := false
	set, err := h.client().ChangeSettings(t.Context(), apitype.SettingsRequest{TypingIndicators: &off, LastSeen: &off})
	if err != nil || set.TypingIndicators || set.LastSeen {
		t.Fatalf("turning both off: %+v, %v", set, err)
	}
	if s := h.node.Settings(t.Context()); s.TypingIndicators || s.LastSeen {
		t.Fatalf("the node's settings: %+v", s)
	}
	if _, body := h.do(http.MethodPost, "/api/v1/conversations/alice/typing", `{"active":true}`); string(body) != "{\"sent\":false}\n" {
		t.Fatalf("typing with the setting off: %s", body)
	}
}
