package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley/internal/parleytest"
)

// The files that run a community's node (dist/): their command lines must
// be ones this binary takes, and the unit must be one systemd takes.

const (
	unitFile       = "../../dist/systemd/parley-mailbox.service"
	dockerfileFile = "../../dist/docker/Dockerfile"
)

// joinContinued reads a file's lines with backslash continuations joined.
func joinContinued(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(raw), " "), "\n")
}

// unitArgs is the unit's ExecStart command line, split as systemd splits
// one without quotes.
func unitArgs(t *testing.T) []string {
	t.Helper()
	var args []string
	for _, l := range joinContinued(t, unitFile) {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			if args != nil {
				t.Fatal("two ExecStart lines")
			}
			if strings.ContainsAny(v, `"'`) {
				t.Fatal("ExecStart has quotes: split it as systemd does before testing it")
			}
			args = strings.Fields(v)
		}
	}
	if len(args) == 0 {
		t.Fatal("no ExecStart")
	}
	return args
}

// dockerArgs is the Dockerfile's ENTRYPOINT followed by its CMD.
func dockerArgs(t *testing.T) []string {
	t.Helper()
	var entry, cmd []string
	for _, l := range joinContinued(t, dockerfileFile) {
		for prefix, to := range map[string]*[]string{"ENTRYPOINT ": &entry, "CMD ": &cmd} {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				if err := json.Unmarshal([]byte(v), to); err != nil {
					t.Fatalf("%s is not in exec form (a JSON array): %v", prefix, err)
				}
			}
		}
	}
	if len(entry) == 0 || len(cmd) == 0 {
		t.Fatal("the Dockerfile needs an ENTRYPOINT and a CMD")
	}
	return append(entry, cmd...)
}

// checkCommand checks that args is `parley run` with flags this binary
// takes and values it accepts, and that it serves what a community's node
// must.
func checkCommand(t *testing.T, args []string) {
	t.Helper()
	if filepath.Base(args[0]) != "parley" {
		t.Errorf("runs %s, not parley", args[0])
	}
	root := newRootCmd()
	cmd, rest, err := root.Find(args[1:])
	if err != nil || cmd.Name() != "run" {
		t.Fatalf("%v: not `parley run` (%v)", args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("parley run %v: %v", rest, err)
	}
	if extra := cmd.Flags().Args(); len(extra) > 0 {
		t.Errorf("arguments that are not flags: %v", extra)
	}
	for _, name := range []string{"data", "relay-service", "mailbox-service", "no-mdns", "listen", "metrics"} {
		if !cmd.Flags().Changed(name) {
			t.Errorf("no --%s", name)
		}
	}
	listen, err := cmd.Flags().GetStringArray("listen")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			t.Errorf("--listen %s: %v", a, err)
		}
	}
	for _, name := range []string{"metrics", "api"} {
		if v := cmd.Flag(name).Value.String(); !strings.HasPrefix(v, "127.0.0.1:") {
			t.Errorf("--%s=%s: want loopback", name, v)
		}
	}
}

func TestSystemdUnitCommand(t *testing.T) { checkCommand(t, unitArgs(t)) }

func TestDockerfileCommand(t *testing.T) { checkCommand(t, dockerArgs(t)) }

// TestSystemdUnitVerifies: systemd itself takes the unit, every directive
// and value, where systemd-analyze is installed.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here")
	}
	raw, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that the command is executable: this test's binary
	// stands in for the installed parley.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), filepath.Base(unitFile))
	if err := os.WriteFile(unit, bytes.ReplaceAll(raw, []byte("/usr/local/bin/parley"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// A value systemd does not take is only a warning: any output fails.
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdUnitRuns runs the unit's command line, its data dir and
// addresses moved to the test's (loopback, ports the OS picks): the node
// starts, serves the mailbox service and its metrics.
func TestSystemdUnitRuns(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for _, a := range unitArgs(t)[1:] {
		switch {
		case strings.HasPrefix(a, "--listen="):
			continue
		case strings.HasPrefix(a, "--metrics="):
			a = "--metrics=127.0.0.1:0"
		}
		args = append(args, strings.ReplaceAll(a, "%S/parley", dir))
	}
	args = append(args, "--listen=/ip4/127.0.0.1/tcp/0")
	ctx, cancel := context.WithCancel(t.Context())
	out, errOut := &parleytest.SyncBuffer{}, &parleytest.SyncBuffer{}
	done := make(chan struct{})
	var code int // set before done closes
	go func() {
		defer close(done)
		code = execute(ctx, args, out, errOut)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	}()
	metrics := regexp.MustCompile(`Metrics: (http://\S+)`)
	parleytest.Eventually(t, "the node to start", func() bool {
		select {
		case <-done:
			t.Fatalf("parley %v exited %d: %s", args, code, errOut.String())
		default:
		}
		return metrics.MatchString(out.String())
	})
	resp, err := http.Get(metrics.FindStringSubmatch(out.String())[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nparley_mailbox_owners 0\n", "\nlibp2p_rcmgr_limit{"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics has no %q", strings.TrimSpace(want))
		}
	}
}
