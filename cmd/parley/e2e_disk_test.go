package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/diskspace"
	"github.com/parley-im/parley/internal/parleytest"
)

// The tests here put a node's data dir on a small tmpfs of their own and
// fill it with a ballast file. The node runs as a real process, so that a
// SIGBUS (badger writing through mmap into a page the disk cannot hold, as
// happened before the write gate) kills it and not the test.

// smallDisk mounts a tmpfs of sizeMB in a temporary directory, unmounted
// when the test ends (after the processes in it have stopped: cleanups run
// last first). It skips the test where mounting is not allowed.
func smallDisk(t *testing.T, sizeMB int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a ballast file into dir until at most leaveMB are free,
// and returns its path.
func fillDisk(t *testing.T, dir string, leaveMB int64) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		free, err := diskspace.Free(dir)
		if err != nil {
			t.Fatal(err)
		}
		if free <= leaveMB<<20 {
			return path
		}
		n := min(int64(len(chunk)), free-leaveMB<<20)
		if _, err := f.Write(chunk[:n]); err != nil {
			t.Fatalf("writing the ballast: %v", err)
		}
	}
}

// diskOf is the disk part of `parley status --json`.
func diskOf(p *parleytest.Process) (full bool, message string) {
	var st struct {
		Disk struct {
			Full    bool   `json:"full"`
			Message string `json:"message"`
		} `json:"disk"`
	}
	p.CLIJSON(&st, "status")
	return st.Disk.Full, st.Disk.Message
}

// wantDiskFullSend checks that a send fails with the disk-full message.
func wantDiskFullSend(t *testing.T, p *parleytest.Process, to, text string) {
	t.Helper()
	out, code := p.Try("send", to, text)
	if code == 0 || !strings.Contains(out, "disk full: ") || !strings.Contains(out, " MB free") {
		t.Fatalf("send on a full disk: exit %d, %q; want an error saying \"disk full: N MB free\"", code, out)
	}
}

// notDelivered: the sender still holds the message, queued (or in flight).
func notDelivered(status string) bool { return status == "queued" || status == "sent" }

// aliceOnSmallDisk starts alice with her data dir on a 160 MB disk of the
// test's own, and bob as her contact.
func aliceOnSmallDisk(t *testing.T) (disk string, alice, bob *parleytest.Process) {
	t.Helper()
	disk = smallDisk(t, 160)
	alice = parleytest.NewProcess(t, "alice")
	alice.Dir = filepath.Join(disk, "alice")
	alice.Start()
	bob = parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	return disk, alice, bob
}

// The data dir's disk fills while the node runs: sends fail with "disk
// full: N MB free", the node stays up and serves reads, a contact's
// messages are not acknowledged and stay queued with the contact; once the
// ballast is deleted the node takes writes again by itself and every
// message arrives, exactly once. Before the write gate the send succeeded
// and badger, writing on, died of SIGBUS.
func TestFullDiskRefusesWritesAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	disk, alice, bob := aliceOnSmallDisk(t)
	alice.CLI("send", "bob", "before the disk filled")
	parleytest.Eventually(t, "bob has the first message", func() bool {
		return parleytest.Count(bob.Messages("alice"), "before the disk filled") == 1
	})

	// Far from the watermark a free-space reading lasts up to a second:
	// the node has seen the ballast once its status says so.
	ballast := fillDisk(t, disk, 40)
	parleytest.Eventually(t, "alice's status says the disk is full", func() bool { full, _ := diskOf(alice); return full })
	if _, msg := diskOf(alice); !strings.HasPrefix(msg, "disk full: ") {
		t.Fatalf("status message %q", msg)
	}
	wantDiskFullSend(t, alice, "bob", "refused")

	// Bob's messages reach alice's node, which does not acknowledge them:
	// they stay queued with bob.
	const burst = 10
	for i := range burst {
		bob.CLI("send", "alice", fmt.Sprintf("while alice's disk is full %d", i))
	}
	parleytest.Eventually(t, "alice refuses bob's messages", func() bool {
		return strings.Contains(alice.Output(), "dm: storing received envelopes") && strings.Contains(alice.Output(), "disk full")
	})
	for i := range burst {
		if st := bob.StatusOf("alice", fmt.Sprintf("while alice's disk is full %d", i)); !notDelivered(st) {
			t.Fatalf("bob's message %d is %q while alice's disk is full, want queued", i, st)
		}
	}
	// Alice is alive and reads work.
	got := alice.Messages("bob")
	if parleytest.Count(got, "before the disk filled") != 1 || parleytest.Count(got, "refused") != 0 {
		t.Fatalf("alice's conversation on a full disk: %+v", got)
	}
	alice.CLI("conversations")

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice takes writes again", func() bool { full, _ := diskOf(alice); return !full })
	alice.CLI("send", "bob", "after the disk was freed")
	// Bob's courier backs off up to a minute between tries.
	parleytest.EventuallyWithin(t, 2*time.Minute, "bob's messages delivered", func() bool {
		for i := range burst {
			if notDelivered(bob.StatusOf("alice", fmt.Sprintf("while alice's disk is full %d", i))) {
				return false
			}
		}
		return true
	})
	parleytest.Eventually(t, "bob has alice's message", func() bool {
		return parleytest.Count(bob.Messages("alice"), "after the disk was freed") == 1
	})
	got = alice.Messages("bob")
	for i := range burst {
		if c := parleytest.Count(got, fmt.Sprintf("while alice's disk is full %d", i)); c != 1 {
			t.Errorf("alice holds bob's message %d %d times, want once", i, c)
		}
	}
	if parleytest.Count(bob.Messages("alice"), "refused") != 0 {
		t.Error("the refused send reached bob")
	}
	alice.Stop()
	if out := alice.Output(); strings.Contains(out, "SIGBUS") || strings.Contains(out, "unexpected fault address") {
		t.Fatalf("alice crashed:\n%s", out)
	}
}

// A node started on a full disk runs read-only and says why: reads work,
// sends fail with the disk-full error, a contact's messages wait; once
// space is freed it takes writes without a restart.
func TestStartOnFullDiskIsReadOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	disk, alice, bob := aliceOnSmallDisk(t)
	bob.CLI("send", "alice", "before")
	parleytest.Eventually(t, "alice has bob's first message", func() bool {
		return parleytest.Count(alice.Messages("bob"), "before") == 1
	})
	alice.Stop()
	bob.CLI("send", "alice", "while alice was away")

	ballast := fillDisk(t, disk, 20)
	alice.Start()
	if out := alice.Output(); !strings.Contains(out, "disk full: ") || !strings.Contains(out, "read-only until space is freed") {
		t.Fatalf("alice started on a full disk without saying so:\n%s", out)
	}
	if full, _ := diskOf(alice); !full {
		t.Fatal("status does not say the disk is full")
	}
	if parleytest.Count(alice.Messages("bob"), "before") != 1 {
		t.Fatal("reads fail on a full disk")
	}
	wantDiskFullSend(t, alice, "bob", "refused")
	parleytest.Eventually(t, "alice refuses bob's queued message", func() bool {
		return strings.Contains(alice.Output(), "dm: storing received envelopes")
	})
	if st := bob.StatusOf("alice", "while alice was away"); !notDelivered(st) {
		t.Fatalf("bob's message is %q while alice is read-only, want queued", st)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice takes writes again", func() bool { full, _ := diskOf(alice); return !full })
	alice.CLI("send", "bob", "after")
	parleytest.Eventually(t, "bob has it", func() bool { return parleytest.Count(bob.Messages("alice"), "after") == 1 })
	parleytest.EventuallyWithin(t, 2*time.Minute, "bob's queued message delivered", func() bool {
		return !notDelivered(bob.StatusOf("alice", "while alice was away"))
	})
	if c := parleytest.Count(alice.Messages("bob"), "while alice was away"); c != 1 {
		t.Fatalf("alice holds bob's message %d times, want once", c)
	}
}

// The web GUI says when the node's disk is full (a banner, live), shows
// why a send failed where it failed, keeps showing the conversation, and
// takes the banner down once space is freed.
func TestBrowserShowsAFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	disk := smallDisk(t, 160)
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice := parleytest.NewProcess(t, "Alice")
	alice.Dir = filepath.Join(disk, "alice")
	alice.Start()
	bob := parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	bob.CLI("send", "Alice", "hello from bob")

	a := b.NewTab("alice", art)
	a.Navigate(alice.LoginURL())
	a.Click("link", "Bob")
	a.WaitMessage("hello from bob")

	ballast := fillDisk(t, disk, 40)
	a.WaitJS("the disk banner", `(() => {
		const b = document.querySelector('.disk-banner');
		return b && !b.hidden && b.textContent.startsWith('disk full: ') && b.getAttribute('role') === 'alert';
	})()`)
	a.Paste("textbox", "Message", "not on a full disk")
	a.Click("button", "Send")
	a.WaitText("Not sent: disk full: ")
	a.Shoot("disk-full")
	a.WaitMessage("hello from bob") // the conversation stays

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	a.WaitJS("the disk banner gone", `document.querySelector('.disk-banner').hidden`)
	a.Click("button", "Send")
	a.WaitMessage("not on a full disk")
	parleytest.Eventually(t, "bob has it", func() bool { return parleytest.Count(bob.Messages("Alice"), "not on a full disk") == 1 })
}
