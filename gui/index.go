package gui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
)

// web holds the GUI's files, served as they are: no build step.
//
//go:embed web
var web embed.FS

func parseIndex() (*template.Template, error) {
	t, err := template.ParseFS(web, "web/index.html")
	if err != nil {
		return nil, fmt.Errorf("gui: index template: %w", err)
	}
	return t, nil
}

// handleIndex shows that the node is up and who it is.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	// Rendered into a buffer so a template error becomes a clean 500
	// rather than half a page.
	var buf bytes.Buffer
	if err := s.index.Execute(&buf, s.node.Self()); err != nil {
		s.fail(w, r, fmt.Errorf("render index: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}
