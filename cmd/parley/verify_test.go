package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// parley contact verify marks a contact verified and prints the safety
// number it marked; an invite with another key for the same peer shows
// "keys changed!" in the list until the user verifies again; --undo
// unmarks.
func TestContactVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice := parleytest.StartProcess(t, "alice")
	vera, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	other, err := identity.Generate() // only for a second key
	if err != nil {
		t.Fatal(err)
	}
	invite := func(hpkeKey []byte) string {
		card, err := vera.SignCard(identity.Card{PeerID: vera.PeerID, Name: "Vera", HPKEKey: hpkeKey})
		if err != nil {
			t.Fatal(err)
		}
		return identity.EncodeInvite(card)
	}
	listed := func(step, want string) {
		t.Helper()
		out := alice.CLI("contact", "list")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasSuffix(lines[0], "VERIFIED") || !strings.HasSuffix(strings.TrimSpace(lines[1]), want) {
			t.Fatalf("%s: contact list, want VERIFIED %q:\n%s", step, want, out)
		}
	}
	alice.CLI("contact", "add", invite(nil))
	listed("added", "-")

	out := alice.CLI("contact", "verify", "vera")
	var shown []struct {
		SafetyNumber string `json:"safety_number"`
		Verified     bool   `json:"verified"`
		KeysChanged  bool   `json:"keys_changed"`
	}
	if err := json.Unmarshal([]byte(alice.CLI("contact", "list", "--json")), &shown); err != nil || len(shown) != 1 {
		t.Fatalf("contact list --json: %v %+v", err, shown)
	}
	if !strings.Contains(out, "Safety number: "+shown[0].SafetyNumber) || !strings.Contains(out, "verified") || !shown[0].Verified {
		t.Fatalf("contact verify printed:\n%s\nlisted %+v", out, shown)
	}
	listed("verified", "yes")

	alice.CLI("contact", "add", invite(other.HPKEPublicKey()))
	listed("key changed", "keys changed!")
	json.Unmarshal([]byte(alice.CLI("contact", "list", "--json")), &shown)
	if shown[0].Verified || !shown[0].KeysChanged {
		t.Fatalf("key changed: --json says %+v", shown[0])
	}

	alice.CLI("contact", "verify", "vera")
	listed("verified again", "yes")
	if out := alice.CLI("contact", "verify", "vera", "--undo"); !strings.Contains(out, "no longer marked verified") {
		t.Fatalf("contact verify --undo printed:\n%s", out)
	}
	listed("undone", "-")
	if out, exit := alice.Try("contact", "verify", "nobody"); exit == 0 || !strings.Contains(out, "nobody") {
		t.Fatalf("verifying an unknown contact: exit %d: %s", exit, out)
	}
}

// In the GUI, a contact's details show the safety number beside its QR
// code and a "Mark as verified" button; a key change shows a warning and
// the button again; Undo unmarks.
func TestBrowserVerifyContact(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice := parleytest.StartProcess(t, "alice")
	vera, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	other, err := identity.Generate() // only for a second key
	if err != nil {
		t.Fatal(err)
	}
	invite := func(hpkeKey []byte) string {
		card, err := vera.SignCard(identity.Card{PeerID: vera.PeerID, Name: "Vera", HPKEKey: hpkeKey})
		if err != nil {
			t.Fatal(err)
		}
		return identity.EncodeInvite(card)
	}
	alice.CLI("contact", "add", invite(nil))
	details := alice.GUIURL() + "#/contact/" + vera.PeerID.String()

	a := b.NewTab("alice", art)
	a.Navigate(alice.LoginURL())
	a.Navigate(details)
	a.WaitJS("the safety number's QR code drawn", `document.querySelector('.qr img[alt^="QR code of the safety number"]')?.naturalWidth > 0`)
	a.Click("button", "Mark as verified")
	a.WaitText("Verified ✓")
	a.Shoot("contact-verified")
	if out := alice.CLI("contact", "list"); !strings.HasSuffix(strings.TrimSpace(out), "yes") {
		t.Fatalf("verified in the GUI, contact list says:\n%s", out)
	}

	alice.CLI("contact", "add", invite(other.HPKEPublicKey()))
	a.Navigate("about:blank") // a fresh page, as after a reload
	a.Navigate(details)
	a.WaitText("Vera's keys changed: compare safety numbers again before trusting them.")
	a.WaitRole("button", "Mark as verified")
	a.Shoot("contact-keys-changed")
	a.Click("button", "Mark as verified")
	a.WaitText("Verified ✓")
	a.WaitJS("the warning gone", `!document.body.innerText.includes('keys changed')`)
	a.Click("button", "Undo")
	a.WaitRole("button", "Mark as verified")
	if out := alice.CLI("contact", "list"); !strings.HasSuffix(strings.TrimSpace(out), "-") {
		t.Fatalf("undone in the GUI, contact list says:\n%s", out)
	}
}
