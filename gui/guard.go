package gui

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/parley-im/parley/gui/api"
)

// contentSecurityPolicy lets pages load only this server's own files and
// never be framed (clickjacking).
const contentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// guard runs before every handler: Host check, Origin check, login, token,
// body cap. The order matters: a request from a foreign site is refused
// whether or not it guessed the token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The login URL carries a one-time code: never leak it in a Referer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")

		if !s.hosts[strings.ToLower(r.Host)] {
			writeError(w, &api.Error{Status: http.StatusForbidden, Code: api.CodeForbidden,
				Message: "host not allowed: the API answers only to loopback names"})
			return
		}
		if err := s.checkOrigin(r); err != nil {
			writeError(w, &api.Error{Status: http.StatusForbidden, Code: api.CodeForbidden,
				Message: "cross-origin request refused"})
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Has("login") {
			s.login(w, r)
			return
		}
		if !s.authorized(r) {
			writeError(w, errUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

var errUnauthorized = &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
	Message: "missing or wrong API token (see api.json in the data dir); to log a browser in, run: parley open"}

var errLoginUsed = &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
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

// authorized accepts the token as a bearer header (the CLI, bots) or as
// the session cookie (browsers, whose WebSocket sends it too). Never in a
// URL, where it would land in logs and history.
func (s *Server) authorized(r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.validToken(auth)
	}
	if c, err := r.Cookie(s.cookie); err == nil {
		return s.validToken(c.Value)
	}
	return false
}

func (s *Server) validToken(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}
