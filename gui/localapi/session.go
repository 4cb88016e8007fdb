package localapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/internal/atomicfile"
)

// Browser sessions. A browser that redeemed a one-time login code holds a
// session cookie: a session ID, an expiry time and an HMAC of both under a
// secret kept in the data dir. The secret outlives restarts (unlike the API
// token, fresh on every start), so a browser stays logged in while the node
// restarts, and a GUI tab left open reconnects by itself. The cookie never
// holds the API token: it opens the API to the browser only, from this
// origin only (HttpOnly, SameSite=Strict, and guard's origin check).
//
// The cookie belongs to a host name of this install's own,
// parley-<random>.localhost: browsers resolve it to loopback, and send the
// cookie to that name only, never to 127.0.0.1 or localhost, where any
// local program can listen on another port. The API accepts the cookie on
// that name only (docs/design-notes.md, "Local API").
//
// Logging out revokes the session: its ID is kept, in the data dir, until
// every cookie that carries it has expired. Logging out every browser
// replaces the secret. Deleting the session key file does that too, at the
// next start.
const (
	sessionKeyFile   = "gui-session.key"
	sessionStateFile = "gui-sessions.json" // the host name and the revoked sessions
	sessionKeyLen    = 32
	sessionIDLen     = 16
	// sessionTTL is how long a session lasts without a visit; each page
	// load renews it.
	sessionTTL = 30 * 24 * time.Hour
	// sessionVersion starts every cookie value, so the format can change.
	sessionVersion = "v2"
)

// guiHostPattern is what a GUI host name looks like: 128 random bits.
var guiHostPattern = regexp.MustCompile(`^parley-[a-z2-7]{26}\.localhost$`)

// sessions is what session cookies are checked against.
type sessions struct {
	keyPath, statePath string
	host               string // parley-<random>.localhost; fixed for the install

	mu      sync.Mutex
	key     []byte           // guarded by mu; signs cookies
	revoked map[string]int64 // guarded by mu; session ID → Unix time its last cookie expires
	// changed is closed, and replaced, when sessions are revoked: open
	// event streams then check their session again. Guarded by mu.
	changed chan struct{}
}

// sessionState is the JSON of sessionStateFile.
type sessionState struct {
	Host    string           `json:"host"`
	Revoked map[string]int64 `json:"revoked"`
}

// loadSessions reads the data dir's session secret and state, creating
// them (mode 0600) on first start. A missing or damaged state file may
// have held revocations: the secret is then replaced, logging every
// browser out, rather than letting a revoked session back in.
func loadSessions(dataDir string, now time.Time) (*sessions, error) {
	ss := &sessions{
		keyPath:   filepath.Join(dataDir, sessionKeyFile),
		statePath: filepath.Join(dataDir, sessionStateFile),
		changed:   make(chan struct{}),
	}
	st, err := readSessionState(ss.statePath)
	if err != nil {
		return nil, err
	}
	if st == nil {
		host, err := newGUIHost()
		if err != nil {
			return nil, err
		}
		st = &sessionState{Host: host}
		if err := ss.newKey(); err != nil {
			return nil, err
		}
	} else if ss.key, err = readSessionKey(ss.keyPath); err != nil {
		return nil, err
	} else if ss.key == nil {
		// A lost or damaged key only logs browsers out: replace it.
		if err := ss.newKey(); err != nil {
			return nil, err
		}
	}
	ss.host = st.Host
	ss.revoked = st.Revoked
	if ss.revoked == nil {
		ss.revoked = make(map[string]int64)
	}
	if err := ss.saveLocked(now); err != nil {
		return nil, err
	}
	return ss, nil
}

// readSessionState is the state file's content; nil when it is missing or
// damaged.
func readSessionState(path string) (*sessionState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("localapi: session state: %w", err)
	}
	var st sessionState
	if json.Unmarshal(b, &st) != nil || !guiHostPattern.MatchString(st.Host) {
		return nil, nil
	}
	return &st, nil
}

// readSessionKey is the key file's secret; nil when it is missing or
// damaged.
func readSessionKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("localapi: session key: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != sessionKeyLen {
		return nil, nil
	}
	return key, nil
}

// newKey makes and stores a fresh secret: every cookie signed before is
// void. The caller holds mu, or is alone with ss.
func (ss *sessions) newKey() error {
	key := make([]byte, sessionKeyLen)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("localapi: session key: %w", err)
	}
	// In memory first: should the disk fail, the browsers are logged out
	// for this run at least.
	ss.key = key
	if err := atomicfile.Write(ss.keyPath, []byte(base64.RawURLEncoding.EncodeToString(key)+"\n")); err != nil {
		return fmt.Errorf("localapi: session key: %w", err)
	}
	return nil
}

// saveLocked drops the revocations that no cookie needs any more and
// writes the state file. The caller holds mu, or is alone with ss.
func (ss *sessions) saveLocked(now time.Time) error {
	for id, exp := range ss.revoked {
		if now.Unix() >= exp {
			delete(ss.revoked, id)
		}
	}
	b, err := json.Marshal(sessionState{Host: ss.host, Revoked: ss.revoked})
	if err != nil {
		return fmt.Errorf("localapi: session state: %w", err)
	}
	if err := atomicfile.Write(ss.statePath, append(b, '\n')); err != nil {
		return fmt.Errorf("localapi: session state: %w", err)
	}
	return nil
}

// newGUIHost is a fresh host name for the GUI, unguessable by other sites
// and local programs.
func newGUIHost() (string, error) {
	b := make([]byte, sessionIDLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("localapi: gui host name: %w", err)
	}
	return "parley-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)) + ".localhost", nil
}

// issue is a cookie value for session id (a new session when id is "")
// valid until expires.
func (ss *sessions) issue(id string, expires time.Time) (string, error) {
	if id == "" {
		b := make([]byte, sessionIDLen)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("localapi: session: %w", err)
		}
		id = base64.RawURLEncoding.EncodeToString(b)
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return sessionVersion + "." + id + "." + exp + "." + ss.macLocked(id, exp), nil
}

func (ss *sessions) macLocked(id, exp string) string {
	m := hmac.New(sha256.New, ss.key)
	m.Write([]byte("parley gui session\x00" + sessionVersion + "\x00" + id + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// check returns the session ID of cookie value v, if this node issued it
// and it has neither expired nor been revoked.
func (ss *sessions) check(v string, now time.Time) (id string, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != sessionVersion {
		return "", false
	}
	id = parts[1]
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || now.Unix() >= exp {
		return "", false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !hmac.Equal([]byte(parts[3]), []byte(ss.macLocked(id, parts[2]))) {
		return "", false
	}
	if _, gone := ss.revoked[id]; gone {
		return "", false
	}
	return id, true
}

// revoke ends session id: no cookie of it is accepted again, also after a
// restart. Cookies for it were issued before now, so they expire before
// now+sessionTTL; the ID is kept until then.
func (ss *sessions) revoke(id string, now time.Time) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.revoked[id] = now.Add(sessionTTL).Unix()
	ss.signalLocked()
	return ss.saveLocked(now)
}

// revokeAll ends every session: a new secret voids every cookie, and the
// revocations it makes redundant are dropped.
func (ss *sessions) revokeAll(now time.Time) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.signalLocked()
	// The key first: should the state write fail after it, the revoked
	// IDs it kept are merely redundant.
	if err := ss.newKey(); err != nil {
		return err
	}
	clear(ss.revoked)
	return ss.saveLocked(now)
}

func (ss *sessions) signalLocked() {
	close(ss.changed)
	ss.changed = make(chan struct{})
}

// watch is closed when sessions are next revoked.
func (ss *sessions) watch() <-chan struct{} {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.changed
}

// browserSession returns the session of a request that a browser made on
// the GUI host with a valid session cookie. The cookie counts on that host
// only: sent to any other, it came from somewhere else.
func (s *Server) browserSession(r *http.Request) (id string, ok bool) {
	if strings.ToLower(r.Host) != s.guiHost {
		return "", false
	}
	c, err := r.Cookie(s.cookie)
	if err != nil {
		return "", false
	}
	return s.sessions.check(c.Value, time.Now())
}

// setSession gives the browser a cookie for session id (a new session
// when id is "") that lasts sessionTTL from now.
func (s *Server) setSession(w http.ResponseWriter, id string, now time.Time) error {
	v, err := s.sessions.issue(id, now.Add(sessionTTL))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie,
		Value:    v,
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// forgetSession tells the browser to delete its session cookie.
func (s *Server) forgetSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// handleLogout answers POST /api/v1/logout: the browser's session ends,
// for good. (Other browsers stay logged in.)
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	s.forgetSession(w)
	if id, ok := s.browserSession(r); ok {
		if err := s.sessions.revoke(id, time.Now()); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleLogoutAll answers POST /api/v1/logout/all: every browser's session
// ends (`parley logout --all`, the GUI's Settings).
func (s *Server) handleLogoutAll(w http.ResponseWriter, r *http.Request) {
	s.forgetSession(w)
	if err := s.sessions.revokeAll(time.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
