package localapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The public DHT is a setting like the auto-accept limit: PUT changes what
// its body names and leaves the rest, and status follows.
func TestSettingsPublicDHT(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	set, err := c.Settings(ctx)
	if err != nil || set.PublicDHT {
		t.Fatalf("Settings: %+v, %v; want the public DHT off", set, err)
	}
	if set, err = c.SetPublicDHT(ctx, true); err != nil || !set.PublicDHT || set.AutoAcceptBytes != 25<<20 {
		t.Fatalf("SetPublicDHT(true): %+v, %v", set, err)
	}
	if st, err := c.Status(ctx); err != nil || !st.PublicDHT || st.PublicDHTPeers == 0 {
		t.Errorf("status after joining: %+v, %v", st, err)
	}
	// Only the limit: the public DHT stays on.
	if set, err = c.SetAutoAccept(ctx, 1<<20); err != nil || !set.PublicDHT || set.AutoAcceptBytes != 1<<20 {
		t.Fatalf("SetAutoAccept: %+v, %v", set, err)
	}
	// Both at once.
	off, limit := false, int64(-1)
	if set, err = c.ChangeSettings(ctx, apitype.SettingsRequest{AutoAcceptBytes: &limit, PublicDHT: &off}); err != nil ||
		set.PublicDHT || set.AutoAcceptBytes != -1 {
		t.Fatalf("ChangeSettings(both): %+v, %v", set, err)
	}
	resp, body := h.do(http.MethodPut, apitype.PathSettings, `{"public_dht":true}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT public_dht: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "auto_accept_bytes", "downloads", "public_dht", "mailbox_service", "mailbox_service_at_start",
		"typing_indicators", "last_seen", "read_receipts")
	if !h.node.Settings(ctx).PublicDHT {
		t.Error("PUT public_dht:true left it off")
	}
}

// A node with a swarm key refuses the public DHT, with a message and code
// the GUI can show; a request that also changes the limit changes nothing.
func TestSettingsPublicDHTRefused(t *testing.T) {
	h := start(t)
	h.node.setPrivate(true)
	if _, err := h.client().SetPublicDHT(t.Context(), true); !errors.Is(err, parley.ErrPrivateNetwork) {
		t.Errorf("SetPublicDHT(true) in a private network: %v, want ErrPrivateNetwork", err)
	}
	resp, body := h.do(http.MethodPut, apitype.PathSettings, `{"public_dht":true,"auto_accept_bytes":1}`)
	e := wantError(t, resp, body, http.StatusConflict, "private_network")
	if want := "joining the public DHT: not possible in a private network (swarm key)"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	if set := h.node.Settings(t.Context()); set.PublicDHT || set.AutoAcceptBytes != 25<<20 {
		t.Errorf("a refused request changed the settings: %+v", set)
	}
	// A bad limit is refused before the public DHT changes.
	h.node.setPrivate(false)
	resp, body = h.do(http.MethodPut, apitype.PathSettings, `{"public_dht":true,"auto_accept_bytes":-5}`)
	wantError(t, resp, body, http.StatusBadRequest, "malformed")
	if h.node.Settings(t.Context()).PublicDHT {
		t.Error("a request with a bad limit joined the public DHT")
	}
	for _, bad := range []string{`{"public_dht":"yes"}`, `{"public_dht":1}`} {
		resp, body := h.do(http.MethodPut, apitype.PathSettings, bad)
		wantError(t, resp, body, http.StatusBadRequest, apitype.CodeBadRequest)
	}
}

// "Hold mail for others" is a setting: PUT turns it on and off, unless a
// `parley run` flag set it, which refuses the whole request (409) and
// changes nothing else.
func TestSettingsMailboxService(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()
	if set, err := c.SetMailboxService(ctx, true); err != nil || !set.MailboxService || set.MailboxServiceAtStart {
		t.Fatalf("SetMailboxService(true): %+v, %v", set, err)
	}
	if set, err := c.SetMailboxService(ctx, false); err != nil || set.MailboxService {
		t.Fatalf("SetMailboxService(false): %+v, %v", set, err)
	}
	h.node.fakeNetwork.mu.Lock()
	h.node.mailboxAtStart = true
	h.node.fakeNetwork.mu.Unlock()
	resp, body := h.do(http.MethodPut, apitype.PathSettings, `{"mailbox_service":true,"public_dht":true}`)
	e := wantError(t, resp, body, http.StatusConflict, "set_at_start")
	if !strings.Contains(e.Message, "--mailbox-service") {
		t.Errorf("message %q does not name the flag", e.Message)
	}
	if set := h.node.Settings(ctx); set.MailboxService || set.PublicDHT {
		t.Errorf("a refused request changed the settings: %+v", set)
	}
}
