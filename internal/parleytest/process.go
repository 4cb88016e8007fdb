package parleytest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// BuildParley builds cmd/parley once per test binary and returns the
// binary's path, in a temporary directory that Main removes.
func BuildParley(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/parley-im/parley/cmd/parley").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Main runs a package's tests (call it from TestMain) and then removes the
// binary BuildParley made, which every test of the package shares.
func Main(m *testing.M) int {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	return code
}

// Process is one `parley run` process and its data dir. Set its fields
// before Start; they hold across restarts.
type Process struct {
	Name string
	Dir  string // the data dir
	// Listen replaces the loopback TCP and QUIC listen addresses.
	Listen []string
	// Args are more flags for `parley run`.
	Args []string
	// Prefix is a command the binary runs under, for `run` and the CLI
	// alike: ip netns exec NS, to run it in a network namespace.
	Prefix []string
	// MDNS leaves mDNS on: only inside network namespaces of the test's own.
	MDNS bool

	t      testing.TB
	cmd    *exec.Cmd // nil while stopped
	out    *SyncBuffer
	exited chan struct{} // closed once cmd has exited
	err    error         // cmd's exit; set before exited closes
}

// NewProcess describes a process for a user named name in a fresh data
// dir, not yet started; Stop runs when the test ends.
func NewProcess(t testing.TB, name string) *Process {
	p := &Process{Name: name, Dir: t.TempDir(), t: t}
	t.Cleanup(p.Stop)
	return p
}

// StartProcess runs `parley run --name name` in a fresh data dir, on
// loopback with mDNS off, args added to its flags; it returns once the
// node serves its API, and stops it when the test ends.
func StartProcess(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p := NewProcess(t, name)
	p.Args = args
	p.Start()
	return p
}

// Start runs the process (again) on its data dir and waits until it serves
// its API.
func (p *Process) Start() {
	p.t.Helper()
	args := []string{"run", "--data", p.Dir}
	if !p.MDNS {
		args = append(args, "--no-mdns")
	}
	args = append(args, "--name", p.Name)
	listen := p.Listen
	if listen == nil {
		listen = []string{loopbackTCP, loopbackQUIC}
	}
	for _, a := range listen {
		args = append(args, "--listen", a)
	}
	args = append(args, p.Args...)
	out, exited := &SyncBuffer{}, make(chan struct{})
	cmd := p.command(args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd, p.out, p.exited = cmd, out, exited
	go func() {
		p.err = cmd.Wait()
		close(exited)
	}()
	Eventually(p.t, p.Name+" serving its API", func() bool {
		select {
		case <-exited:
			p.t.Fatalf("%s exited: %v\n%s", p.Name, p.err, out.String())
		default:
		}
		return strings.Contains(out.String(), "Peer ID: ")
	})
}

// Stop ends the process with SIGTERM and expects a clean exit; calling it
// again is a no-op.
func (p *Process) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	p.cmd = nil
	if p.err != nil {
		p.t.Errorf("%s did not shut down cleanly: %v\n%s", p.Name, p.err, p.out.String())
	}
}

// Kill9 ends the process the hard way, as a crash or power cut would.
func (p *Process) Kill9() {
	p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// Crashed reports whether the process, started and neither stopped nor
// killed since, has exited on its own.
func (p *Process) Crashed() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Output is what the process has printed so far, stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// CLI runs `parley args...` against this node and returns its output,
// failing the test on a non-zero exit.
func (p *Process) CLI(args ...string) string {
	p.t.Helper()
	out, code := p.Try(args...)
	if code != 0 {
		p.t.Fatalf("%s: parley %s: exit %d: %s", p.Name, strings.Join(args, " "), code, out)
	}
	return out
}

// Try runs `parley args...` against this node, with --data after the
// subcommand as the README shows, and returns its output (stdout and
// stderr) and exit code.
func (p *Process) Try(args ...string) (string, int) {
	p.t.Helper()
	return p.TryInput("", args...)
}

// TryInput is Try with stdin as the command's standard input (not a
// terminal), as a script pipes passphrases in.
func (p *Process) TryInput(stdin string, args ...string) (string, int) {
	p.t.Helper()
	full := append(args[:1:1], append([]string{"--data", p.Dir}, args[1:]...)...)
	if len(args) > 1 && (args[0] == "contact" || args[0] == "group" || args[0] == "file" || args[0] == "passphrase") {
		full = append([]string{args[0], args[1], "--data", p.Dir}, args[2:]...)
	}
	cmd := p.command(full...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return string(out), 0
}

// command runs the binary with args, under Prefix.
func (p *Process) command(args ...string) *exec.Cmd {
	full := append(slices.Clone(p.Prefix), BuildParley(p.t))
	full = append(full, args...)
	return exec.Command(full[0], full[1:]...)
}

// AddrlessInvite is p's invite with every address left out.
func (p *Process) AddrlessInvite() string {
	p.t.Helper()
	return AddrlessInvite(p.t, p.Dir, p.Name)
}

// SyncBuffer is a bytes.Buffer safe for one writer and one reader: a
// process's output, read while it runs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Meet makes a and b each other's contacts, each under the other's name,
// as two people who swapped invites do.
func Meet(a, b *Process) {
	a.CLI("contact", "add", b.Invite(), "--name", b.Name)
	b.CLI("contact", "add", a.Invite(), "--name", a.Name)
}

// JoinGroup has owner invite member (a contact of theirs, by name) to the
// group and member accept, once the invitation has reached it.
func JoinGroup(t testing.TB, owner *Process, group string, member *Process) {
	t.Helper()
	owner.CLI("group", "invite", group, member.Name)
	Eventually(t, member.Name+" seeing the invitation to "+group, func() bool { return member.InvitedTo(group) })
	member.CLI("group", "accept", group)
}
