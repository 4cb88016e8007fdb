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

// Linking a new device (PROTOCOL.md §11.6).
const (
	// PathLink shows (POST) a link code on this node, a fresh one that is
	// to become a new device of a person, and tells (GET) how it goes.
	PathLink = "/api/v1/devices/link"
	// PathAcceptLink links (POST) the new device whose code is given, as
	// one more device of this node's person.
	PathAcceptLink = "/api/v1/devices/accept"
	// PathConfirmLink confirms (POST) or declines an accept that waits
	// for the user to compare the safety code.
	PathConfirmLink = "/api/v1/devices/accept/confirm"
)

// LinkStatusView is the state of this node's link code; link events
// carry it too.
type LinkStatusView struct {
	// State: "" (no code asked for), "waiting", "dialed", "linked",
	// "expired" or "refused".
	State   parley.LinkState `json:"state"`
	Code    string           `json:"code,omitempty"`
	Expires time.Time        `json:"expires,omitzero"`
	// Device is the existing device's peer ID, Person its person's.
	Device string `json:"device,omitempty"`
	Person string `json:"person,omitempty"`
	// Safety (dialed) is the code to compare with the existing device's.
	Safety string `json:"safety,omitempty"`
	// Error (refused) says why the link did not happen.
	Error string `json:"error,omitempty"`
}

// NewLinkStatusView renders st.
func NewLinkStatusView(st parley.LinkStatus) LinkStatusView {
	return LinkStatusView{State: st.State, Code: st.Code, Expires: st.Expires, Device: st.Device, Person: st.Person, Safety: st.Safety, Error: st.Error}
}

// AcceptLinkRequest is the body of POST PathAcceptLink.
type AcceptLinkRequest struct {
	Code string `json:"code"`
	// Yes links without asking: the caller has compared the safety code
	// some other way, or does not need to. Otherwise the answer carries
	// the safety code and a session to confirm at PathConfirmLink within
	// two minutes.
	Yes bool `json:"yes,omitempty"`
}

// ConfirmLinkRequest is the body of POST PathConfirmLink.
type ConfirmLinkRequest struct {
	Session string `json:"session"`
	// Confirm: both screens show the same safety code; false declines.
	Confirm bool `json:"confirm"`
}

// AcceptLinkView answers PathAcceptLink and PathConfirmLink: the safety
// code both devices show, and either the session waiting for the user's
// word (202) or the device linked (200).
type AcceptLinkView struct {
	Safety  string      `json:"safety"`
	Session string      `json:"session,omitempty"`
	Device  *DeviceView `json:"device,omitempty"`
}
