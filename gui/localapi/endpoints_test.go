package localapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
)

func (h *harness) client() *client.Client {
	h.t.Helper()
	c, err := client.Open(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

func TestEndpointsThroughClient(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()

	self, err := c.Self(ctx)
	if err != nil || self.PeerID != selfID || self.Invite != h.node.self.Invite {
		t.Fatalf("Self: %+v, %v", self, err)
	}

	devices, err := c.Devices(ctx)
	if err != nil || len(devices) != 1 || devices[0].PeerID != selfID || devices[0].Name != "laptop" || !devices[0].This || devices[0].Revoked {
		t.Fatalf("Devices: %+v, %v", devices, err)
	}

	contacts, err := c.Contacts(ctx)
	if err != nil || len(contacts) != 2 {
		t.Fatalf("Contacts: %+v, %v", contacts, err)
	}
	for _, cv := range contacts {
		if cv.Online != (cv.PeerID == aliceID) || cv.SafetyNumber != "safety:"+cv.PeerID || cv.State != parley.ContactAccepted {
			t.Errorf("contact view %+v", cv)
		}
	}

	added, err := c.AddContact(ctx, "invite:12D3KooWCarol", "carol")
	if err != nil || added.PeerID != "12D3KooWCarol" || added.Name != "carol" || added.SafetyNumber == "" || added.Warning != "" {
		t.Fatalf("AddContact: %+v, %v", added, err)
	}
	twin, err := c.AddContact(ctx, "invite:12D3KooWCarolToo", "Carol")
	if err != nil || !strings.Contains(twin.Warning, `your contact "carol"`) {
		t.Fatalf("AddContact of a look-alike: %+v, %v", twin, err)
	}

	reqs, err := c.Requests(ctx)
	if err != nil || len(reqs) != 1 || reqs[0].PeerID != strayID {
		t.Fatalf("Requests: %+v, %v", reqs, err)
	}
	accepted, err := c.Accept(ctx, strayID)
	if err != nil || accepted.State != parley.ContactAccepted {
		t.Fatalf("Accept: %+v, %v", accepted, err)
	}

	sent, err := c.Send(ctx, "alice", "hello <alice> & co")
	if err != nil {
		t.Fatal(err)
	}
	if sent.From != selfID || sent.FromName != "me" || sent.To != aliceID || sent.ToName != "alice" ||
		!sent.Outgoing || sent.Status != parley.StatusQueued || sent.Text != "hello <alice> & co" {
		t.Errorf("Send: %+v", sent)
	}
	if time.Since(sent.SentAt) > time.Minute || sent.SentAt.Location() != time.UTC {
		t.Errorf("sent_at %v", sent.SentAt)
	}
	h.node.receive(aliceID, "hi me")

	msgs, err := c.Messages(ctx, aliceID, parley.Page{}, false)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages: %+v, %v", msgs, err)
	}
	in := msgs[1]
	if in.From != aliceID || in.FromName != "alice" || in.To != selfID || in.ToName != "me" || in.Outgoing {
		t.Errorf("incoming view %+v", in)
	}
	if len(h.node.markedRead()) != 0 {
		t.Error("Messages without markRead marked the conversation read")
	}
	msgs, err = c.Messages(ctx, "alice", parley.Page{Limit: 1}, true)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "hi me" {
		t.Fatalf("Messages limit 1: %+v, %v", msgs, err)
	}
	if got := h.node.markedRead(); !slices.Equal(got, []string{aliceID}) {
		t.Errorf("marked read: %v", got)
	}

	convs, err := c.Conversations(ctx)
	if err != nil || len(convs) != 1 || convs[0].Name != "alice" || convs[0].Unread != 2 {
		t.Fatalf("Conversations: %+v, %v", convs, err)
	}
	peers, err := c.Peers(ctx)
	if err != nil || len(peers) != 1 || peers[0].PeerID != aliceID {
		t.Fatalf("Peers: %+v, %v", peers, err)
	}
}

// TestJSONFieldNames pins the wire names the CLI, the web app and bots use.
func TestJSONFieldNames(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodPost, apitype.PathMessages, `{"to":"bob","text":"hi"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST messages: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "id", "conversation", "from", "from_name", "to", "to_name", "outgoing", "kind", "text", "sent_at", "hlc", "status",
		"edited", "deleted", "reactions")
	var m map[string]any
	json.Unmarshal(body, &m)
	if m["status"] != "queued" {
		t.Errorf("status %v, want \"queued\"", m["status"])
	}
	if _, err := time.Parse(time.RFC3339Nano, m["sent_at"].(string)); err != nil {
		t.Errorf("sent_at: %v", err)
	}

	_, body = h.do(http.MethodGet, apitype.PathContacts, "")
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil || len(list) == 0 {
		t.Fatalf("contacts %s: %v", body, err)
	}
	wantKeys(t, list[0], "peer_id", "name", "state", "added_at", "online", "safety_number", "verified", "keys_changed")

	_, body = h.do(http.MethodGet, apitype.PathDevices, "")
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 {
		t.Fatalf("devices %s: %v", body, err)
	}
	wantKeys(t, list[0], "peer_id", "name", "this", "revoked")

	h.node.receive(aliceID, "hello")
	_, body = h.do(http.MethodGet, apitype.PathConversations, "")
	json.Unmarshal(body, &list)
	wantKeys(t, list[0], "id", "kind", "peer", "last_hlc", "unread", "name", "online", "last")

	_, body = h.do(http.MethodGet, apitype.PathSelf, "")
	wantKeys(t, body, "peer_id", "name", "addrs", "invite", "invite_long", "fingerprint", "data_dir", "named")
}

func TestStatus(t *testing.T) {
	h := start(t)
	resp, body := h.do(http.MethodGet, apitype.PathStatus, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET status: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "reachability", "listen_addrs", "announced_addrs", "observed_addrs", "relays", "peers",
		"dht_mode", "dht_peers", "mdns", "relay_service", "mailbox_service", "public_dht", "public_dht_peers", "private_network", "disk")
	var st struct {
		Relays json.RawMessage   `json:"relays"`
		Peers  []json.RawMessage `json:"peers"`
	}
	if err := json.Unmarshal(body, &st); err != nil || len(st.Peers) != 1 {
		t.Fatalf("status %s: %v", body, err)
	}
	if string(st.Relays) != "[]" {
		t.Errorf("relays %s, want []", st.Relays)
	}
	wantKeys(t, st.Peers[0], "peer_id", "name", "transport", "direction", "addrs")

	got, err := h.client().Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := apitype.NewNetworkStatusView(h.node.Status()); !reflect.DeepEqual(got, want) {
		t.Errorf("client Status:\n%+v\nwant\n%+v", got, want)
	}
	if resp, _ := h.do(http.MethodPost, apitype.PathStatus, "{}"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status: %d", resp.StatusCode)
	}
}

func wantKeys(t *testing.T, obj []byte, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatalf("%s: %v", obj, err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("keys %v, want %v", got, keys)
	}
}

func TestClientErrors(t *testing.T) {
	h := start(t)
	c := h.client()
	_, err := c.Send(t.Context(), "carol", "hi")
	var apiErr *apitype.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Error() != `unknown contact "carol"` {
		t.Fatalf("Send to carol: %#v", err)
	}
	if !errors.Is(err, parley.ErrUnknownContact) {
		t.Errorf("%v does not unwrap to ErrUnknownContact", err)
	}
	_, err = c.Send(t.Context(), "bob", strings.Repeat("x", parley.MaxTextBytes+1))
	if !errors.Is(err, parley.ErrTextTooLong) {
		t.Errorf("oversized text: %v", err)
	}
	_, err = c.AddContact(t.Context(), "garbage", "")
	if !errors.Is(err, parley.ErrInvalidInvite) {
		t.Errorf("bad invite: %v", err)
	}
	for _, cid := range []string{"xyz", strings.Repeat("0", 32), strings.Repeat("a", 31)} {
		_, err = c.SendRequest(t.Context(), apitype.SendRequest{To: "bob", Text: "hi", ClientID: cid})
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "client_id") {
			t.Errorf("client_id %q: %v, want 400 naming client_id", cid, err)
		}
	}
}

func TestEvents(t *testing.T) {
	h := start(t)
	c := h.client()
	ev, err := c.Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	awaitSubscribed(t, h.node)

	m := h.node.receive(aliceID, "ping")
	h.node.publish(parley.Event{Type: parley.EventMessage, Message: &m})
	h.node.publish(parley.Event{Type: parley.EventPresence, PeerID: bobID, Online: true})

	got := next(t, ev)
	if got.Type != parley.EventMessage || got.Message == nil || got.Message.Text != "ping" ||
		got.Message.FromName != "alice" || got.Message.ID != m.ID {
		t.Errorf("message event %+v (message %+v)", got, got.Message)
	}
	got = next(t, ev)
	if got.Type != parley.EventPresence || got.PeerID != bobID || !got.Online || got.Message != nil {
		t.Errorf("presence event %+v", got)
	}

	// The node ends the stream (it stopped, or we fell behind): io.EOF.
	h.node.closeSubscribers()
	if _, err := ev.Next(t.Context()); !errors.Is(err, io.EOF) {
		t.Errorf("after the node closed the stream: %v, want io.EOF", err)
	}
}

func TestEventsEndOnShutdown(t *testing.T) {
	h := start(t)
	ev, err := h.client().Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	awaitSubscribed(t, h.node)

	// A client reads all the time; its read sees the close frame.
	nextErr := make(chan error, 1)
	go func() {
		_, err := ev.Next(t.Context())
		nextErr <- err
	}()
	if err := stopWithin(t, 10*time.Second, h.stop); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := <-nextErr; !errors.Is(err, io.EOF) {
		t.Errorf("after shutdown: %v, want io.EOF", err)
	}
}

func TestEventsClientGoes(t *testing.T) {
	h := start(t)
	ev, err := h.client().Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	awaitSubscribed(t, h.node)
	if err := ev.Close(); err != nil {
		t.Fatal(err)
	}
	// The handler ends the subscription once the client has gone.
	select {
	case <-h.node.dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("subscription still open after the client left")
	}
}

func TestEventsAuthAndOrigin(t *testing.T) {
	h := start(t)
	wsURL := "ws://" + h.host + apitype.PathEvents
	dial := func(url string, hdr http.Header) (*http.Response, error) {
		conn, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{
			HTTPClient: h.http, HTTPHeader: hdr,
		})
		if err == nil {
			conn.CloseNow()
		}
		return resp, err
	}
	bearer := http.Header{"Authorization": {"Bearer " + h.token}}

	resp, err := dial(wsURL, http.Header{"Origin": {"http://evil.example"}, "Authorization": {"Bearer " + h.token}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v, %v; want 403", statusOf(resp), err)
	}
	resp, err = dial(wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %v, %v; want 401", statusOf(resp), err)
	}
	// The token never travels in a URL, not even for the WebSocket: a
	// browser's socket carries the session cookie instead.
	resp, err = dial(wsURL+"?token="+h.token, http.Header{"Origin": {h.base}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("query token: %v, %v; want 401", statusOf(resp), err)
	}
	if _, err := dial(wsURL, bearer); err != nil {
		t.Errorf("bearer: %v", err)
	}
	awaitSubscribed(t, h.node)
}

func statusOf(resp *http.Response) any {
	if resp == nil {
		return "no response"
	}
	return resp.StatusCode
}

func awaitSubscribed(t *testing.T, n *fakeNode) {
	t.Helper()
	select {
	case <-n.subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("the events handler never subscribed")
	}
}

func next(t *testing.T, ev *client.Events) client.EventView {
	t.Helper()
	v, err := ev.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return v
}
