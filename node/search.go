package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
	"github.com/parley-im/parley/storage/fulltext"
)

// Search limits: a page of results, and how many reads of the index a
// search makes before it stops with what it has. The index holds the
// words of every version of an edited message, so a hit is checked
// against the latest text; this bounds a search whose hits mostly fail
// that check (or are in other conversations).
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	maxSearchCalls     = 10 // each reads at most 20,000 postings (storage.Search)
	snippetWidth       = 80
)

// Search finds the messages the user sees whose latest text (a file's
// name, for a file) has every word of query, the last as a prefix unless
// the query ends with a space, newest first (storage/fulltext says how
// words are matched). conv, when not empty, is a contact or group (as for
// Act) to search in alone. limit 0 means DefaultSearchLimit; more than
// MaxSearchLimit is parley.ErrMalformed, as is a query with no word.
func (m *Messenger) Search(ctx context.Context, query, conv string, limit int) (parley.SearchResults, error) {
	switch {
	case limit == 0:
		limit = DefaultSearchLimit
	case limit < 0 || limit > MaxSearchLimit:
		return parley.SearchResults{}, fmt.Errorf("%w: limit must be 1 to %d, got %d", parley.ErrMalformed, MaxSearchLimit, limit)
	}
	q, err := fulltext.ParseQuery(query)
	if err != nil {
		return parley.SearchResults{}, fmt.Errorf("%w: %v", parley.ErrMalformed, err)
	}
	opts := storage.SearchOptions{Limit: limit}
	if conv != "" {
		id, _, _, err := m.resolveConversation(conv)
		if err != nil {
			return parley.SearchResults{}, err
		}
		opts.Conversation = &id
	}
	n := m.node()
	out := parley.SearchResults{Indexing: !n.store.SearchIndexComplete()}
	visible := make(map[parley.ConversationID]bool)
	for calls := 0; len(out.Results) < limit && calls < maxSearchCalls; calls++ {
		if err := ctx.Err(); err != nil {
			return parley.SearchResults{}, err
		}
		msgs, next, err := n.store.Search(q, opts)
		if err != nil {
			return parley.SearchResults{}, err
		}
		msgs, err = n.decorate(msgs)
		if err != nil {
			return parley.SearchResults{}, err
		}
		for _, msg := range msgs {
			if msg.Deleted || !m.conversationShown(msg.Conversation, visible) {
				continue
			}
			ranges, ok := fulltext.Match(q, msg.Text)
			if !ok {
				continue // an earlier version had the words
			}
			snippet, hl := fulltext.Snippet(msg.Text, ranges, snippetWidth)
			out.Results = append(out.Results, parley.SearchResult{Message: msg, Snippet: snippet, Highlights: hl})
			if len(out.Results) == limit {
				break
			}
		}
		if next == nil {
			break
		}
		opts.After = next
	}
	return out, nil
}

// conversationShown: a conversation the user sees listed (a group only
// once its invite is accepted), remembered in seen.
func (m *Messenger) conversationShown(conv parley.ConversationID, seen map[parley.ConversationID]bool) bool {
	if ok, known := seen[conv]; known {
		return ok
	}
	c, err := m.node().store.Conversation(conv)
	ok := err == nil
	if ok && c.Kind == parley.ConversationGroup {
		state, err := m.node().groups.State(conv)
		ok = err == nil && state != parley.GroupInvited
	}
	if err != nil && !errors.Is(err, parley.ErrNotFound) {
		m.node().log.Warn("search: reading a conversation", "conv", conv, "err", err)
	}
	seen[conv] = ok
	return ok
}
