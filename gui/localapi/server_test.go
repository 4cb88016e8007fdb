package localapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/localapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness is a real Server on 127.0.0.1:0 over a fakeNode.
type harness struct {
	t    *testing.T
	srv  *localapi.Server
	node *fakeNode
	dir  string
	base string // http://127.0.0.1:PORT
	host string // 127.0.0.1:PORT
	// guiHost is NAME.localhost:PORT, where browsers go; the test's
	// requests reach it by their Host header (DNS need not know it).
	guiHost string
	token   string
	http    *http.Client
	stop    func() error // cancels Serve and returns its error; idempotent
}

func start(t *testing.T) *harness {
	t.Helper()
	return startServer(t, t.TempDir(), newFakeNode(), localapi.Config{})
}

// startServer serves node from dir with cfg's other options.
func startServer(t *testing.T, dir string, node *fakeNode, cfg localapi.Config) *harness {
	t.Helper()
	h := &harness{t: t, node: node, dir: dir}
	cfg = node.config(cfg)
	cfg.DataDir = h.dir
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	srv, err := localapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	f := readAPIFile(t, h.dir)
	h.base, h.token = f.URL, f.Token
	h.host = strings.TrimPrefix(h.base, "http://")
	h.guiHost = strings.TrimPrefix(f.GUI, "http://")
	h.http = &http.Client{
		Transport: &http.Transport{},
		// Tests look at redirects themselves.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var serveErr error
	stopped := false
	h.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			serveErr = <-done
		}
		return serveErr
	}
	t.Cleanup(func() { h.close(t) })
	return h
}

// close stops the server as a node's shutdown does; it is idempotent.
func (h *harness) close(t *testing.T) {
	t.Helper()
	h.http.CloseIdleConnections()
	if err := h.stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := h.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func readAPIFile(t *testing.T, dir string) apitype.File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, localapi.APIFile))
	if err != nil {
		t.Fatal(err)
	}
	var f apitype.File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("api.json: %v", err)
	}
	return f
}

// do sends a request with the bearer token unless edit changes it.
func (h *harness) do(method, path, body string, edit ...func(*http.Request)) (*http.Response, []byte) {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.base+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	for _, e := range edit {
		e(req)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// wantError checks an error response: status, JSON body, code.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) apitype.Error {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var e apitype.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %s: %v", body, err)
	}
	if strings.Contains(e.Message, "\n") {
		t.Errorf("error message spans lines: %q", e.Message)
	}
	if e.Code != code {
		t.Errorf("code %q, want %q (message %q)", e.Code, code, e.Message)
	}
	return e
}

func noAuth(r *http.Request) { r.Header.Del("Authorization") }
func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

func TestAPIFile(t *testing.T) {
	h := start(t)
	path := filepath.Join(h.dir, localapi.APIFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("api.json mode %v, want 0600", mode)
	}
	if h.srv.URL() != h.base+"/" {
		t.Errorf("URL() = %q, api.json url = %q", h.srv.URL(), h.base)
	}
	if !strings.HasPrefix(h.base, "http://127.0.0.1:") {
		t.Errorf("url %q is not on 127.0.0.1", h.base)
	}
	raw, err := base64Len(h.token)
	if err != nil || raw != 32 {
		t.Errorf("token %q: %d bytes, %v; want 32 bytes base64url", h.token, raw, err)
	}
	// Browsers go to a host name of this install's own, on the same port.
	if h.srv.GUIURL() != "http://"+h.guiHost+"/" {
		t.Errorf("GUIURL() = %q, api.json gui = %q", h.srv.GUIURL(), h.guiHost)
	}
	if ok, _ := regexp.MatchString(`^parley-[a-z2-7]{26}\.localhost:`+portOf(t, h.base)+`$`, h.guiHost); !ok {
		t.Errorf("GUI host %q: want parley-RANDOM.localhost on the API's port", h.guiHost)
	}
	login, err := h.srv.NewLoginURL()
	if err != nil || !strings.HasPrefix(login, h.srv.GUIURL()+"?login=") || strings.Contains(login, h.token) {
		t.Errorf("NewLoginURL() = %q, %v: want GUIURL?login=CODE, without the API token", login, err)
	}
	entries, _ := os.ReadDir(h.dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if st, err := e.Info(); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), st.Mode().Perm())
		}
	}
	if want := []string{"api-port.json", "api.json", "gui-session.key", "gui-sessions.json"}; !slices.Equal(names, want) {
		t.Errorf("data dir holds %v, want %v (no temp files left)", names, want)
	}

	if err := h.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("api.json still there after Close: %v", err)
	}
	for _, kept := range []string{"api-port.json", "gui-session.key"} {
		if _, err := os.Stat(filepath.Join(h.dir, kept)); err != nil {
			t.Errorf("%s is gone after Close: the next start needs it (%v)", kept, err)
		}
	}
}

func TestFreshTokenPerStart(t *testing.T) {
	a, b := start(t), start(t)
	if a.token == b.token {
		t.Fatal("two servers share a token")
	}
	// Each token opens only its own server.
	resp, body := a.do(http.MethodGet, apitype.PathSelf, "", header("Authorization", "Bearer "+b.token))
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
}

func TestNewRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		_, err := localapi.New(newFakeNode().config(localapi.Config{Addr: addr, DataDir: t.TempDir()}))
		if err == nil {
			t.Errorf("New(Addr %q) succeeded; want a loopback error", addr)
		}
	}
	if _, err := localapi.New(newFakeNode().config(localapi.Config{})); err == nil {
		t.Error("New without DataDir succeeded")
	}
	if _, err := localapi.New(localapi.Config{DataDir: t.TempDir()}); err == nil {
		t.Error("New without the node's roles succeeded")
	}
	cfg := newFakeNode().config(localapi.Config{DataDir: t.TempDir()})
	cfg.Events = nil
	if _, err := localapi.New(cfg); err == nil || !strings.Contains(err.Error(), "Config.Events is required") {
		t.Errorf("New without Events: %v", err)
	}
}

func TestLocalhostAddr(t *testing.T) {
	srv, err := localapi.New(newFakeNode().config(localapi.Config{Addr: "localhost:0", DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Errorf("URL %q is not a loopback IP", srv.URL())
	}
}

func TestAuth(t *testing.T) {
	h := start(t)
	tests := []struct {
		name string
		path string
		edit func(*http.Request)
		want int
	}{
		{"no token", apitype.PathSelf, noAuth, http.StatusUnauthorized},
		{"wrong token", apitype.PathSelf, header("Authorization", "Bearer "+strings.Repeat("A", 43)), http.StatusUnauthorized},
		{"empty bearer", apitype.PathSelf, header("Authorization", "Bearer "), http.StatusUnauthorized},
		{"basic scheme", apitype.PathSelf, header("Authorization", "Basic "+h.token), http.StatusUnauthorized},
		{"query token outside the WebSocket", apitype.PathSelf + "?token=" + h.token, noAuth, http.StatusUnauthorized},
		{"wrong cookie", apitype.PathSelf, func(r *http.Request) {
			noAuth(r)
			r.AddCookie(&http.Cookie{Name: "parley_session_" + r.URL.Port(), Value: "nope"})
		}, http.StatusUnauthorized},
		{"token as cookie", apitype.PathSelf, func(r *http.Request) {
			noAuth(r)
			r.AddCookie(&http.Cookie{Name: "parley_session_" + r.URL.Port(), Value: h.token})
		}, http.StatusUnauthorized},
		{"index without token", "/", noAuth, http.StatusUnauthorized},
		{"right token", apitype.PathSelf, func(*http.Request) {}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(http.MethodGet, tt.path, "", tt.edit)
			if tt.want != http.StatusOK {
				wantError(t, resp, body, tt.want, apitype.CodeUnauthorized)
				return
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
		})
	}
}

func TestForeignOriginRefused(t *testing.T) {
	h := start(t)
	foreign := []struct {
		name string
		edit func(*http.Request)
	}{
		{"origin", header("Origin", "http://evil.example")},
		{"other loopback port", header("Origin", "http://127.0.0.1:1")},
		{"localhost alias", header("Origin", "http://localhost:"+strings.Split(h.host, ":")[1])},
		{"null origin", header("Origin", "null")},
		{"sec-fetch-site", header("Sec-Fetch-Site", "cross-site")},
		{"same-site is not same-origin", header("Sec-Fetch-Site", "same-site")},
	}
	for _, f := range foreign {
		for _, m := range []struct{ method, path, body string }{
			{http.MethodGet, apitype.PathSelf, ""},
			{http.MethodGet, apitype.PathMessages + "?with=alice&read=true", ""},
			{http.MethodPost, apitype.PathMessages, `{"to":"alice","text":"hi"}`},
			{http.MethodGet, "/?login=" + h.loginCode(t), ""},
		} {
			t.Run(f.name+" "+m.method+" "+m.path, func(t *testing.T) {
				resp, body := h.do(m.method, m.path, m.body, f.edit)
				wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
			})
		}
	}
	if got := h.node.markedRead(); len(got) != 0 {
		t.Errorf("a refused request marked %v read", got)
	}
	if msgs, _ := h.node.Messages(t.Context(), aliceID, parley.Page{}, false); len(msgs) != 0 {
		t.Errorf("a refused request sent %d messages", len(msgs))
	}

	// The server's own origin, as its web app sends it, is fine.
	for _, edit := range []func(*http.Request){
		header("Origin", h.base),
		header("Sec-Fetch-Site", "same-origin"),
		header("Sec-Fetch-Site", "none"), // the user typed the URL
	} {
		resp, body := h.do(http.MethodPost, apitype.PathMessages, `{"to":"alice","text":"hi"}`, edit)
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("same-origin POST: status %d: %s", resp.StatusCode, body)
		}
	}
}

func TestHostChecked(t *testing.T) {
	h := start(t)
	port := strings.Split(h.host, ":")[1]
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.nip.io:" + port, "127.0.0.1:1"} {
		t.Run(host, func(t *testing.T) {
			resp, body := h.do(http.MethodGet, apitype.PathSelf, "", func(r *http.Request) { r.Host = host })
			wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
		})
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port} {
		t.Run(host, func(t *testing.T) {
			resp, body := h.do(http.MethodGet, apitype.PathSelf, "", func(r *http.Request) { r.Host = host })
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
}

func TestCookieLogin(t *testing.T) {
	h := start(t)

	for _, bad := range []string{"/?login=wrong", "/?token=" + h.token} {
		resp, body := h.do(http.MethodGet, bad, "", noAuth)
		wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s got a cookie: %v", bad, resp.Cookies())
		}
	}

	// A code is redeemed on the GUI host only, where the cookie is good;
	// elsewhere it is refused and not spent.
	code := h.loginCode(t)
	resp, body := h.do(http.MethodGet, "/?login="+code, "", noAuth)
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
	if len(resp.Cookies()) != 0 {
		t.Errorf("a login on %s got a cookie: %v", h.host, resp.Cookies())
	}
	resp, body = h.do(http.MethodGet, "/?login="+code, "", noAuth, h.onGUI)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: status %d, Location %q; want 303 to /: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, a lifetime", c)
	}
	if strings.Contains(c.Value, h.token) {
		t.Errorf("the session cookie carries the API token")
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q: the login code could leak in a Referer", got)
	}
	// A login link works once.
	resp, body = h.do(http.MethodGet, "/?login="+code, "", noAuth, h.onGUI)
	wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
	if len(resp.Cookies()) != 0 {
		t.Errorf("a used login code got a cookie again")
	}

	withCookie := h.cookie(c)
	resp, body = h.do(http.MethodGet, "/", "", withCookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / with cookie: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(string(body), `<script type="module" src="/static/app.js">`) {
		t.Errorf("the page does not load the app:\n%s", body)
	}
	// Each visit renews the session.
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].Name != c.Name || cs[0].MaxAge <= 0 {
		t.Errorf("a visit renewed the cookie as %v", cs)
	}
	// The cookie opens the API too (the web app's fetches carry it).
	resp, body = h.do(http.MethodGet, apitype.PathSelf, "", withCookie)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("API with cookie: %d %s", resp.StatusCode, body)
	}
}

func TestBadBodies(t *testing.T) {
	h := start(t)
	for _, tt := range []struct{ name, body string }{
		{"truncated", `{"to":"alice"`},
		{"not an object", `"hi"`},
		{"unknown field", `{"to":"alice","text":"hi","bcc":"eve"}`},
		{"two values", `{"to":"alice","text":"hi"}{}`},
		{"empty", ``},
		{"wrong type", `{"to":"alice","text":7}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(http.MethodPost, apitype.PathMessages, tt.body)
			wantError(t, resp, body, http.StatusBadRequest, apitype.CodeBadRequest)
		})
	}
	if msgs, _ := h.node.Messages(t.Context(), aliceID, parley.Page{}, false); len(msgs) != 0 {
		t.Errorf("a bad body sent %d messages", len(msgs))
	}
}

func TestOversizedBody(t *testing.T) {
	h := start(t)
	body := `{"to":"alice","text":"` + strings.Repeat("x", apitype.MaxBodyBytes) + `"}`
	resp, b := h.do(http.MethodPost, apitype.PathMessages, body)
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, apitype.CodeTooLarge)

	// Under the cap but over the text limit: the node's own error.
	body = `{"to":"alice","text":"` + strings.Repeat("x", 40<<10) + `"}`
	resp, b = h.do(http.MethodPost, apitype.PathMessages, body)
	wantError(t, resp, b, http.StatusBadRequest, "text_too_long")
}

func TestErrorMapping(t *testing.T) {
	h := start(t)
	h.node.addContact(parley.Contact{PeerID: "12D3KooWAlice2", Name: "alice", State: parley.ContactAccepted}) // second "alice"
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"unknown contact", http.MethodGet, apitype.PathMessages + "?with=carol", "", 404, "unknown_contact", `unknown contact "carol"`},
		{"unknown recipient", http.MethodPost, apitype.PathMessages, `{"to":"carol","text":"hi"}`, 404, "unknown_contact", `unknown contact "carol"`},
		{"ambiguous", http.MethodPost, apitype.PathMessages, `{"to":"alice","text":"hi"}`, 409, "ambiguous", `ambiguous name: 2 contacts are called "alice"; use a peer ID`},
		{"no recipient", http.MethodPost, apitype.PathMessages, `{"text":"hi"}`, 400, apitype.CodeBadRequest, ""},
		{"empty text", http.MethodPost, apitype.PathMessages, `{"to":"bob","text":""}`, 400, "empty_text", "message text is empty"},
		{"internal", http.MethodPost, apitype.PathMessages, `{"to":"bob","text":"boom"}`, 500, apitype.CodeInternal, "internal error"},
		{"bad invite", http.MethodPost, apitype.PathContacts, `{"invite":"garbage"}`, 400, "invalid_invite", "invalid invite code: no checksum"},
		{"missing invite", http.MethodPost, apitype.PathContacts, `{"name":"x"}`, 400, "invalid_invite", ""},
		{"accept unknown", http.MethodPost, "/api/v1/requests/12D3KooWNobody/accept", "", 404, apitype.CodeNotFound, ""},
		{"bad limit", http.MethodGet, apitype.PathMessages + "?with=bob&limit=-1", "", 400, apitype.CodeBadRequest, ""},
		{"bad read", http.MethodGet, apitype.PathMessages + "?with=bob&read=maybe", "", 400, apitype.CodeBadRequest, ""},
		{"no with", http.MethodGet, apitype.PathMessages, "", 400, apitype.CodeBadRequest, ""},
		{"wrong method", http.MethodDelete, apitype.PathSelf, "", 405, apitype.CodeMethod, ""},
		{"unknown endpoint", http.MethodGet, "/api/v1/nope", "", 404, apitype.CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(tt.method, tt.path, tt.body)
			e := wantError(t, resp, body, tt.status, tt.code)
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
			if strings.Contains(e.Message, "secret") || strings.Contains(e.Message, "badger") {
				t.Errorf("message leaks internals: %q", e.Message)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := start(t)
	resp, _ := h.do(http.MethodGet, apitype.PathSelf, "")
	for k, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
}

func base64Len(s string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return len(b), err
}

// stopWithin fails the test if f does not return in time: a hung shutdown
// must show as a failure, not as a test-binary timeout.
func stopWithin(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("did not stop within %v", d)
		return nil
	}
}

func TestCloseStopsServe(t *testing.T) {
	dir := t.TempDir()
	srv, err := localapi.New(newFakeNode().config(localapi.Config{DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	// Serve may not have started yet; Close must stop it either way.
	if err := stopWithin(t, 10*time.Second, srv.Close); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, localapi.APIFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("api.json after Close: %v", err)
	}
}

// loginCode is a fresh one-time login code, asked of the API as
// `parley open` does.
func (h *harness) loginCode(t *testing.T) string {
	t.Helper()
	resp, body := h.do(http.MethodPost, apitype.PathLogin, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", apitype.PathLogin, resp.StatusCode, body)
	}
	var v struct{ URL string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(v.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("login")
}
