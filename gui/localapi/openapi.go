package localapi

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3.1 description, kept by hand beside the
// routes: TestOpenAPIRoutes fails when a route is missing from it (or it
// names one that does not exist), and TestOpenAPISchemas when a view's
// fields and its schema's properties differ.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 description (JSON), as served at
// GET /api/v1/openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openAPI)
}
