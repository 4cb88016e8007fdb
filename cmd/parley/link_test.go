package main

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/parleytest"
)

// TestLinkCLI: `parley link --json` on a fresh node prints its code and
// waits; `parley devices accept CODE --yes` on an existing node links it;
// `parley link` then ends with the linked state, and `parley devices list
// --json` on both shows the two devices.
func TestLinkCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, phone := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "phone")
	link := exec.Command(parleytest.BuildParley(t), "link", "--json", "--data", phone.Dir)
	stdout, err := link.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr parleytest.SyncBuffer
	link.Stderr = &stderr
	if err := link.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- link.Wait()
	}()
	t.Cleanup(func() { _ = link.Process.Kill() })
	type state struct {
		State, Code, Safety, Person, Error string
	}
	next := func() state {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("parley link ended early: %s", stderr.String())
			}
			var s state
			if err := json.Unmarshal([]byte(l), &s); err != nil {
				t.Fatalf("parley link printed %q: %v", l, err)
			}
			return s
		case <-time.After(time.Minute):
			t.Fatalf("parley link printed nothing for a minute: %s", stderr.String())
		}
		return state{}
	}
	first := next()
	if first.State != "waiting" || !strings.HasPrefix(first.Code, "parley:") {
		t.Fatalf("parley link --json began with %+v, want the code", first)
	}

	out := alice.CLI("devices", "accept", first.Code, "--yes")
	if !strings.Contains(out, "Safety code: ") || !strings.Contains(out, "Linked") || !strings.Contains(out, phone.PeerID()) {
		t.Fatalf("devices accept: %q", out)
	}
	safety := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "Safety code: ", 2)[1], "\n", 2)[0])
	for s := next(); s.State != "linked"; s = next() {
		if s.State == "dialed" && s.Safety != safety {
			t.Errorf("the new device shows safety code %q, the existing one %q", s.Safety, safety)
		}
		if s.State != "dialed" {
			t.Fatalf("parley link: %+v", s)
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("parley link: %v: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("parley link did not end once linked")
	}

	both := []string{alice.PeerID(), phone.PeerID()}
	slices.Sort(both)
	for _, p := range []*parleytest.Process{alice, phone} {
		var devices []cliDevice
		p.CLIJSON(&devices, "devices", "list")
		var ids []string
		for _, d := range devices {
			ids = append(ids, d.PeerID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, both) {
			t.Errorf("%s: devices list --json: %+v; want %v", p.Name, devices, both)
		}
	}
}
