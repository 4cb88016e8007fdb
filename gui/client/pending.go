package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-im/parley/gui/apitype"
)

// PendingContactView is a short code kept until its owner is reachable.
type PendingContactView = apitype.PendingContactView

// PendingContacts lists the short codes added while their owner was not
// reachable (AddContact answered them with state "pending"); the node
// adds each once its owner is reachable.
func (c *Client) PendingContacts(ctx context.Context) ([]PendingContactView, error) {
	var v []PendingContactView
	return v, c.do(ctx, http.MethodGet, apitype.PathPendingContacts, nil, nil, &v)
}

// CancelPending removes a pending contact, by peer ID or the name typed
// when adding it; parley.ErrUnknownContact if there is none.
func (c *Client) CancelPending(ctx context.Context, contact string) error {
	return c.do(ctx, http.MethodDelete, apitype.PathPendingContacts+"/"+url.PathEscape(contact), nil, nil, nil)
}
