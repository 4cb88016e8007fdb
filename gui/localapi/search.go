package localapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Searcher is full-text search over the messages held here.
type Searcher interface {
	// Search finds the messages the user sees whose latest text has every
	// word of query (the last as a prefix unless query ends with a
	// space), newest first; conv, when not empty, is a contact or group
	// to search in alone (resolved as for Act); limit 0 is the node's
	// default. parley.ErrMalformed for a query with no word, or a limit
	// out of range.
	Search(ctx context.Context, query, conv string, limit int) (parley.SearchResults, error)
}

// handleSearch answers GET /api/v1/search?q=TEXT[&conv=CONV][&limit=N].
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	if s.search == nil {
		writeError(w, &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound,
			Message: "this node has no search"})
		return
	}
	q := r.URL.Query()
	text := q.Get("q")
	if text == "" {
		s.fail(w, r, badRequest("q, the text to search for, is required"))
		return
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, r, badRequest("limit must be a whole number"))
			return
		}
		limit = n
	}
	res, err := s.search.Search(r.Context(), text, q.Get("conv"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := s.conversationNames(r.Context())
	n := s.newNamer(r.Context())
	out := apitype.SearchView{Results: make([]apitype.SearchResultView, 0, len(res.Results)), Indexing: res.Indexing}
	for _, found := range res.Results {
		m := found.Message
		c := names[m.Conversation]
		name := c.Name
		if c.Peer != "" {
			name = n.name(c.Peer)
		}
		if c.Kind == parley.ConversationGroup && !m.Outgoing {
			n.addMembers(m.Conversation.String())
		}
		hl := found.Highlights
		if hl == nil {
			hl = [][2]int{}
		}
		out.Results = append(out.Results, apitype.SearchResultView{
			Conversation: m.Conversation, ConversationKind: c.Kind, ConversationName: name,
			Message: n.messageView(m), Snippet: found.Snippet, Highlights: hl,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// conversationNames maps each listed conversation to itself, for the
// names of search results; empty if the list cannot be read (results
// still show, unnamed).
func (s *Server) conversationNames(ctx context.Context) map[parley.ConversationID]parley.Conversation {
	out := make(map[parley.ConversationID]parley.Conversation)
	convs, err := s.messages.Conversations(ctx)
	if err != nil {
		s.log.Debug("conversations for search results", "err", err)
		return out
	}
	for _, c := range convs {
		out[c.ID] = c
	}
	return out
}
