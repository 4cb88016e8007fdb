package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// PathDevices lists (GET) the devices of the user's person: linked
// devices, docs/design-notes.md.
const PathDevices = "/api/v1/devices"

// DeviceView is one device of the user's person.
type DeviceView struct {
	PeerID string `json:"peer_id"`
	// Name: such as "laptop"; empty for a revoked device.
	Name string `json:"name"`
	// This: the device answering, the node the API belongs to.
	This     bool      `json:"this"`
	LinkedAt time.Time `json:"linked_at,omitzero"`
	Revoked  bool      `json:"revoked"`
}

// NewDeviceView renders d.
func NewDeviceView(d parley.Device) DeviceView {
	return DeviceView{PeerID: d.PeerID, Name: d.Name, This: d.This, LinkedAt: d.LinkedAt, Revoked: d.Revoked}
}
