package localapi

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// One-time login. The URL a person opens carries a login code, not the API
// token: the code works once and for loginCodeTTL, and the browser gets the
// session cookie in exchange. So a URL left in a terminal's scrollback or a
// browser's history is worthless once used, and the API token itself never
// appears in a URL.
const (
	loginCodeTTL     = 10 * time.Minute
	maxPendingLogins = 64 // bounds memory if codes are asked for and never used
)

// logins holds the codes not yet used.
type logins struct {
	mu    sync.Mutex
	codes map[string]time.Time // guarded by mu; code → expiry
}

// issue makes a new code.
func (l *logins) issue(now time.Time) (string, error) {
	code, err := newToken()
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.codes == nil {
		l.codes = make(map[string]time.Time)
	}
	for c, exp := range l.codes {
		if now.After(exp) {
			delete(l.codes, c)
		}
	}
	if len(l.codes) >= maxPendingLogins {
		for c := range l.codes { // drop an arbitrary old one: the newest must work
			delete(l.codes, c)
			break
		}
	}
	l.codes[code] = now.Add(loginCodeTTL)
	return code, nil
}

// redeem uses a code up: true once per valid, unexpired code.
func (l *logins) redeem(code string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	exp, ok := l.codes[code]
	delete(l.codes, code)
	return ok && !now.After(exp)
}

// NewLoginURL returns a fresh one-time URL that logs a browser in.
func (s *Server) NewLoginURL() (string, error) {
	code, err := s.logins.issue(time.Now())
	if err != nil {
		return "", err
	}
	return s.GUIURL() + "?login=" + url.QueryEscape(code), nil
}

// login trades a one-time code for a session cookie, then redirects to
// the bare URL so the code leaves the address bar. A used or expired code
// gets the page that says how to log in. Codes are redeemed on the GUI
// host only, the one host the cookie is good for: a code used elsewhere
// would be spent on a cookie the API refuses.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if strings.ToLower(r.Host) != s.guiHost || !s.logins.redeem(r.URL.Query().Get("login"), now) {
		s.loginPage(w, r, errLoginUsed)
		return
	}
	if err := s.setSession(w, "", now); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleNewLogin answers POST /api/v1/login with a fresh one-time URL, for
// `parley open`.
func (s *Server) handleNewLogin(w http.ResponseWriter, r *http.Request) {
	u, err := s.NewLoginURL()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": u})
}
