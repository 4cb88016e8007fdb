package localapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/atomicfile"
)

// APIFile is the file in the data dir that tells clients where the API
// listens and which token it wants.
const APIFile = apitype.FileName

// DefaultAddr listens on IPv4 loopback on a port the kernel picks.
const DefaultAddr = "127.0.0.1:0"

// shutdownTimeout bounds how long Serve waits for in-flight requests.
const shutdownTimeout = 5 * time.Second

// Config configures a Server. DataDir and the node roles (Messages,
// Groups, Files, Network, Events, Keystore, Presence, Blocks) are
// required; the rest have defaults.
type Config struct {
	// Addr is host:port to listen on; default DefaultAddr. The host must be
	// a loopback address or "localhost": New refuses anything else. With
	// port 0, the port chosen is remembered in the data dir and used again
	// on the next start while it is free, so the GUI keeps its URL.
	Addr string
	// DataDir receives APIFile, the remembered port, the secret that
	// browser sessions are signed with and the sessions revoked.
	DataDir string
	// DefaultName is the display name a node has until its user picks one
	// (node.DefaultName); the API tells the GUI whether Self's name is
	// still this, so it can ask for one.
	DefaultName string
	// The node the API serves, one role per field (see roles.go):
	// cmd/parley passes its node.Messenger for each, tests pass small
	// fakes.
	Messages Messages
	Groups   Groups
	Files    Files
	Network  Network
	Events   Events
	Keystore Keystore
	Presence Presence
	Blocks   Blocks
	// Linker links devices (devices.go); optional: by default the
	// Messages role's, when it has one.
	Linker Linker
	// Search is full-text search (search.go); optional: by default the
	// Messages role's, when it has one.
	Search Searcher
	// MaxUploadBytes caps a file uploaded through the API (the browser's
	// way to send one); default identity.MaxFileSize, the largest file an
	// offer can describe.
	MaxUploadBytes int64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is the local API server. New listens; Serve serves until its
// context ends; Close releases the port and removes APIFile.
type Server struct {
	log      *slog.Logger
	messages Messages
	groups   Groups
	files    Files
	network  Network
	events   Events
	keystore Keystore
	presence Presence
	blocks   Blocks
	search   Searcher // nil: GET /api/v1/search answers 404
	linker   Linker   // nil: the link endpoints answer 404
	accepts  acceptSessions
	ln       net.Listener
	base     string // http://HOST:PORT, no trailing slash
	// guiHost is NAME.localhost:PORT, the only host that takes session
	// cookies; guiBase is http://guiHost.
	guiHost, guiBase string
	token            string
	apiFile          string
	// hosts are the Host header values accepted: loopback names with our
	// port. Anything else is a DNS-rebinding attempt.
	hosts map[string]bool
	// cookie is the session cookie's name.
	cookie      string
	sessions    *sessions // what session cookies are checked against
	defaultName string
	uploads     string // DATA/uploads: files the browser sent, served from there
	maxUpload   int64
	logins      logins // one-time login codes
	cop         *http.CrossOriginProtection
	pages       pages
	handler     http.Handler

	// scanSlots holds a token per safety-QR decode running (maxScans).
	scanSlots chan struct{}

	closing   chan struct{} // closed by Close: stops Serve
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	served chan struct{} // closed when Serve returns; nil before Serve; guarded by mu

	// streams counts event WebSockets. http.Server.Shutdown neither tracks
	// nor waits for hijacked connections, so Serve waits for them itself.
	streams     sync.WaitGroup
	stopStreams chan struct{} // closed when shutdown begins
	stopOnce    sync.Once
}

// New listens on cfg.Addr (or the port it had last time) and writes
// DataDir/APIFile with the URL and a fresh token. Serve must follow; Close
// undoes both.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("localapi: Config.DataDir is required")
	}
	roles := []struct {
		name string
		set  bool
	}{
		{"Messages", cfg.Messages != nil}, {"Groups", cfg.Groups != nil}, {"Files", cfg.Files != nil},
		{"Network", cfg.Network != nil}, {"Events", cfg.Events != nil}, {"Keystore", cfg.Keystore != nil},
		{"Presence", cfg.Presence != nil},
		{"Blocks", cfg.Blocks != nil},
	}
	for _, r := range roles {
		if !r.set {
			return nil, fmt.Errorf("localapi: Config.%s is required", r.name)
		}
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = identity.MaxFileSize
	}
	if err := CheckAddr(cfg.Addr); err != nil {
		return nil, err
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("localapi: data dir: %w", err)
	}
	sessions, err := loadSessions(cfg.DataDir, time.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{
		log:         cfg.Logger.With("component", "api"),
		messages:    cfg.Messages,
		groups:      cfg.Groups,
		files:       cfg.Files,
		network:     cfg.Network,
		events:      cfg.Events,
		keystore:    cfg.Keystore,
		presence:    cfg.Presence,
		blocks:      cfg.Blocks,
		token:       token,
		apiFile:     filepath.Join(cfg.DataDir, APIFile),
		sessions:    sessions,
		defaultName: cfg.DefaultName,
		uploads:     filepath.Join(cfg.DataDir, uploadsDir),
		maxUpload:   cfg.MaxUploadBytes,
		scanSlots:   make(chan struct{}, maxScans),
		cop:         http.NewCrossOriginProtection(),
		pages:       pg,
		closing:     make(chan struct{}),
		stopStreams: make(chan struct{}),
	}
	if s.linker = cfg.Linker; s.linker == nil {
		s.linker, _ = cfg.Messages.(Linker)
	}
	if s.search = cfg.Search; s.search == nil {
		s.search, _ = cfg.Messages.(Searcher)
	}
	ln, err := s.listenStable(cfg.DataDir, cfg.Addr)
	if err != nil {
		return nil, err
	}
	tcp := ln.Addr().(*net.TCPAddr)
	port := strconv.Itoa(tcp.Port)
	s.ln = ln
	s.base = "http://" + net.JoinHostPort(tcp.IP.String(), port)
	s.guiHost = net.JoinHostPort(sessions.host, port)
	s.guiBase = "http://" + s.guiHost
	s.hosts = map[string]bool{
		net.JoinHostPort(tcp.IP.String(), port): true,
		net.JoinHostPort("127.0.0.1", port):     true,
		net.JoinHostPort("::1", port):           true,
		net.JoinHostPort("localhost", port):     true,
		s.guiHost:                               true,
	}
	s.cookie = "parley_session_" + port
	s.handler = s.guard(s.routes())
	if err := writeAPIFile(s.apiFile, apitype.File{URL: s.base, GUI: s.guiBase, Token: token}); err != nil {
		ln.Close()
		return nil, err
	}
	return s, nil
}

// URL is where the API is served, with a trailing slash.
func (s *Server) URL() string { return s.base + "/" }

// GUIURL is where browsers find the GUI, with a trailing slash:
// http://NAME.localhost:PORT/, a host name of this install's own (see
// session.go). It is no secret from the user, but the API hands it out only
// to those who hold the token: knowing it is half of a session cookie's
// worth.
func (s *Server) GUIURL() string { return s.guiBase + "/" }

// Serve serves until ctx ends or Close is called, then shuts down
// gracefully: in-flight requests finish, event streams are closed. It
// returns nil on a clean stop. Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.served != nil {
		s.mu.Unlock()
		return errors.New("localapi: Serve called twice")
	}
	select {
	case <-s.closing:
		s.mu.Unlock()
		return http.ErrServerClosed
	default:
	}
	s.served = make(chan struct{})
	defer close(s.served)
	s.mu.Unlock()

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests keep ctx's values but not its cancellation: shutdown
		// lets in-flight requests finish rather than cancelling them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.endStreams)
	s.log.Info("API listening", "url", s.URL())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		s.endStreams()
		s.streams.Wait()
		return fmt.Errorf("localapi: serve: %w", err)
	case <-ctx.Done():
	case <-s.closing:
	}

	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	<-errc // http.ErrServerClosed, as Shutdown began
	if err != nil {
		srv.Close()
		err = fmt.Errorf("localapi: shutdown: %w", err)
	}
	s.endStreams()
	s.streams.Wait()
	return err
}

func (s *Server) endStreams() { s.stopOnce.Do(func() { close(s.stopStreams) }) }

// Close stops Serve (waiting for it to return), releases the port and
// removes APIFile, so clients see the node is no longer running. It is safe
// to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		served := s.served
		s.mu.Unlock()
		if served != nil {
			<-served
		}
		var errs []error
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("localapi: close listener: %w", err))
		}
		if err := os.Remove(s.apiFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("localapi: remove api file: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// CheckAddr reports whether New would accept addr as Config.Addr, so a
// caller can refuse a bad flag before starting anything. Only loopback
// addresses pass: the token is the API's only secret and it travels in
// clear text.
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("localapi: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("localapi: listen address %q is not a loopback address (use 127.0.0.1, [::1] or localhost)", addr)
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("localapi: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeAPIFile writes the file atomically (temp file, then rename), so a
// client never reads half a file, and with mode 0600 from the first byte,
// so no other user ever sees the token.
func writeAPIFile(path string, f apitype.File) (err error) {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("localapi: api file: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n')); err != nil {
		return fmt.Errorf("localapi: api file: %w", err)
	}
	return nil
}
