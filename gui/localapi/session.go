package localapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/atomicfile"
)

// Browser sessions. A browser that redeemed a one-time login code holds a
// session cookie: an expiry time and an HMAC of it under a secret kept in
// the data dir. The secret outlives restarts (unlike the API token, fresh on
// every start), so a browser stays logged in while the node restarts, and
// a GUI tab left open reconnects by itself. The cookie never holds the API
// token: it opens the API to the browser only, from this origin only
// (HttpOnly, SameSite=Strict, and guard's origin check).
//
// Deleting the session key file logs every browser out at the next start.
const (
	sessionKeyFile = "gui-session.key"
	sessionKeyLen  = 32
	// sessionTTL is how long a session lasts without a visit; each page
	// load renews it.
	sessionTTL = 30 * 24 * time.Hour
	// sessionVersion starts every cookie value, so the format can change.
	sessionVersion = "v1"
)

// loadOrCreateSessionKey reads the data dir's session secret, creating it
// (mode 0600) on first start.
func loadOrCreateSessionKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, sessionKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, derr := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr == nil && len(key) == sessionKeyLen {
			return key, nil
		}
		// A damaged key only logs browsers out: replace it.
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("localapi: session key: %w", err)
	}
	key := make([]byte, sessionKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("localapi: session key: %w", err)
	}
	if err := atomicfile.Write(path, []byte(base64.RawURLEncoding.EncodeToString(key)+"\n")); err != nil {
		return nil, fmt.Errorf("localapi: session key: %w", err)
	}
	return key, nil
}

// sessionValue is a cookie value valid until expires.
func (s *Server) sessionValue(expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return sessionVersion + "." + exp + "." + s.sessionMAC(exp)
}

func (s *Server) sessionMAC(exp string) string {
	m := hmac.New(sha256.New, s.sessionKey)
	m.Write([]byte("parley gui session\x00" + sessionVersion + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validSession reports whether v is a cookie value this node issued and
// that has not expired.
func (s *Server) validSession(v string, now time.Time) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 || parts[0] != sessionVersion {
		return false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(parts[2]), []byte(s.sessionMAC(parts[1])))
}

// setSession gives the browser a fresh session cookie.
func (s *Server) setSession(w http.ResponseWriter, now time.Time) {
	expires := now.Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie,
		Value:    s.sessionValue(expires),
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// handleLogout answers POST /api/v1/logout: the browser forgets its
// session cookie. (Other browsers stay logged in.)
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}
