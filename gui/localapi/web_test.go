package localapi_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/localapi"
	"github.com/parley-im/parley/identity"
)

// login redeems a fresh one-time code as a browser would and returns the
// session cookie it got.
func (h *harness) login(t *testing.T) *http.Cookie {
	t.Helper()
	resp, body := h.do(http.MethodGet, "/?login="+h.loginCode(t), "", noAuth, h.onGUI)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v: %s", resp.StatusCode, resp.Cookies(), body)
	}
	return resp.Cookies()[0]
}

// onGUI sends the request to the GUI's host name, as a browser does.
func (h *harness) onGUI(r *http.Request) { r.Host = h.guiHost }

// cookie makes the request a browser's: to the GUI host, with the
// session cookie c instead of the API token.
func (h *harness) cookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) {
		noAuth(r)
		h.onGUI(r)
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
}

func TestSetName(t *testing.T) {
	h := start(t)
	cfgSrv := startWith(t, localapi.Config{DefaultName: "Parley user"}, func(n *fakeNode) { n.self.Name = "Parley user" })

	var self apitype.SelfView
	_, body := cfgSrv.do(http.MethodGet, apitype.PathSelf, "")
	if err := json.Unmarshal(body, &self); err != nil || self.Named || self.Name != "Parley user" {
		t.Fatalf("a node with the default name: %s (%v); want named false", body, err)
	}
	resp, body := cfgSrv.do(http.MethodPut, apitype.PathSelf, `{"name":"  Alice  "}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT self: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &self); err != nil || !self.Named || self.Name != "Alice" {
		t.Fatalf("after PUT: %s (%v); want Alice, named", body, err)
	}
	if got := cfgSrv.node.Self().Name; got != "Alice" {
		t.Errorf("node's name %q, want the trimmed name", got)
	}

	for _, tt := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"name":""}`, 400, apitype.CodeBadRequest},
		{`{"name":"   "}`, 400, apitype.CodeBadRequest},
		{`{"name":"a\nb"}`, 400, "malformed"},
		{`{"nom":"x"}`, 400, apitype.CodeBadRequest},
	} {
		resp, body := h.do(http.MethodPut, apitype.PathSelf, tt.body)
		wantError(t, resp, body, tt.status, tt.code)
	}
	if got := h.node.Self().Name; got != "me" {
		t.Errorf("a refused name changed the name to %q", got)
	}
	// Without Config.DefaultName every name counts as chosen.
	_, body = h.do(http.MethodGet, apitype.PathSelf, "")
	if err := json.Unmarshal(body, &self); err != nil || !self.Named {
		t.Errorf("self without a default name: %s", body)
	}

	got, err := h.client().SetName(t.Context(), "bob")
	if err != nil || got.Name != "bob" {
		t.Errorf("client SetName: %+v, %v", got, err)
	}
}

func TestSelfQR(t *testing.T) {
	h := start(t)
	// A real short code, with the longest address hint that fits: the QR
	// code must stay version 5 or below (37×37 modules), which a phone
	// reads off a phone-sized screen at arm's length.
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	code, err := identity.EncodeShortInvite(id.Key.GetPublic(), make([]byte, identity.InviteSecretSize),
		ma.StringCast("/ip4/203.0.113.77/udp/65535/quic-v1"))
	if err != nil {
		t.Fatal(err)
	}
	h.node.fakeMessages.mu.Lock()
	h.node.fakeMessages.self.Invite = code
	h.node.fakeMessages.mu.Unlock()
	resp, body := h.do(http.MethodGet, apitype.PathSelfQR, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("GET qr: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var svg struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Paths   []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(body, &svg); err != nil || len(svg.Paths) != 1 {
		t.Fatalf("not the SVG of a QR code (%v):\n%s", err, body)
	}
	// Version 1 is 21 modules; each version adds 4; 4 modules of quiet zone
	// on each side.
	var n int
	if _, err := fmt.Sscanf(svg.ViewBox, "0 0 %d", &n); err != nil || (n-8-21)%4 != 0 || n < 29 {
		t.Errorf("viewBox %q is not a QR code's size", svg.ViewBox)
	}
	if version := (n-8-21)/4 + 1; version > 5 {
		t.Errorf("a short invite of %d characters made a QR code of version %d, over 5", len(code), version)
	}
	if !regexp.MustCompile(`^(M\d+ \d+h\d+v1h-\d+z)+$`).MatchString(svg.Paths[0].D) {
		t.Errorf("path %.80q… is not made of module runs", svg.Paths[0].D)
	}
	resp, body = h.do(http.MethodGet, apitype.PathSelfQR, "", noAuth)
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
}

func TestContentSecurityPolicy(t *testing.T) {
	h := start(t)
	c := h.login(t)
	for _, path := range []string{"/", "/static/app.js", "/static/style.css", apitype.PathSelf, "/api/v1/nope"} {
		resp, body := h.do(http.MethodGet, path, "", h.cookie(c))
		if path != "/api/v1/nope" && resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';",
			"img-src 'self' data:", "connect-src 'self' ws://" + h.guiHost + ";", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q allows unsafe code", path, csp)
		}
		for k, want := range map[string]string{
			"X-Frame-Options":              "DENY",
			"X-Content-Type-Options":       "nosniff",
			"Referrer-Policy":              "no-referrer",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, want)
			}
		}
	}
	// Modules must be served as JavaScript, or the browser refuses them
	// (nosniff).
	resp, _ := h.do(http.MethodGet, "/static/app.js", "", noAuth)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("app.js served as %q", ct)
	}
}

func TestPagesWithoutSession(t *testing.T) {
	h := start(t)
	html := header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")

	// The app's files hold nothing private: the login page needs them.
	for _, path := range []string{"/static/app.js", "/static/style.css", "/static/icon.svg"} {
		if resp, body := h.do(http.MethodGet, path, "", noAuth); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a session: %d %s", path, resp.StatusCode, body)
		}
	}
	// The page itself refuses and says how to log in.
	resp, body := h.do(http.MethodGet, "/", "", noAuth, html)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / without a session: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "parley open") || strings.Contains(string(body), "app.js") {
		t.Errorf("the refusal page:\n%s", body)
	}
	resp, body = h.do(http.MethodGet, "/?login=used-or-wrong", "", noAuth, html)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "already used or has expired") {
		t.Errorf("a bad login link: %d\n%s", resp.StatusCode, body)
	}
	// API clients keep getting JSON, whatever they accept.
	resp, body = h.do(http.MethodGet, apitype.PathSelf, "", noAuth, html)
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
	// Still no path around the Host and Origin checks.
	resp, body = h.do(http.MethodGet, "/static/app.js", "", func(r *http.Request) { r.Host = "evil.example" })
	wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
}

func TestLogout(t *testing.T) {
	h := start(t)
	c := h.login(t)
	resp, body := h.do(http.MethodPost, apitype.PathLogout, "", h.cookie(c))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].Name != c.Name || cs[0].MaxAge >= 0 {
		t.Errorf("logout set %v; want the session cookie deleted", cs)
	}
}

// startWith starts a harness whose server has cfg's options (DataDir, Node
// and Logger are filled in) after edit ran on the fake node.
func startWith(t *testing.T, cfg localapi.Config, edit func(*fakeNode)) *harness {
	t.Helper()
	n := newFakeNode()
	edit(n)
	return startServer(t, t.TempDir(), n, cfg)
}

func TestStablePort(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, dir, newFakeNode(), localapi.Config{})
	port := portOf(t, first.base)
	first.close(t)

	again := startServer(t, dir, newFakeNode(), localapi.Config{})
	if got := portOf(t, again.base); got != port {
		t.Errorf("after a restart the API is on port %s, want %s", got, port)
	}
	again.close(t)

	// Taken by someone else: a fresh port, remembered from then on.
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	moved := startServer(t, dir, newFakeNode(), localapi.Config{})
	ln.Close()
	newPort := portOf(t, moved.base)
	if newPort == port {
		t.Fatal("a taken port was used")
	}
	moved.close(t)
	back := startServer(t, dir, newFakeNode(), localapi.Config{})
	if got := portOf(t, back.base); got != newPort {
		t.Errorf("after the move the API is on %s, want the new port %s", got, newPort)
	}
	back.close(t)

	// An explicit address wins over the remembered port.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	want := free.Addr().String()
	free.Close()
	explicit := startServer(t, dir, newFakeNode(), localapi.Config{Addr: want})
	if explicit.host != want {
		t.Errorf("with Addr %s the API listens on %s", want, explicit.host)
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, dir, newFakeNode(), localapi.Config{})
	c := first.login(t)
	first.close(t)

	again := startServer(t, dir, newFakeNode(), localapi.Config{})
	if again.token == first.token {
		t.Error("the API token did not change across a restart")
	}
	if again.guiHost != first.guiHost {
		t.Errorf("the GUI moved from %s to %s across a restart", first.guiHost, again.guiHost)
	}
	if resp, body := again.do(http.MethodGet, apitype.PathSelf, "", again.cookie(c)); resp.StatusCode != http.StatusOK {
		t.Errorf("the session after a restart: %d %s", resp.StatusCode, body)
	}
	// The old token does not open the new server: only browser sessions
	// outlive a restart.
	resp, body := again.do(http.MethodGet, apitype.PathSelf, "", header("Authorization", "Bearer "+first.token))
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)

	// Another node (another data dir) does not take this node's session,
	// even under the same cookie name.
	other := startServer(t, t.TempDir(), newFakeNode(), localapi.Config{})
	forged := &http.Cookie{Name: "parley_session_" + portOf(t, other.base), Value: c.Value}
	resp, body = other.do(http.MethodGet, apitype.PathSelf, "", other.cookie(forged))
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)

	// Tampering shows.
	parts := strings.Split(c.Value, ".")
	for _, v := range []string{
		parts[0] + "." + parts[1] + ".9999999999." + parts[3],             // a later expiry under the old MAC
		parts[0] + ".AAAAAAAAAAAAAAAAAAAAAA." + parts[2] + "." + parts[3], // another session
		"v1." + parts[2] + "." + parts[3],                                 // the old format
		c.Value + "x",
		"",
	} {
		bad := &http.Cookie{Name: c.Name, Value: v}
		resp, body := again.do(http.MethodGet, apitype.PathSelf, "", again.cookie(bad))
		wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
	}

	// Losing the key logs browsers out; the server makes a new one.
	again.close(t)
	if err := os.Remove(filepath.Join(dir, "gui-session.key")); err != nil {
		t.Fatal(err)
	}
	fresh := startServer(t, dir, newFakeNode(), localapi.Config{})
	resp, body = fresh.do(http.MethodGet, apitype.PathSelf, "", fresh.cookie(c))
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
}

func portOf(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func TestMessagesBefore(t *testing.T) {
	h := start(t)
	var all []parley.Message
	for i := range 130 {
		all = append(all, h.node.receive(aliceID, fmt.Sprintf("m%03d", i)))
	}
	page := func(query string) []apitype.MessageView {
		t.Helper()
		resp, body := h.do(http.MethodGet, apitype.PathMessages+"?with=alice&"+query, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET messages?%s: %d %s", query, resp.StatusCode, body)
		}
		var ms []apitype.MessageView
		if err := json.Unmarshal(body, &ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	texts := func(ms []apitype.MessageView) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Text)
		}
		return strings.Join(out, " ")
	}
	want := func(from, to int) string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, all[i].Text)
		}
		return strings.Join(out, " ")
	}

	// Scrolling up from the newest page, 40 at a time, reaches every
	// message once, in order.
	got := page("limit=40")
	if texts(got) != want(90, 130) {
		t.Fatalf("newest page: %s", texts(got))
	}
	var pages []string
	for oldest := got[0].ID; ; {
		p := page("limit=40&before=" + oldest.String())
		if len(p) == 0 {
			break
		}
		pages = append(pages, texts(p))
		oldest = p[0].ID
	}
	if len(pages) != 3 || pages[0] != want(50, 90) || pages[1] != want(10, 50) || pages[2] != want(0, 10) {
		t.Errorf("older pages: %q", pages)
	}
	if got := page("before=" + all[5].ID.String()); texts(got) != want(0, 5) {
		t.Errorf("all before the 6th: %s", texts(got))
	}
	if got := page("limit=3&before=" + all[100].ID.String()); texts(got) != want(97, 100) {
		t.Errorf("3 before the 101st: %s", texts(got))
	}
	// Scrolling down (a bot catching up) from a message it saw.
	if got := page("limit=3&after=" + all[100].ID.String()); texts(got) != want(101, 104) {
		t.Errorf("3 after the 101st: %s", texts(got))
	}
	if got := page("after=" + all[125].ID.String()); texts(got) != want(126, 130) {
		t.Errorf("all after the 126th: %s", texts(got))
	}
	if len(h.node.markedRead()) != 0 {
		t.Error("paging marked messages read")
	}

	unknown := parley.NewEnvelopeID([]byte("not here"))
	resp, body := h.do(http.MethodGet, apitype.PathMessages+"?with=alice&limit=5&before="+unknown.String(), "")
	wantError(t, resp, body, http.StatusNotFound, apitype.CodeNotFound)
	resp, body = h.do(http.MethodGet, apitype.PathMessages+"?with=alice&before=xyz", "")
	wantError(t, resp, body, http.StatusBadRequest, apitype.CodeBadRequest)
	resp, body = h.do(http.MethodGet, apitype.PathMessages+"?with=alice&read=true&before="+all[5].ID.String(), "")
	wantError(t, resp, body, http.StatusBadRequest, apitype.CodeBadRequest)

	// Groups page the same way.
	g := h.node.addGroup("friends", parley.GroupJoined, parley.RoleAdmin, aliceID)
	var gm []parley.Message
	for i := range 5 {
		gm = append(gm, h.node.receiveGroup(g, aliceID, fmt.Sprintf("g%d", i)))
	}
	resp, body = h.do(http.MethodGet, "/api/v1/groups/"+g.String()+"/messages?limit=2&before="+gm[3].ID.String(), "")
	var ms []apitype.MessageView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ms) != nil || texts(ms) != "g1 g2" {
		t.Errorf("group page: %d %s", resp.StatusCode, body)
	}
}

func TestConversationPreview(t *testing.T) {
	h := start(t)
	h.node.receive(aliceID, "first")
	last := h.node.receive(aliceID, "latest news")
	g := h.node.addGroup("friends", parley.GroupJoined, parley.RoleMember, bobID, "12D3KooWNotAContact")
	h.node.receiveGroup(g, "12D3KooWNotAContact", "hello group")

	var convs []apitype.ConversationView
	_, body := h.do(http.MethodGet, apitype.PathConversations, "")
	if err := json.Unmarshal(body, &convs); err != nil || len(convs) != 2 {
		t.Fatalf("conversations %s: %v", body, err)
	}
	dm, grp := convs[0], convs[1]
	if !dm.Online || dm.Last == nil || dm.Last.ID != last.ID || dm.Last.Text != "latest news" || dm.Last.FromName != "alice" {
		t.Errorf("DM view: %+v, last %+v", dm, dm.Last)
	}
	if grp.Online || grp.Last == nil || grp.Last.Text != "hello group" || grp.Last.FromName != "card:12D3KooWNotAContact" {
		t.Errorf("group view: %+v, last %+v", grp, grp.Last)
	}
	if len(h.node.markedRead()) != 0 || len(h.node.groupsMarkedRead()) != 0 {
		t.Error("listing conversations marked messages read")
	}
}

// Logging out ends the session on the server: the old cookie is refused
// afterwards, also by the next run of the node on the same data dir.
func TestLogoutRevokesSession(t *testing.T) {
	dir := t.TempDir()
	h := startServer(t, dir, newFakeNode(), localapi.Config{})
	c, other := h.login(t), h.login(t)
	h.logout(t, apitype.PathLogout, h.cookie(c))
	h.wantSession(t, "the session logged out", c, http.StatusUnauthorized)
	h.wantSession(t, "another browser's session", other, http.StatusOK)
	h.close(t)

	again := startServer(t, dir, newFakeNode(), localapi.Config{})
	again.wantSession(t, "the session logged out, after a restart", c, http.StatusUnauthorized)
	again.wantSession(t, "another browser's session, after a restart", other, http.StatusOK)
}

// "Log out all browsers" ends every session, asked by a browser or by the
// CLI (the API token), and for good: a restart brings none back.
func TestLogoutAllRevokesEverySession(t *testing.T) {
	dir := t.TempDir()
	h := startServer(t, dir, newFakeNode(), localapi.Config{})
	one, two := h.login(t), h.login(t)
	h.logout(t, apitype.PathLogoutAll, h.cookie(one))
	h.wantSession(t, "the browser that logged all out", one, http.StatusUnauthorized)
	h.wantSession(t, "the other browser", two, http.StatusUnauthorized)
	// A browser logged in afterwards works; the CLI logs it out too.
	three := h.login(t)
	h.wantSession(t, "a session begun after", three, http.StatusOK)
	h.logout(t, apitype.PathLogoutAll)
	h.close(t)

	again := startServer(t, dir, newFakeNode(), localapi.Config{})
	for _, c := range []*http.Cookie{one, two, three} {
		again.wantSession(t, "a session after log out all and a restart", c, http.StatusUnauthorized)
	}
}

// logout posts to path (PathLogout, PathLogoutAll), with the API token
// unless edit says otherwise.
func (h *harness) logout(t *testing.T, path string, edit ...func(*http.Request)) {
	t.Helper()
	if resp, body := h.do(http.MethodPost, path, "", edit...); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, body)
	}
}

// wantSession checks what the API answers the browser holding c.
func (h *harness) wantSession(t *testing.T, what string, c *http.Cookie, status int) {
	t.Helper()
	if resp, body := h.do(http.MethodGet, apitype.PathContacts, "", h.cookie(c)); resp.StatusCode != status {
		t.Errorf("%s: %d, want %d: %s", what, resp.StatusCode, status, body)
	}
}

// Browsers send a cookie to every port of its host. A web server on
// another port of 127.0.0.1 that got the session cookie replays it as the
// request it received would be: to 127.0.0.1 (or localhost) on the API's
// port. The cookie alone opens nothing.
func TestSessionCookieReplayedFromAnotherPort(t *testing.T) {
	h := start(t)
	c := h.login(t)
	port := portOf(t, h.base)
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port} {
		replay := func(r *http.Request) {
			noAuth(r)
			r.Host = host
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		for _, path := range []string{apitype.PathContacts, apitype.PathSelf} {
			resp, body := h.do(http.MethodGet, path, "", replay)
			wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
		}
	}
}

// A browser's event stream ends with its session: logging out closes it
// rather than letting it stream on.
func TestLogoutEndsEventStream(t *testing.T) {
	h := start(t)
	c := h.login(t)
	// Dial the API's address whatever host the URL names, as a browser
	// resolving NAME.localhost does.
	onLoopback := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, h.host)
		},
	}}
	defer onLoopback.CloseIdleConnections()
	conn, _, err := websocket.Dial(t.Context(), "ws://"+h.guiHost+apitype.PathEvents, &websocket.DialOptions{
		HTTPClient: onLoopback,
		HTTPHeader: http.Header{"Origin": {"http://" + h.guiHost}, "Cookie": {c.Name + "=" + c.Value}},
	})
	if err != nil {
		t.Fatalf("the browser's event stream: %v", err)
	}
	defer conn.CloseNow()
	awaitSubscribed(t, h.node)

	h.logout(t, apitype.PathLogout, h.cookie(c))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue // an event sent before the logout
		}
		if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
			t.Fatalf("the stream ended with %v (%v), want StatusPolicyViolation", got, err)
		}
		return
	}
}
