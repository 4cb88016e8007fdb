// Package link is /parley/link/1.0.0 (PROTOCOL.md §11.6): a person's
// existing device links a freshly started node as one more of its devices.
//
// The new device shows a link code (identity.PendingLink) and serves the
// protocol while it waits (Wait). The existing device reads the code,
// dials the new device (the code carries its key, so the transport
// authenticates it) and runs Link: it presents the code's secret, both
// devices show the safety code (identity.LinkSafetyCode), and once the
// user confirms on the existing device it sends the person's keys, the
// device list that adds the new device and a snapshot of its store
// (contacts, groups, their keys, history). The new device stores them
// durably and says Done; only then does the existing device keep the new
// list.
//
// It does not merge stores (only a fresh node is linked), tell contacts
// about the new device, deliver to several devices, or sync own devices
// after the link: those come later (docs/design-notes.md, "Linked
// devices").
package link

import "github.com/libp2p/go-libp2p/core/protocol"

// ID is the link protocol.
const ID protocol.ID = "/parley/link/1.0.0"
