package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbauerster/mpb/v8"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "never": 0, "Off": 0, "4096": 4096, "12b": 12, "512K": 512 << 10, "25MB": 25 << 20,
		"25 MiB": 25 << 20, "1.5GB": 3 << 29, "1gib": 1 << 30, "2T": 2 << 40, " 7 mb ": 7 << 20,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "12XB", "-5MB", "1e9", "0x10", "inf", "NaN", "1.2.3", "10 bm", "9999999999T"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 3<<20 + 17: "3 MiB",
		200 << 20: "200 MiB", 1<<30 + 1<<29: "1.5 GiB", 128 << 30: "128 GiB",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPrintFiles(t *testing.T) {
	var buf bytes.Buffer
	err := printFiles(&buf, []client.FileView{
		{ID: "aa", Name: "video.mp4", Size: 200 << 20, From: "12D3KooWAlice", State: parley.FileTransferring,
			BytesDone: 50 << 20, FromName: "alice"},
		{ID: "bb", Name: "notes.txt", Size: 10, From: "12D3KooWMe", Outgoing: true, State: parley.FileComplete,
			BytesDone: 10, Path: "/home/me/notes.txt"},
		{ID: "cc", Name: "x.bin", Size: 0, From: "12D3KooWCarol", State: parley.FileFailed, Error: "disk full"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `ID  NAME       SIZE     FROM           STATE               DONE          PATH
aa  video.mp4  200 MiB  alice          transferring        50 MiB (25%)  -
bb  notes.txt  10 B     you            complete            10 B (100%)   /home/me/notes.txt
cc  x.bin      0 B      12D3KooWCarol  failed (disk full)  0 B (100%)    -
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	printFiles(&buf, nil)
	if want := "No files yet. Send one with: parley file send CONTACT PATH\n"; buf.String() != want {
		t.Errorf("no files: %q", buf.String())
	}
}

func TestPrintSettings(t *testing.T) {
	var buf bytes.Buffer
	printSettings(&buf, client.SettingsView{AutoAcceptBytes: 25 << 20, Downloads: "/d"})
	printSettings(&buf, client.SettingsView{AutoAcceptBytes: -1, Downloads: "/d", PublicDHT: true, MailboxService: true, MailboxServiceAtStart: true,
		TypingIndicators: true, LastSeen: true, ReadReceipts: true})
	want := `Auto-accept:           files from contacts up to 25 MiB; larger ones wait for: parley file get ID
Downloads:             /d
Public DHT:            off; contacts are found through bootstrap peers and the local network
Hold mail for others:  off
Typing indicators:     off; you neither send nor see typing
Last seen:             off; you neither share nor see last seen
Read receipts:         off; they see only that your node got them
Auto-accept:           never; every file waits for: parley file get ID
Downloads:             /d
Public DHT:            on; contacts on other networks can find you through the public IPFS DHT
Hold mail for others:  on; this node holds mail for the people who chose it as their mailbox (set by parley run --mailbox-service or --relay-service until a restart without it)
Typing indicators:     on; contacts and group members see when you type, and you see when they do
Last seen:             on; contacts who share theirs see when you were last online, and you see theirs
Read receipts:         on; contacts and group members see when you read their messages
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestParseOnOff(t *testing.T) {
	for in, want := range map[string]bool{"on": true, "ON": true, " off ": false, "Off": false} {
		if got, err := parseOnOff(in); err != nil || got != want {
			t.Errorf("parseOnOff(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yes", "1", "true", "onn"} {
		if _, err := parseOnOff(in); err == nil {
			t.Errorf("parseOnOff(%q): no error", in)
		}
	}
}

// The bar shows the name, bytes and the state a transfer waits in, ends
// on its final state, and draws nothing where no terminal reads it.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	b := &bar{w: &buf, opts: []mpb.ContainerOption{mpb.WithAutoRefresh()}}
	f := client.FileView{Name: "holiday video.mp4", Size: 100 << 20, State: parley.FileTransferring, BytesDone: 40 << 20}
	b.update(f)
	f.State, f.BytesDone = parley.FileComplete, 100<<20
	b.update(f)
	b.done()
	out := buf.String()
	for _, want := range []string{"holiday video.mp4", "100 %", "100.0 MiB / 100.0 MiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bar never showed %q: %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("the bar does not end its line: %q", out)
	}

	buf.Reset()
	b = &bar{w: &buf, opts: []mpb.ContainerOption{mpb.WithAutoRefresh()}}
	f.State, f.Error, f.BytesDone = parley.FileFailed, "the sender is offline", 10<<20
	b.update(f)
	b.done()
	if !strings.Contains(buf.String(), "(failed: the sender is offline)") {
		t.Errorf("a failed transfer shows %q", buf.String())
	}
	if got := describe(client.FileView{Name: strings.Repeat("long name ", 10), State: parley.FileOffered, Outgoing: true}); got != "long name long name long name l… (waiting to be fetched)" {
		t.Errorf("a long name waiting: %q", got)
	}

	var none bytes.Buffer
	p := newProgress(&none) // not a terminal
	p.update(f)
	p.done()
	if none.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", none.String())
	}
}

// --out never overwrites: a second copy gets " (1)".
func TestPlaceCopy(t *testing.T) {
	src := filepath.Join(t.TempDir(), "photo.jpg")
	os.WriteFile(src, []byte("jpeg"), 0o600)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "photo.jpg"), []byte("mine"), 0o600)
	for _, want := range []string{"photo (1).jpg", "photo (2).jpg"} {
		got, err := placeCopy(src, "photo.jpg", dir)
		if err != nil || got != filepath.Join(dir, want) {
			t.Fatalf("placeCopy: %q, %v; want %s", got, err, want)
		}
		if b, _ := os.ReadFile(got); string(b) != "jpeg" {
			t.Errorf("%s holds %q", got, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "photo.jpg")); string(b) != "mine" {
		t.Error("an existing file was overwritten")
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("the source went: %v", err)
	}
	// A download renamed beside earlier ones ("photo (3).jpg") goes into
	// an empty folder under the name it was offered with.
	renamed := filepath.Join(t.TempDir(), "photo (3).jpg")
	os.WriteFile(renamed, []byte("jpeg"), 0o600)
	empty := t.TempDir()
	if got, err := placeCopy(renamed, "photo.jpg", empty); err != nil || got != filepath.Join(empty, "photo.jpg") {
		t.Fatalf("placeCopy of a renamed download: %q, %v; want photo.jpg", got, err)
	}
	// The copy path, as across file systems.
	if err := copyNew(src, filepath.Join(dir, "photo.jpg")); !os.IsExist(err) {
		t.Errorf("copyNew over an existing file: %v", err)
	}
}
