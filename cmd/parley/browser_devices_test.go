package main

import (
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// Settings lists the user's devices: today a person of one device, this
// node, with its name, its peer ID and "This device" (the list a linked
// second device will join).
func TestBrowserDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice := parleytest.StartProcess(t, "Alice")
	var devices []struct {
		PeerID string `json:"peer_id"`
		Name   string `json:"name"`
		This   bool   `json:"this"`
	}
	alice.CLIJSON(&devices, "devices", "list")
	if len(devices) != 1 || !devices[0].This || devices[0].Name == "" {
		t.Fatalf("alice's devices: %+v", devices)
	}
	d := devices[0]

	tab := b.NewTab("alice", art)
	tab.Navigate(alice.LoginURL())
	tab.Click("link", "Settings")
	tab.WaitRole("heading", "Devices")
	tab.WaitJS("her device listed as this one", `(() => {
		const li = document.querySelector('ul[aria-label="Your devices"] li.device[data-peer="`+d.PeerID+`"]');
		return li !== null && li.textContent.includes(`+jsString(d.Name)+`) && li.textContent.includes('This device');
	})()`)
	parleytest.Eval[bool](tab, "scroll to the section", `(() => { document.getElementById('set-devices').scrollIntoView(); return true; })()`)
	tab.Shoot("settings-devices")
}
