package localapi

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/parley-im/parley/gui/apitype"
)

// contentSecurityPolicy lets pages run only this server's own scripts and
// styles (no inline code, no eval), talk only to this server (its HTTP API
// and its WebSocket: connect-src names the ws: origin, which 'self' does not
// cover in every browser), show only its own images (and data: URLs), and
// never be framed (clickjacking). host is the request's Host, already
// checked against the loopback allow-list; "" leaves the WebSocket out.
func contentSecurityPolicy(host string) string {
	connect := "'self'"
	if host != "" {
		connect += " ws://" + host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; font-src 'self'; manifest-src 'self'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// securityHeaders go on every response, errors included; host as for
// contentSecurityPolicy.
func securityHeaders(h http.Header, host string) {
	h.Set("Content-Security-Policy", contentSecurityPolicy(host))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The login URL carries a one-time code: never leak it in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	// No other site's window may hold a handle on ours, nor load our
	// responses as subresources.
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// The GUI's own pages may use the camera, to scan a contact's safety
	// number; nothing else may use it or any other device.
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()")
}

// guard runs before every handler: Host check, Origin check, login, token
// or session, body cap (uploads have their own). The order matters: a
// request from a foreign site is refused whether or not it guessed the
// token.
func (s *Server) guard(next http.Handler) http.Handler {
	static := http.StripPrefix("/static/", http.FileServerFS(s.pages.static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if !s.hosts[host] {
			securityHeaders(w.Header(), "")
			writeError(w, &apitype.Error{Status: http.StatusForbidden, Code: apitype.CodeForbidden,
				Message: "host not allowed: the API answers only to loopback names"})
			return
		}
		securityHeaders(w.Header(), host)
		if err := s.checkOrigin(r); err != nil {
			writeError(w, &apitype.Error{Status: http.StatusForbidden, Code: apitype.CodeForbidden,
				Message: "cross-origin request refused"})
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Has("login") {
			s.login(w, r)
			return
		}
		// The GUI's code, styles and icons hold nothing private; the page
		// that says how to log in needs them before any login.
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/static/") {
			static.ServeHTTP(w, r)
			return
		}
		// The API's description is public (it is in the repository), and a
		// bot's author reads it before they hold a token.
		if r.Method == http.MethodGet && r.URL.Path == apitype.PathOpenAPI {
			next.ServeHTTP(w, r)
			return
		}
		if !s.authorized(r) {
			s.loginPage(w, r, errUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == apitype.PathFileUpload:
			// An upload is a whole file: its handler streams it to disk
			// under a cap of its own.
		case r.Method == http.MethodPost && isSafetyScan(r.URL.Path):
			r.Body = http.MaxBytesReader(w, r.Body, apitype.MaxScanBytes) // an image
		default:
			r.Body = http.MaxBytesReader(w, r.Body, apitype.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// isSafetyScan tells whether path is PathSafetyScan's, for some contact.
func isSafetyScan(path string) bool {
	prefix, suffix, _ := strings.Cut(apitype.PathSafetyScan, "{contact}")
	return strings.HasPrefix(path, prefix) && strings.HasSuffix(path, suffix) && len(path) > len(prefix)+len(suffix)
}

var errUnauthorized = &apitype.Error{Status: http.StatusUnauthorized, Code: apitype.CodeUnauthorized,
	Message: "missing or wrong API token (see api.json in the data dir); to log a browser in, run: parley open"}

var errLoginUsed = &apitype.Error{Status: http.StatusUnauthorized, Code: apitype.CodeUnauthorized,
	Message: "this login link was already used or has expired; get a new one with: parley open"}

// checkOrigin applies net/http's cross-origin protection to every method.
// Out of the box it exempts GET, HEAD and OPTIONS as safe, but here reads
// are private (CORS would hide the answer, not stop the request) and one of
// them has an effect (?read=true sends read receipts), and the WebSocket
// opens with a GET. So every request is checked as if it were a POST.
func (s *Server) checkOrigin(r *http.Request) error {
	asPost := *r
	asPost.Method = http.MethodPost
	return s.cop.Check(&asPost)
}

// authorized accepts the API token as a bearer header (the CLI, bots) or
// a session cookie sent to the GUI host (browsers, whose WebSocket sends it
// too). Never a token in a URL, where it would land in logs and history.
func (s *Server) authorized(r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(auth), []byte(s.token)) == 1
	}
	_, ok := s.browserSession(r)
	return ok
}
