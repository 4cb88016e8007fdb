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
