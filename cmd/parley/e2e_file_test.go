package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/gui/client"
)

type jsonFile struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	From        string `json:"from"`
	Outgoing    bool   `json:"outgoing"`
	State       string `json:"state"`
	BytesDone   int64  `json:"bytes_done"`
	Path        string `json:"path"`
	Error       string `json:"error"`
	ServedBytes int64  `json:"served_bytes"`
}

// randomFile writes size random bytes to dir/name and returns its path
// and SHA-256.
func randomFile(t *testing.T, dir, name string, size int64) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

func hashOf(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// files lists p's files through the CLI.
func (p *proc) files() []jsonFile {
	p.t.Helper()
	var fs []jsonFile
	if err := json.Unmarshal([]byte(p.cli("file", "list", "--json")), &fs); err != nil {
		p.t.Fatalf("%s: file list --json: %v", p.name, err)
	}
	return fs
}

func (p *proc) file(id string) (jsonFile, bool) {
	p.t.Helper()
	for _, f := range p.files() {
		if f.ID == id {
			return f, true
		}
	}
	return jsonFile{}, false
}

// offer sends a file with --no-wait and returns its ID.
func (p *proc) offer(to, path string) string {
	p.t.Helper()
	var f jsonFile
	if err := json.Unmarshal([]byte(p.cli("file", "send", to, path, "--no-wait", "--json")), &f); err != nil || len(f.ID) != 32 {
		p.t.Fatalf("file send --no-wait --json: %+v, %v", f, err)
	}
	return f.ID
}

// A file between two users from the CLI: sent and fetched without asking
// under the auto-accept size, offered and fetched with `file get` above
// it, never overwriting, to a group too; a cancelled offer cannot be
// fetched.
func TestFilesFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := startProc(t, "alice"), startProc(t, "bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	bob.cli("contact", "add", alice.invite(), "--name", "alice")
	dir := t.TempDir()

	// Small: bob's node fetches it at once; send waits until it has.
	small, smallSum := randomFile(t, dir, "notes from the trip.txt", 3<<20+17)
	out := alice.cli("file", "send", "bob", small)
	if !strings.HasPrefix(out, "Sent notes from the trip.txt (3 MiB) to bob; file ID ") {
		t.Fatalf("file send printed %q", out)
	}
	id := strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	// Sent means every chunk has left alice; bob's node may still be
	// writing the last ones and moving the file into place.
	var got jsonFile
	var ok bool
	waitUntil(t, "bob's node finishing the file", func() bool {
		got, ok = bob.file(id)
		return ok && got.State != "transferring"
	})
	if !ok || got.State != "complete" || got.BytesDone != got.Size || got.Outgoing ||
		filepath.Dir(got.Path) != filepath.Join(bob.dir, "downloads") {
		t.Fatalf("bob's file: %+v", got)
	}
	if hashOf(t, got.Path) != smallSum {
		t.Fatal("the file bob received differs from the one alice sent")
	}
	if mine, _ := alice.file(id); mine.State != "complete" || !mine.Outgoing || mine.Path != small {
		t.Errorf("alice's record of it: %+v", mine)
	}
	if list := bob.cli("file", "list"); !strings.Contains(list, "notes from the trip.txt") || !strings.Contains(list, got.Path) {
		t.Errorf("file list:\n%s", list)
	}
	if msgs := bob.cli("messages", "alice"); !strings.Contains(msgs, "alice → you: [file] notes from the trip.txt") {
		t.Errorf("bob's conversation:\n%s", msgs)
	}

	// Above bob's auto-accept size: offered, then fetched on request,
	// into a folder of his choice, twice without overwriting.
	bob.cli("settings", "--auto-accept", "1MB")
	var set struct {
		AutoAcceptBytes int64 `json:"auto_accept_bytes"`
	}
	if err := json.Unmarshal([]byte(bob.cli("settings", "--json")), &set); err != nil || set.AutoAcceptBytes != 1<<20 {
		t.Fatalf("settings: %+v, %v", set, err)
	}
	big, bigSum := randomFile(t, dir, "photos.tar", 5<<20)
	id = alice.offer("bob", big)
	waitUntil(t, "bob seeing the offer", func() bool { f, ok := bob.file(id); return ok && f.State == "offered" })
	outDir := t.TempDir()
	path := strings.TrimSpace(bob.cli("file", "get", id[:8], "--out", outDir))
	if path != filepath.Join(outDir, "photos.tar") || hashOf(t, path) != bigSum {
		t.Fatalf("file get --out printed %q", path)
	}
	again := strings.TrimSpace(bob.cli("file", "get", id, "--out", outDir))
	if again != filepath.Join(outDir, "photos (1).tar") || hashOf(t, again) != bigSum || hashOf(t, path) != bigSum {
		t.Fatalf("a second get --out printed %q", again)
	}
	if f, _ := bob.file(id); hashOf(t, f.Path) != bigSum {
		t.Error("the downloads folder lost its copy")
	}

	// Withdrawn before bob fetched it: bob learns when he asks.
	id = alice.offer("bob", big)
	waitUntil(t, "bob seeing the offer", func() bool { _, ok := bob.file(id); return ok })
	if out := alice.cli("file", "cancel", id); out != "Cancelled photos.tar\n" {
		t.Errorf("file cancel printed %q", out)
	}
	if out, code := bob.try("file", "get", id); code != exitError || !strings.Contains(out, "photos.tar was cancelled") {
		t.Errorf("getting a withdrawn file: exit %d: %s", code, out)
	}

	// To a group: every member's node fetches it.
	alice.cli("group", "create", "trip")
	alice.cli("group", "invite", "trip", "bob")
	waitUntil(t, "bob invited", func() bool { return bob.invitedTo("trip") })
	bob.cli("group", "accept", "trip")
	bob.cli("settings", "--auto-accept", "25MB")
	out = alice.cli("file", "send", "trip", small)
	if !strings.HasPrefix(out, "Sent notes from the trip.txt (3 MiB) to trip") {
		t.Fatalf("file send to a group printed %q", out)
	}
	id = strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	waitUntil(t, "bob holding the group's file", func() bool { f, _ := bob.file(id); return f.State == "complete" })
	if f, _ := bob.file(id); hashOf(t, f.Path) != smallSum || filepath.Base(f.Path) != "notes from the trip (1).txt" {
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
	alice, bob := startProc(t, "alice"), startProc(t, "bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	bob.cli("contact", "add", alice.invite(), "--name", "alice")
	const size = 200 << 20
	path, sum := randomFile(t, t.TempDir(), "holiday video.mp4", size)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// The transfer runs at hundreds of MiB/s on loopback: bob's progress
	// is read as fast as the API answers, and a try that overshoots (the
	// kill came too late) is made again with a fresh offer.
	var id string
	var atKill int64
	for try := 1; ; try++ {
		id = alice.offer("bob", path)
		waitUntil(t, "bob seeing the offer", func() bool { f, ok := bob.file(id); return ok && f.State == "offered" })
		c, err := client.Open(bob.dir)
		if err != nil {
			t.Fatal(err)
		}
		bob.cli("file", "get", id, "--no-wait")
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
			bob.kill9()
			c.Close()
			break
		}
		c.Close()
		t.Logf("try %d: bob had %d of %d bytes when seen, too late to kill; again", try, atKill, size)
		if try == 5 {
			t.Fatal("could not catch the transfer between 20% and 80% in five tries")
		}
	}
	part := filepath.Join(bob.dir, "downloads", ".parley-"+id+".part")
	if _, err := os.Stat(part); err != nil {
		t.Fatalf("no partial file after the kill: %v", err)
	}
	t.Logf("killed bob with %d of %d bytes (%d%%) seen", atKill, size, atKill*100/size)

	bob.start()
	waitUntil(t, "the resumed download complete", func() bool {
		f, _ := bob.file(id)
		if f.State == "failed" || f.State == "cancelled" {
			t.Fatalf("the resumed download: %+v", f)
		}
		return f.State == "complete"
	})
	got, _ := bob.file(id)
	if hashOf(t, got.Path) != sum {
		t.Fatal("the resumed file is not intact")
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("the partial file is still there: %v", err)
	}
	// Had bob started over, alice would have served at least size +
	// atKill: what bob held, then everything again.
	var served jsonFile
	waitUntil(t, "alice's record complete", func() bool { served, _ = alice.file(id); return served.State == "complete" })
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
	alice, bob := startProc(t, "alice"), startProc(t, "bob")
	alice.cli("contact", "add", bob.invite(), "--name", "bob")
	dir := t.TempDir()
	file, _ := randomFile(t, dir, "a.txt", 10)
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
		out, code := alice.try(tt.args...)
		if code != exitError || !strings.Contains(out, tt.want) || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "parley: ") {
			t.Errorf("%q: exit %d: %q; want exit 1 and one line with %q", tt.args, code, out, tt.want)
		}
	}
	id := alice.offer("bob", file)
	if out, code := alice.try("file", "get", id); code != exitError || !strings.Contains(out, "a.txt is a file you offered") {
		t.Errorf("getting our own offer: exit %d: %q", code, out)
	}
	if fs := alice.files(); len(fs) != 1 {
		t.Errorf("alice holds %d files, want the one offer", len(fs))
	}
}
