package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-im/parley/gui/apitype"
)

// BlockedView is a blocked peer.
type BlockedView = apitype.BlockedView

// Block blocks a contact or request (name or peer ID) or any peer ID
// (POST /api/v1/blocked).
func (c *Client) Block(ctx context.Context, contact string) (BlockedView, error) {
	var v BlockedView
	return v, c.do(ctx, http.MethodPost, apitype.PathBlocked, nil, apitype.BlockRequest{Contact: contact}, &v)
}

// Unblock lifts a block (DELETE /api/v1/blocked/{peer}).
func (c *Client) Unblock(ctx context.Context, contact string) (BlockedView, error) {
	var v BlockedView
	return v, c.do(ctx, http.MethodDelete, apitype.PathBlocked+"/"+url.PathEscape(contact), nil, nil, &v)
}

// Blocked lists the blocked peers (GET /api/v1/blocked).
func (c *Client) Blocked(ctx context.Context) ([]BlockedView, error) {
	var v []BlockedView
	return v, c.do(ctx, http.MethodGet, apitype.PathBlocked, nil, nil, &v)
}

// SetConversationState mutes, archives or pins a conversation (POST
// /api/v1/conversations/state) and returns it as now listed.
func (c *Client) SetConversationState(ctx context.Context, req apitype.ConversationStateRequest) (ConversationView, error) {
	var v ConversationView
	return v, c.do(ctx, http.MethodPost, apitype.PathConversationState, nil, req, &v)
}
