package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-im/parley/gui/apitype"
)

// SearchView is what a search found (GET /api/v1/search).
type SearchView = apitype.SearchView

// Search finds the messages held here whose latest text has every word
// of text (the last one as a prefix unless text ends with a space),
// newest first; conv, when not empty, is a contact or group to search in
// alone; limit 0 means the node's default.
func (c *Client) Search(ctx context.Context, text, conv string, limit int) (SearchView, error) {
	q := url.Values{"q": {text}}
	if conv != "" {
		q.Set("conv", conv)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var v SearchView
	return v, c.do(ctx, http.MethodGet, apitype.PathSearch, q, nil, &v)
}
