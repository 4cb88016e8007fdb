package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// cliDevice is what `parley devices list --json` shows of a device.
type cliDevice struct {
	PeerID  string `json:"peer_id"`
	Name    string `json:"name"`
	This    bool   `json:"this"`
	Revoked bool   `json:"revoked"`
}

// checkOneDevice: `parley devices list`, text and JSON, shows the process
// alone, as a person of one device, named.
func checkOneDevice(t *testing.T, p *parleytest.Process, peerID string) {
	t.Helper()
	var devices []cliDevice
	p.CLIJSON(&devices, "devices", "list")
	if len(devices) != 1 || devices[0].PeerID != peerID || !devices[0].This || devices[0].Revoked || devices[0].Name == "" {
		t.Fatalf("%s: devices list --json: %+v; want %s alone, this device, named", p.Name, devices, peerID)
	}
	out := p.CLI("devices", "list")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if fields := strings.Fields(lines[0]); len(lines) != 1 || len(fields) != 4 || fields[0] != devices[0].Name ||
		fields[1] != peerID || fields[2]+" "+fields[3] != "(this device)" {
		t.Fatalf("%s: devices list: %q; want one line: %s %s (this device)", p.Name, out, devices[0].Name, peerID)
	}
}

// TestDevicesList: `parley devices list` on a new node, and on a data dir
// written before linked devices (node/testdata/datadir-v1), which opens as
// a person of one device and keeps its conversations.
func TestDevicesList(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice := parleytest.StartProcess(t, "alice")
	checkOneDevice(t, alice, alice.PeerID())

	fixture := filepath.Join("..", "..", "node", "testdata", "datadir-v1")
	var facts struct {
		Alice string `json:"alice"`
		Bob   string `json:"bob"`
	}
	b, err := os.ReadFile(filepath.Join(fixture, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &facts); err != nil {
		t.Fatal(err)
	}
	old := parleytest.NewProcess(t, "alice")
	if err := os.CopyFS(old.Dir, os.DirFS(filepath.Join(fixture, "alice"))); err != nil {
		t.Fatal(err)
	}
	// git keeps no file modes but the executable bit; the keystore was 0600.
	if err := os.Chmod(filepath.Join(old.Dir, "keystore"), 0o600); err != nil {
		t.Fatal(err)
	}
	old.Start()
	checkOneDevice(t, old, facts.Alice)
	if texts := old.Messages(facts.Bob); len(texts) < 3 || texts[0].Text != "hello bob" {
		t.Fatalf("the old data dir's conversation with bob: %+v", texts)
	}
	// The name given on the first start is kept in the keystore.
	var before []cliDevice
	old.CLIJSON(&before, "devices", "list")
	old.Stop()
	old.Start()
	var after []cliDevice
	old.CLIJSON(&after, "devices", "list")
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("after a restart: %+v, want %+v", after, before)
	}
}
