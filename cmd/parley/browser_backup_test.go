package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// Settings' Backup section: two different passphrases are refused in the
// page; the same one twice has the browser download the backup, which
// parley restore turns into a node that is alice, with her conversation.
func TestBrowserBackupDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	alice.CLI("contact", "add", bob.Invite(), "--name", "bob")
	alice.CLI("send", "bob", "written before the backup")
	peerID := alice.PeerID()

	downloads := t.TempDir()
	a := b.NewTab("alice", art)
	a.AllowDownloads(downloads)
	a.Navigate(alice.LoginURL())
	a.Navigate(alice.GUIURL() + "#/settings")
	a.WaitRole("heading", "Backup")
	a.WaitText("parley restore FILE --data NEWDIR")
	a.TypeIn("textbox", "Passphrase for the backup", "gui backup pass")
	a.TypeIn("textbox", "Confirm the backup's passphrase", "gui backup pas")
	a.Click("button", "Download backup")
	a.WaitText("The two passphrases are not the same.")
	a.TypeIn("textbox", "Confirm the backup's passphrase", "s")
	a.Click("button", "Download backup")
	a.WaitText("Your browser is saving the backup")
	a.Shoot("settings-backup")

	name := regexp.MustCompile(`^parley-backup-\d{4}-\d\d-\d\d\.age$`)
	var file string
	parleytest.Eventually(t, "the browser saving the backup", func() bool {
		entries, _ := os.ReadDir(downloads)
		for _, e := range entries {
			if name.MatchString(e.Name()) {
				file = filepath.Join(downloads, e.Name())
				return true
			}
		}
		return false
	})
	if v := a.Value("textbox", "Passphrase for the backup"); v != "" {
		t.Errorf("the passphrase stays in the page: %q", v)
	}
	alice.Stop()

	restored := parleytest.NewProcess(t, "alice")
	out, code := restored.TryInput("gui backup pass\n", "restore", file, "--passphrase-stdin")
	if code != 0 || !strings.Contains(out, "Restored "+peerID) {
		t.Fatalf("restore of the GUI's backup: exit %d: %s", code, out)
	}
	restored.Start()
	if got := dmTexts(restored.Messages("bob")); !slices.Contains(got, "written before the backup") {
		t.Fatalf("restored conversation: %q", got)
	}
}
