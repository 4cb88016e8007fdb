package client

import (
	"context"
	"net/http"
	"strings"

	"github.com/parley-im/parley/gui/apitype"
)

// MessageInfoView is what MessageInfo answers.
type MessageInfoView = apitype.MessageInfoView

// MessageInfo tells when a message of a conversation (a contact or a
// group, by name or ID; the message by ID or a unique prefix) was sent,
// delivered to and read by each recipient, or why not yet.
func (c *Client) MessageInfo(ctx context.Context, conv, msg string) (MessageInfoView, error) {
	var v MessageInfoView
	p := strings.NewReplacer("{conv}", escapeSegment(conv), "{msg}", escapeSegment(msg)).Replace(apitype.PathMessageInfo)
	return v, c.do(ctx, http.MethodGet, p, nil, nil, &v)
}
