package gui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/parley-im/parley/gui/api"
)

// web holds the GUI's files, served as they are: no build step. index.html
// is the app's one page; static/ its modules, styles and icons; login.html
// the page a browser without a session gets.
//
//go:embed web
var web embed.FS

// pages are the GUI's parsed files.
type pages struct {
	index  []byte
	login  *template.Template
	static fs.FS
}

func loadPages() (pages, error) {
	index, err := web.ReadFile("web/index.html")
	if err != nil {
		return pages{}, fmt.Errorf("gui: index page: %w", err)
	}
	login, err := template.ParseFS(web, "web/login.html")
	if err != nil {
		return pages{}, fmt.Errorf("gui: login page: %w", err)
	}
	static, err := fs.Sub(web, "web/static")
	if err != nil {
		return pages{}, fmt.Errorf("gui: static files: %w", err)
	}
	return pages{index: index, login: login, static: static}, nil
}

// handleIndex serves the app. A browser's visit renews its session, so a
// GUI in daily use never logs out.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(s.cookie); err == nil && r.Header.Get("Authorization") == "" {
		s.setSession(w, time.Now())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(s.pages.index)
}

// loginPage answers a request without a valid session. A browser opening a
// page gets a page that says how to log in; API clients get e as JSON.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, e *api.Error) {
	if r.Method != http.MethodGet || strings.HasPrefix(r.URL.Path, "/api/") ||
		!strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeError(w, e)
		return
	}
	var buf bytes.Buffer
	used := e == errLoginUsed
	if err := s.pages.login.Execute(&buf, struct{ LinkUsed bool }{used}); err != nil {
		s.fail(w, r, fmt.Errorf("render login page: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = buf.WriteTo(w)
}
