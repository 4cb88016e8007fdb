package client

import (
	"context"
	"net/http"

	"github.com/parley-im/parley/gui/apitype"
)

// DeviceView is one device of the user's person.
type DeviceView = apitype.DeviceView

// Devices lists the devices of the user's person, the node answering
// marked This (GET /api/v1/devices).
func (c *Client) Devices(ctx context.Context) ([]DeviceView, error) {
	var v []DeviceView
	return v, c.do(ctx, http.MethodGet, apitype.PathDevices, nil, nil, &v)
}

// LinkStatusView is the state of this node's link code.
type LinkStatusView = apitype.LinkStatusView

// AcceptLinkView is the safety code and the outcome of an accept.
type AcceptLinkView = apitype.AcceptLinkView

// StartLink shows a link code on this node, which then waits to be linked
// as a new device (POST /api/v1/devices/link); link events tell how it
// goes.
func (c *Client) StartLink(ctx context.Context) (LinkStatusView, error) {
	var v LinkStatusView
	return v, c.do(ctx, http.MethodPost, apitype.PathLink, nil, nil, &v)
}

// LinkStatus is the state of this node's link code (GET
// /api/v1/devices/link).
func (c *Client) LinkStatus(ctx context.Context) (LinkStatusView, error) {
	var v LinkStatusView
	return v, c.do(ctx, http.MethodGet, apitype.PathLink, nil, nil, &v)
}

// AcceptLink links the new device that shows code (POST
// /api/v1/devices/accept). With yes it links at once and the answer holds
// the device; otherwise it holds the safety code and a Session to pass to
// ConfirmLink once the user compared the two screens.
func (c *Client) AcceptLink(ctx context.Context, code string, yes bool) (AcceptLinkView, error) {
	var v AcceptLinkView
	return v, c.do(ctx, http.MethodPost, apitype.PathAcceptLink, nil, apitype.AcceptLinkRequest{Code: code, Yes: yes}, &v)
}

// ConfirmLink confirms (or, with confirm false, declines) the accept that
// waits under session (POST /api/v1/devices/accept/confirm).
func (c *Client) ConfirmLink(ctx context.Context, session string, confirm bool) (AcceptLinkView, error) {
	var v AcceptLinkView
	return v, c.do(ctx, http.MethodPost, apitype.PathConfirmLink, nil, apitype.ConfirmLinkRequest{Session: session, Confirm: confirm}, &v)
}
