// Package netns builds networks of the test's own out of Linux network
// namespaces: hosts joined by a bridge (veth pairs) or by a switch in the
// test process (TAP devices, see Switch), and a dialer that connects from
// inside a namespace, to reach a process's loopback-only API there.
//
// Everything it makes is named under a prefix unique to the run (Prefix),
// so that a leftover of a killed run never clashes with the next, and is
// removed when the test ends (t.Cleanup), pass or fail. It needs root and
// iproute2; Require skips a test elsewhere, saying why. Nothing here
// touches the machine's own network: a namespace has no link to it.
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Require skips the test unless it runs as root with the tools (ip, and
// any others named) on PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s to build a network in namespaces", tool)
		}
	}
}

// Prefix is short followed by six random hex digits: a name prefix of
// this run's own. Interface names are at most 15 bytes: keep short short.
func Prefix(short string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return short + hex.EncodeToString(b)
}

// Run runs iproute2 with args.
func Run(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// IP runs iproute2 with args and fails the test on error.
func IP(t testing.TB, args ...string) {
	t.Helper()
	if err := Run(args...); err != nil {
		t.Fatal(err)
	}
}

// Add makes namespace ns with its loopback up; it is deleted when the
// test ends (after whatever was started in it later has stopped).
func Add(t testing.TB, ns string) {
	t.Helper()
	IP(t, "netns", "add", ns)
	t.Cleanup(func() { Run("netns", "del", ns) })
	IP(t, "-n", ns, "link", "set", "lo", "up")
}

// Exec runs a command inside namespace ns, with stdin, and fails the
// test on error.
func Exec(t testing.TB, ns, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in %s: %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

// Bridge makes namespace ns (Add) holding a bridge br0 that is up: a
// switch for Plug.
func Bridge(t testing.TB, ns string) {
	t.Helper()
	Add(t, ns)
	IP(t, "-n", ns, "link", "add", "br0", "type", "bridge")
	IP(t, "-n", ns, "link", "set", "br0", "up")
}

// Plug joins namespace host to the bridge in namespace sw by a veth
// pair: host's end becomes eth0 with address addr[0] (CIDR; any more
// words are flags of `ip addr add`, such as nodad), sw's end, named port, a port of br0. veth names
// the host's end while it is still in the root namespace; both names
// must be unique to the run.
func Plug(t testing.TB, sw, host, veth, port string, addr ...string) {
	if len(addr) == 0 {
		t.Fatal("netns.Plug: no address")
	}
	t.Helper()
	IP(t, "link", "add", veth, "type", "veth", "peer", "name", port)
	IP(t, "link", "set", veth, "netns", host)
	IP(t, "link", "set", port, "netns", sw)
	IP(t, "-n", sw, "link", "set", port, "master", "br0")
	IP(t, "-n", sw, "link", "set", port, "up")
	IP(t, "-n", host, "link", "set", veth, "name", "eth0")
	IP(t, append([]string{"-n", host, "addr", "add", addr[0], "dev", "eth0"}, addr[1:]...)...)
	IP(t, "-n", host, "link", "set", "eth0", "up")
}

// Listen listens on addr inside namespace ns, as Dial dials there: the
// socket stays in ns when the thread that made it is gone.
func Listen(ns, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNS(ns, func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// Dial connects to addr from inside namespace ns: a socket belongs to the
// namespace of the thread that made it.
func Dial(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNS(ns, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// inNS runs f on a thread of its own moved into namespace ns; the thread
// exits with it (never unlocked, the runtime ends it rather than reuse it
// elsewhere).
func inNS(ns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			done <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		done <- f()
	}()
	return <-done
}
