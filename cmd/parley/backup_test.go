package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// The "encrypted backup", with real processes: alice (whose
// keystore has a passphrase) backs up her running node with parley
// backup, and restores it with parley restore onto a new data dir; started
// there with her keystore passphrase, the node is her, with her contacts,
// DMs both ways and group history, and bob's next message reaches it. A
// wrong passphrase, a data dir that holds an identity and a damaged backup
// are refused, leaving the new data dir empty.
func TestBackupAndRestoreFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	keystorePass := filepath.Join(t.TempDir(), "keystore-pass")
	if err := os.WriteFile(keystorePass, []byte("keystore secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice := parleytest.StartProcess(t, "alice", "--passphrase-file", keystorePass)
	bob := parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	alice.CLI("send", "bob", "hi bob")
	bob.CLI("send", "alice", "hi alice")
	parleytest.Eventually(t, "both DMs on both sides", func() bool {
		return len(alice.Messages("bob")) == 2 && len(bob.Messages("alice")) == 2
	})
	alice.CLI("group", "create", "club")
	parleytest.JoinGroup(t, alice, "club", bob)
	alice.CLI("group", "send", "club", "club opens")
	bob.CLI("group", "send", "club", "glad to be here")
	parleytest.Eventually(t, "alice holding both group messages", func() bool { return len(alice.GroupTexts("club")) == 2 })
	wantDM := dmTexts(alice.Messages("bob"))
	wantGroup := alice.GroupTexts("club")
	peerID := alice.PeerID()

	file := filepath.Join(t.TempDir(), "alice.backup")
	out, code := alice.TryInput("backup pass\n", "backup", file, "--passphrase-stdin")
	if code != 0 || !strings.Contains(out, "Backup written to "+file) {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v", err, st.Mode().Perm())
	}
	archive, err := os.ReadFile(file)
	if err != nil || !bytes.HasPrefix(archive, []byte("age-encryption.org/v1\n")) {
		t.Fatalf("the backup is not an age file: %v", err)
	}
	if out, code := alice.TryInput("\n", "backup", filepath.Join(t.TempDir(), "x"), "--passphrase-stdin"); code == 0 {
		t.Fatalf("an empty passphrase was taken: %s", out)
	}
	alice.Stop()

	restored := parleytest.NewProcess(t, "alice")
	restored.Args = []string{"--passphrase-file", keystorePass}
	damaged := filepath.Join(t.TempDir(), "damaged.backup")
	if err := os.WriteFile(damaged, archive[:len(archive)-100], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, pass, file string
		into             *parleytest.Process
		want             string
	}{
		{"wrong passphrase", "not it\n", file, restored, "wrong passphrase"},
		{"existing identity", "backup pass\n", file, alice, "would overwrite"},
		{"damaged backup", "backup pass\n", damaged, restored, "malformed"},
	} {
		out, code := c.into.TryInput(c.pass, "restore", c.file, "--passphrase-stdin")
		if code != 1 || !strings.Contains(strings.ToLower(out), c.want) {
			t.Fatalf("%s: exit %d, %q; want exit 1 and %q", c.name, code, out, c.want)
		}
		if entries, _ := os.ReadDir(restored.Dir); len(entries) != 0 {
			t.Fatalf("%s left %d files in the new data dir", c.name, len(entries))
		}
	}
	out, code = restored.TryInput("backup pass\n", "restore", file, "--passphrase-stdin")
	if code != 0 || !strings.Contains(out, "Restored "+peerID) || !strings.Contains(out, "keeps the passphrase") {
		t.Fatalf("restore: exit %d: %s", code, out)
	}

	restored.Start()
	if got := restored.PeerID(); got != peerID {
		t.Fatalf("restored node is %s, want %s", got, peerID)
	}
	if got := dmTexts(restored.Messages("bob")); !slices.Equal(got, wantDM) {
		t.Fatalf("DMs %q, want %q", got, wantDM)
	}
	if got := restored.GroupTexts("club"); !slices.Equal(got, wantGroup) {
		t.Fatalf("group history %q, want %q", got, wantGroup)
	}
	bob.CLI("send", "alice", "welcome back")
	parleytest.Eventually(t, "the restored node receiving bob's message", func() bool {
		return slices.Contains(dmTexts(restored.Messages("bob")), "welcome back")
	})
}

func dmTexts(ms []parleytest.CLIMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}
