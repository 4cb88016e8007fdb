package main

import (
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// TestGroupReceiptsFromTheCLI: bob reads alice's group message; alice's
// `group messages --json` lists bob's receipt, and `parley info` says
// read by 1 of 1, in text and --json; bob turns read receipts off and
// `settings` says so.
func TestGroupReceiptsFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	alice.CLI("group", "create", "pair")
	parleytest.JoinGroup(t, alice, "pair", bob)
	var sent parleytest.CLIMessage
	alice.CLIJSON(&sent, "group", "send", "pair", "read me")
	parleytest.Eventually(t, "bob reading it", func() bool {
		return strings.Contains(bob.CLI("group", "messages", "pair"), "read me")
	})
	type receipt struct {
		DeliveredAt string `json:"delivered_at"`
		ReadAt      string `json:"read_at"`
	}
	parleytest.Eventually(t, "alice seeing bob's read receipt", func() bool {
		var ms []struct {
			ID       string             `json:"id"`
			Receipts map[string]receipt `json:"receipts"`
		}
		alice.CLIJSON(&ms, "group", "messages", "pair")
		for _, m := range ms {
			if m.ID == sent.ID && m.Receipts[bob.PeerID()].ReadAt != "" && m.Receipts[bob.PeerID()].DeliveredAt != "" {
				return true
			}
		}
		return false
	})
	var info struct {
		Group      bool `json:"group"`
		Read       int  `json:"read"`
		Recipients []struct {
			PeerID string `json:"peer_id"`
			Name   string `json:"name"`
			ReadAt string `json:"read_at"`
		} `json:"recipients"`
	}
	alice.CLIJSON(&info, "info", "pair", sent.ID[:8])
	if !info.Group || info.Read != 1 || len(info.Recipients) != 1 || info.Recipients[0].PeerID != bob.PeerID() || info.Recipients[0].ReadAt == "" {
		t.Fatalf("info --json: %+v", info)
	}
	if out := alice.CLI("info", "pair", sent.ID[:8]); !strings.Contains(out, "by 1 of 1") || !strings.Contains(out, "bob") {
		t.Fatalf("info:\n%s", out)
	}
	if out, code := alice.Try("info", "pair", "ffffffff"); code == 0 || !strings.Contains(out, "no message") {
		t.Fatalf("info of an unknown message: exit %d, %q", code, out)
	}
	if out := bob.CLI("settings", "--read-receipts", "off"); !strings.Contains(out, "off; they see only that your node got them") {
		t.Fatalf("settings --read-receipts off:\n%s", out)
	}
}
