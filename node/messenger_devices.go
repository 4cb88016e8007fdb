package node

import (
	"context"
	"strings"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Devices lists the devices of the user's person: for a person of one
// device, this node alone; otherwise those of the signed device list held,
// then the devices it revokes. This marks the node answering.
func (m *Messenger) Devices(ctx context.Context) ([]parley.Device, error) {
	id := m.node().person.Load()
	l, err := id.Devices()
	if err != nil { // the keystore's list was checked when it was loaded
		return nil, err
	}
	out := make([]parley.Device, 0, len(l.Devices)+len(l.Revoked))
	for _, d := range l.Devices {
		dev := parley.Device{PeerID: d.PeerID.String(), Name: d.Name, LinkedAt: d.LinkedAt}
		if d.PeerID == id.PeerID {
			// Our own name is the keystore's, which a list signed
			// earlier may not have caught up with.
			dev.This, dev.Name = true, id.DeviceName
		}
		out = append(out, dev)
	}
	for _, r := range l.Revoked {
		out = append(out, parley.Device{PeerID: r.String(), Revoked: true})
	}
	return out, nil
}

// fallbackDeviceName names a device whose machine's host name will not do.
const fallbackDeviceName = "device"

// defaultDeviceName is the name a device takes when its keystore has none:
// the machine's host name (hostname is os.Hostname) if it makes a name
// (not blank, and passing identity.CheckName), else fallbackDeviceName.
func defaultDeviceName(hostname func() (string, error)) string {
	h, err := hostname()
	h = strings.TrimSpace(h)
	if err != nil || h == "" || identity.CheckName(h) != nil {
		return fallbackDeviceName
	}
	return h
}
