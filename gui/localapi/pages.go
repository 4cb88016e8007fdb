package localapi

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/web"
)

// pages are the web app's files (package gui/web), parsed once.
type pages struct {
	index  []byte
	login  *template.Template
	static fs.FS
}

func loadPages() (pages, error) {
	index, err := fs.ReadFile(web.FS, "index.html")
	if err != nil {
		return pages{}, fmt.Errorf("localapi: index page: %w", err)
	}
	login, err := template.ParseFS(web.FS, "login.html")
	if err != nil {
		return pages{}, fmt.Errorf("localapi: login page: %w", err)
	}
	static, err := fs.Sub(web.FS, "static")
	if err != nil {
		return pages{}, fmt.Errorf("localapi: static files: %w", err)
	}
	return pages{index: index, login: login, static: static}, nil
}

// handleIndex serves the app. A browser's visit renews its session, so a
// GUI in daily use never logs out.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		if id, ok := s.browserSession(r); ok {
			if err := s.setSession(w, id, time.Now()); err != nil {
				s.fail(w, r, err)
				return
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(s.pages.index)
}

// loginPage answers a request without a valid session. A browser opening a
// page gets a page that says how to log in; API clients get e as JSON.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, e *apitype.Error) {
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
