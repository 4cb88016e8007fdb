package client

import (
	"context"
	"net/http"

	"github.com/parley-im/parley/gui/apitype"
)

// Act replies to, edits, deletes or reacts to a message of a conversation
// (POST /api/v1/actions). It returns the reply, or the message as now
// seen. Unlike Send it is not retried: an edit or reaction sent twice
// would be two envelopes (harmless, but not the same one).
func (c *Client) Act(ctx context.Context, req apitype.ActionRequest) (MessageView, error) {
	var v MessageView
	if err := checkTextSize(req.Text); err != nil {
		return v, err
	}
	return v, c.do(ctx, http.MethodPost, apitype.PathActions, nil, req, &v)
}
