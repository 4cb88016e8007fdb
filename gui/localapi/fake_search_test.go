package localapi_test

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley"
)

// Search finds the fake's DM messages that contain query, case aside:
// enough to exercise the API's handling (the node's index is tested in
// node and storage).
func (f *fakeMessages) Search(_ context.Context, query, conv string, limit int) (parley.SearchResults, error) {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" || strings.Trim(q, "!?.,") == "" {
		return parley.SearchResults{}, fmt.Errorf("%w: nothing to search for", parley.ErrMalformed)
	}
	if conv != "" && conv != "alice" && conv != aliceID {
		return parley.SearchResults{}, fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, conv)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out parley.SearchResults
	for i := len(f.msgs) - 1; i >= 0 && (limit == 0 || len(out.Results) < limit); i-- {
		m := f.msgs[i]
		at := strings.Index(strings.ToLower(m.Text), q)
		if at < 0 || m.Deleted {
			continue
		}
		start := utf8.RuneCountInString(m.Text[:at])
		out.Results = append(out.Results, parley.SearchResult{Message: m, Snippet: m.Text,
			Highlights: [][2]int{{start, start + utf8.RuneCountInString(q)}}})
	}
	return out, nil
}
