package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// A file between two users from the CLI: sent and fetched without asking
// under the auto-accept size, offered and fetched with `file get` above
// it, never overwriting, to a group too; a cancelled offer cannot be
// fetched.
func TestFilesFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	dir := t.TempDir()

	// Small: bob's node fetches it at once; send waits until it has.
	small, smallSum := parleytest.RandomFile(t, dir, "notes from the trip.txt", 3<<20+17)
	out := alice.CLI("file", "send", "bob", small)
	if !strings.HasPrefix(out, "Sent notes from the trip.txt (3 MiB) to bob; file ID ") {
		t.Fatalf("file send printed %q", out)
	}
	id := strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	// Sent means every chunk has left alice; bob's node may still be
	// writing the last ones and moving the file into place.
	var got parleytest.CLIFile
	var ok bool
	parleytest.Eventually(t, "bob's node finishing the file", func() bool {
		got, ok = bob.File(id)
		return ok && got.State != "transferring"
	})
	if !ok || got.State != "complete" || got.BytesDone != got.Size || got.Outgoing ||
		filepath.Dir(got.Path) != filepath.Join(bob.Dir, "downloads") {
		t.Fatalf("bob's file: %+v", got)
	}
	if parleytest.FileHash(t, got.Path) != smallSum {
		t.Fatal("the file bob received differs from the one alice sent")
	}
	if mine, _ := alice.File(id); mine.State != "complete" || !mine.Outgoing || mine.Path != small {
		t.Errorf("alice's record of it: %+v", mine)
	}
	if list := bob.CLI("file", "list"); !strings.Contains(list, "notes from the trip.txt") || !strings.Contains(list, got.Path) {
		t.Errorf("file list:\n%s", list)
	}
	if msgs := bob.CLI("messages", "alice"); !strings.Contains(msgs, "alice → you: [file] notes from the trip.txt") {
		t.Errorf("bob's conversation:\n%s", msgs)
	}

	// Above bob's auto-accept size: offered, then fetched on request,
	// into a folder of his choice, twice without overwriting.
	bob.CLI("settings", "--auto-accept", "1MB")
	var set struct {
		AutoAcceptBytes int64 `json:"auto_accept_bytes"`
	}
	if err := json.Unmarshal([]byte(bob.CLI("settings", "--json")), &set); err != nil || set.AutoAcceptBytes != 1<<20 {
		t.Fatalf("settings: %+v, %v", set, err)
	}
	big, bigSum := parleytest.RandomFile(t, dir, "photos.tar", 5<<20)
	id = alice.Offer("bob", big)
	parleytest.Eventually(t, "bob seeing the offer", func() bool { f, ok := bob.File(id); return ok && f.State == "offered" })
	outDir := t.TempDir()
	path := strings.TrimSpace(bob.CLI("file", "get", id[:8], "--out", outDir))
	if path != filepath.Join(outDir, "photos.tar") || parleytest.FileHash(t, path) != bigSum {
		t.Fatalf("file get --out printed %q", path)
	}
	again := strings.TrimSpace(bob.CLI("file", "get", id, "--out", outDir))
	if again != filepath.Join(outDir, "photos (1).tar") || parleytest.FileHash(t, again) != bigSum || parleytest.FileHash(t, path) != bigSum {
		t.Fatalf("a second get --out printed %q", again)
	}
	if f, _ := bob.File(id); parleytest.FileHash(t, f.Path) != bigSum {
		t.Error("the downloads folder lost its copy")
	}

	// Withdrawn before bob fetched it: bob learns when he asks.
	id = alice.Offer("bob", big)
	parleytest.Eventually(t, "bob seeing the offer", func() bool { _, ok := bob.File(id); return ok })
	if out := alice.CLI("file", "cancel", id); out != "Cancelled photos.tar\n" {
		t.Errorf("file cancel printed %q", out)
	}
	if out, code := bob.Try("file", "get", id); code != exitError || !strings.Contains(out, "photos.tar was cancelled") {
		t.Errorf("getting a withdrawn file: exit %d: %s", code, out)
	}

	// To a group: every member's node fetches it.
	alice.CLI("group", "create", "trip")
	parleytest.JoinGroup(t, alice, "trip", bob)
	bob.CLI("settings", "--auto-accept", "25MB")
	out = alice.CLI("file", "send", "trip", small)
	if !strings.HasPrefix(out, "Sent notes from the trip.txt (3 MiB) to trip") {
		t.Fatalf("file send to a group printed %q", out)
	}
	id = strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	parleytest.Eventually(t, "bob holding the group's file", func() bool { f, _ := bob.File(id); return f.State == "complete" })
	if f, _ := bob.File(id); parleytest.FileHash(t, f.Path) != smallSum || filepath.Base(f.Path) != "notes from the trip (1).txt" {
		t.Errorf("the group's file at bob's: %+v", f)
	}
}

// Issue 4's crash test with real processes: bob's node is killed with
// SIGKILL in the middle of a 200 MiB download and started again; the
// download resumes, alice serves only what was missing (plus what was in
// flight), and the file is intact.
func TestFileResumesAfterReceiverCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes, 200 MiB")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	const size = 200 << 20
	path, sum := parleytest.RandomFile(t, t.TempDir(), "holiday video.mp4", size)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// The transfer runs at hundreds of MiB/s on loopback: bob's progress
	// is read as fast as the API answers, and a try that overshoots (the
	// kill came too late) is made again with a fresh offer.
	var id string
	var atKill int64
	for try := 1; ; try++ {
		id = alice.Offer("bob", path)
		parleytest.Eventually(t, "bob seeing the offer", func() bool { f, ok := bob.File(id); return ok && f.State == "offered" })
		c, err := client.Open(bob.Dir)
		if err != nil {
			t.Fatal(err)
		}
		bob.CLI("file", "get", id, "--no-wait")
		for {
			f, err := c.File(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if f.BytesDone >= size/5 || f.State != "transferring" {
				atKill = f.BytesDone
				break
			}
		}
		if atKill <= size*4/5 {
			bob.Kill9()
			c.Close()
			break
		}
		c.Close()
		t.Logf("try %d: bob had %d of %d bytes when seen, too late to kill; again", try, atKill, size)
		if try == 5 {
			t.Fatal("could not catch the transfer between 20% and 80% in five tries")
		}
	}
	part := filepath.Join(bob.Dir, "downloads", ".parley-"+id+".part")
	if _, err := os.Stat(part); err != nil {
		t.Fatalf("no partial file after the kill: %v", err)
	}
	t.Logf("killed bob with %d of %d bytes (%d%%) seen", atKill, size, atKill*100/size)

	bob.Start()
	parleytest.Eventually(t, "the resumed download complete", func() bool {
		f, _ := bob.File(id)
		if f.State == "failed" || f.State == "cancelled" {
			t.Fatalf("the resumed download: %+v", f)
		}
		return f.State == "complete"
	})
	got, _ := bob.File(id)
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the resumed file is not intact")
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("the partial file is still there: %v", err)
	}
	// Had bob started over, alice would have served at least size +
	// atKill: what bob held, then everything again.
	var served parleytest.CLIFile
	parleytest.Eventually(t, "alice's record complete", func() bool { served, _ = alice.File(id); return served.State == "complete" })
	t.Logf("alice served %d bytes for a %d-byte file", served.ServedBytes, int64(size))
	if served.ServedBytes < size || served.ServedBytes >= size+atKill {
		t.Fatalf("alice served %d bytes for a %d-byte file of which bob held %d: the resume fetched more than the missing chunks",
			served.ServedBytes, int64(size), atKill)
	}
}

// What the CLI refuses, with one line and exit 1, changing nothing.
func TestFileRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	alice.CLI("contact", "add", bob.Invite(), "--name", "bob")
	dir := t.TempDir()
	file, _ := parleytest.RandomFile(t, dir, "a.txt", 10)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"file", "get", "0123456789abcdef0123456789abcdef"}, `not found: no file "0123456789abcdef0123456789abcdef"`},
		{[]string{"file", "get", "abc"}, `no file "abc"`},
		{[]string{"file", "cancel", "0123456789abcdef0123456789abcdef"}, "not found"},
		{[]string{"file", "send", "bob", dir}, dir + " is a folder, not a file"},
		{[]string{"file", "send", "bob", filepath.Join(dir, "missing.txt")}, "no such file: " + filepath.Join(dir, "missing.txt")},
		{[]string{"file", "send", "carol", file}, `no contact or group called "carol"`},
	} {
		out, code := alice.Try(tt.args...)
		if code != exitError || !strings.Contains(out, tt.want) || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "parley: ") {
			t.Errorf("%q: exit %d: %q; want exit 1 and one line with %q", tt.args, code, out, tt.want)
		}
	}
	id := alice.Offer("bob", file)
	if out, code := alice.Try("file", "get", id); code != exitError || !strings.Contains(out, "a.txt is a file you offered") {
		t.Errorf("getting our own offer: exit %d: %q", code, out)
	}
	if fs := alice.Files(); len(fs) != 1 {
		t.Errorf("alice holds %d files, want the one offer", len(fs))
	}
}
