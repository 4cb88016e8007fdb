package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// parley passphrase set, change and remove on real processes, running and
// stopped, with passphrases piped in as a script does: a node whose
// keystore is protected does not start without the passphrase, and with it
// starts as the same peer with its messages.
func TestPassphraseCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	id := alice.PeerID()
	alice.CLI("contact", "add", bob.Invite())
	alice.CLI("send", "bob", "written before the passphrase")
	same := func() {
		t.Helper()
		if got := alice.PeerID(); got != id {
			t.Fatalf("peer ID %s after the restart, want %s", got, id)
		}
		if ms := alice.Messages("bob"); parleytest.Count(ms, "written before the passphrase") != 1 {
			t.Fatalf("the old message is not there after the restart: %+v", ms)
		}
	}
	fails := func(stdin, want string, args ...string) {
		t.Helper()
		out, code := alice.TryInput(stdin, args...)
		if code != 1 || !strings.Contains(out, want) {
			t.Fatalf("parley %s: exit %d, %q; want exit 1 saying %q", strings.Join(args, " "), code, out, want)
		}
	}
	set := func(stdin string, args ...string) {
		t.Helper()
		out, code := alice.TryInput(stdin, append([]string{"passphrase"}, args...)...)
		if code != 0 {
			t.Fatalf("parley passphrase %s: exit %d: %s", strings.Join(args, " "), code, out)
		}
	}
	// The node started by hand, to see it refuse to start.
	startAlone := func() (string, int) {
		return alice.Try("run", "--no-mdns", "--name", "alice", "--listen", "/ip4/127.0.0.1/tcp/0")
	}

	// Set on the running node, which re-writes its keystore.
	fails("", "no line to read", "passphrase", "set", "--passphrase-stdin")
	fails("", "no passphrase is set", "passphrase", "change", "--passphrase-stdin")
	set("one\n", "set", "--passphrase-stdin")
	fails("two\n", "already set", "passphrase", "set", "--passphrase-stdin")
	fails("nope\ntwo\n", "wrong passphrase", "passphrase", "change", "--passphrase-stdin")

	// A restart without it is refused, and says how to give it.
	alice.Stop()
	out, code := startAlone()
	if code != 1 || !strings.Contains(out, "passphrase-protected") || !strings.Contains(out, "--passphrase-file") {
		t.Fatalf("start without the passphrase: exit %d, %q", code, out)
	}

	// Change while stopped, on the keystore itself.
	fails("nope\ntwo\n", "wrong passphrase", "passphrase", "change", "--passphrase-stdin")
	set("one\ntwo\n", "change", "--passphrase-stdin")
	file := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(file, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := alice.Args
	alice.Args = append(args, "--passphrase-file", file)
	alice.Start()
	same()

	// Change and remove on the running node again; remove needs --yes
	// without a terminal, and says what it costs.
	set("two\nthree\n", "change", "--passphrase-stdin")
	fails("three\n", "anyone who can read your files", "passphrase", "remove", "--passphrase-stdin")
	fails("two\n", "wrong passphrase", "passphrase", "remove", "--passphrase-stdin", "--yes")
	set("three\n", "remove", "--passphrase-stdin", "--yes")
	alice.Stop()
	alice.Args = args // no passphrase any more
	alice.Start()
	same()
}

// A start in a terminal asks for the passphrase, without echo, and asks
// again after a typo. The terminal is a pty that script(1) makes.
func TestRunAsksForThePassphrase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("needs script(1) from util-linux for a terminal")
	}
	alice := parleytest.StartProcess(t, "alice")
	id := alice.PeerID()
	if out, code := alice.TryInput("correct horse\n", "passphrase", "set", "--passphrase-stdin"); code != 0 {
		t.Fatalf("passphrase set: exit %d: %s", code, out)
	}
	alice.Stop()

	run := strings.Join([]string{parleytest.BuildParley(t), "run", "--data", alice.Dir, "--no-mdns", "--name", "alice",
		"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0"}, " ")
	cmd := exec.Command(scriptBin, "-qefc", run, "/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &parleytest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		<-exited
	})
	wait := func(what, text string) {
		t.Helper()
		parleytest.Eventually(t, what, func() bool {
			select {
			case err := <-exited:
				t.Fatalf("exited (%v) before %s: %s", err, what, out.String())
			default:
			}
			return strings.Contains(out.String(), text)
		})
	}
	wait("the prompt", "Passphrase for "+alice.Dir+": ")
	stdin.Write([]byte("wrong\n"))
	wait("the second prompt", "Wrong passphrase, try again.")
	stdin.Write([]byte("correct horse\n"))
	wait("the node running", "Peer ID: "+id)
	if strings.Contains(out.String(), "wrong") || strings.Contains(out.String(), "correct horse") {
		t.Errorf("the terminal echoed the passphrase: %q", out.String())
	}
}
