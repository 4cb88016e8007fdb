package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-im/parley/gui/apitype"
)

// TimerView is a conversation's disappearing-messages timer.
type TimerView = apitype.TimerView

// Timer reads the disappearing-messages timer of a conversation (a
// contact or a group) (GET /api/v1/timer).
func (c *Client) Timer(ctx context.Context, conversation string) (TimerView, error) {
	var v TimerView
	return v, c.do(ctx, http.MethodGet, apitype.PathTimer, url.Values{"conversation": {conversation}}, nil, &v)
}

// SetTimer sets it (PUT /api/v1/timer): seconds 0 turns it off. Setting
// the same value twice sends one envelope, so it is safe to retry.
func (c *Client) SetTimer(ctx context.Context, conversation string, seconds uint32) (TimerView, error) {
	var v TimerView
	return v, c.do(ctx, http.MethodPut, apitype.PathTimer, nil, apitype.TimerRequest{Conversation: conversation, Seconds: seconds}, &v)
}
