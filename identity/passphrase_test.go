package identity

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

func sealed(t *testing.T, dir string) bool {
	t.Helper()
	s, err := Sealed(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealed(t *testing.T) {
	dir := t.TempDir()
	if _, err := Sealed(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Sealed of an empty dir: %v, want ErrNotExist", err)
	}
	var logs bytes.Buffer
	if _, _, err := LoadOrCreate(dir, plainOpts(&logs)); err != nil {
		t.Fatal(err)
	}
	if sealed(t, dir) {
		t.Error("a plain keystore reported sealed")
	}
	if err := ChangePassphrase(dir, plainOpts(&logs), sealedOpts(&logs, "one")); err != nil {
		t.Fatal(err)
	}
	if !sealed(t, dir) {
		t.Error("a sealed keystore reported plain")
	}
	// A file shorter than age's header is not sealed (and LoadOrCreate
	// says it is damaged).
	if err := os.WriteFile(filepath.Join(dir, KeystoreFile), []byte("age"), 0o600); err != nil {
		t.Fatal(err)
	}
	if sealed(t, dir) {
		t.Error("a three-byte file reported sealed")
	}
}

// What parley passphrase set, change and remove do, in turn, with the
// refusals a mistyped passphrase gets: each leaves the file as it was.
func TestPassphraseSetChangeRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeystoreFile)
	var logs bytes.Buffer
	id, _, err := LoadOrCreate(dir, plainOpts(&logs))
	if err != nil {
		t.Fatal(err)
	}
	refused := func(what string, from, to KeystoreOptions) {
		t.Helper()
		before := readFile(t, path)
		if err := ChangePassphrase(dir, from, to); !errors.Is(err, parley.ErrWrongPassphrase) {
			t.Errorf("%s: %v, want ErrWrongPassphrase", what, err)
		}
		if !bytes.Equal(readFile(t, path), before) {
			t.Errorf("%s: the refused change altered the keystore", what)
		}
	}
	opens := func(opts KeystoreOptions, wantSealed bool) {
		t.Helper()
		if got := sealed(t, dir); got != wantSealed {
			t.Errorf("sealed = %v, want %v", got, wantSealed)
		}
		again, created, err := LoadOrCreate(dir, opts)
		if err != nil || created {
			t.Fatalf("reopen: created %v, %v", created, err)
		}
		sameIdentity(t, id, again)
	}

	// set
	if err := ChangePassphrase(dir, plainOpts(&logs), sealedOpts(&logs, "one")); err != nil {
		t.Fatal(err)
	}
	opens(sealedOpts(&logs, "one"), true)
	refused("set again without the passphrase", plainOpts(&logs), sealedOpts(&logs, "two"))
	refused("change with a wrong passphrase", sealedOpts(&logs, "One"), sealedOpts(&logs, "two"))
	refused("remove with a wrong passphrase", sealedOpts(&logs, "on"), plainOpts(&logs))

	// change
	if err := ChangePassphrase(dir, sealedOpts(&logs, "one"), sealedOpts(&logs, "two")); err != nil {
		t.Fatal(err)
	}
	opens(sealedOpts(&logs, "two"), true)
	refused("change with the old passphrase", sealedOpts(&logs, "one"), sealedOpts(&logs, "three"))

	// remove
	if err := ChangePassphrase(dir, sealedOpts(&logs, "two"), plainOpts(&logs)); err != nil {
		t.Fatal(err)
	}
	opens(plainOpts(&logs), false)

	// and set once more
	if err := ChangePassphrase(dir, plainOpts(&logs), sealedOpts(&logs, "four")); err != nil {
		t.Fatal(err)
	}
	opens(sealedOpts(&logs, "four"), true)
	onlyKeystore(t, dir)
}

// A crash while the passphrase was being removed can leave a temporary
// keystore in clear beside the real one; setting a passphrase later must
// not leave that copy behind, and neither must the next start.
func TestPassphraseRemovesStaleTemporaryKeystores(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	if _, _, err := LoadOrCreate(dir, plainOpts(&logs)); err != nil {
		t.Fatal(err)
	}
	clearCopy := readFile(t, filepath.Join(dir, KeystoreFile))
	stale := filepath.Join(dir, ".keystore-123456.tmp")
	if err := os.WriteFile(stale, clearCopy, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ChangePassphrase(dir, plainOpts(&logs), sealedOpts(&logs, "one")); err != nil {
		t.Fatal(err)
	}
	onlyKeystore(t, dir)

	if err := os.WriteFile(stale, clearCopy, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, sealedOpts(&logs, "one")); err != nil {
		t.Fatal(err)
	}
	onlyKeystore(t, dir)
}

// crashDirEnv tells the test binary, run again as a child, to change the
// passphrase of the keystore in this dir back and forth until killed.
const crashDirEnv = "PARLEY_TEST_KEYSTORE_CRASH_DIR"

// The child of TestPassphraseChangeSurvivesKill: it alternates the
// passphrase between "a" and "b" and prints each change made.
func TestPassphraseChangeCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestPassphraseChangeSurvivesKill")
	}
	var logs bytes.Buffer
	from := "a"
	if !sealed(t, dir) {
		from = ""
	} else if _, _, err := LoadOrCreate(dir, sealedOpts(&logs, "a")); err != nil {
		from = "b"
	}
	for {
		to := map[string]string{"": "a", "a": "b", "b": "a"}[from]
		fromOpts := plainOpts(&logs)
		if from != "" {
			fromOpts = sealedOpts(&logs, from)
		}
		if err := ChangePassphrase(dir, fromOpts, sealedOpts(&logs, to)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("changed to", to)
		from = to
		logs.Reset()
	}
}

// kill -9 at random moments while the passphrase changes over and over:
// the keystore always opens afterwards, with the old passphrase or the new
// one, as the same identity; and the next change leaves no temporary file.
func TestPassphraseChangeSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	var logs bytes.Buffer
	id, _, err := LoadOrCreate(dir, plainOpts(&logs))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPassphraseChangeCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill once the child is changing passphrases, at a random point of
		// a change: the nemesis's delay is the test, not a wait for an event.
		lines := bufio.NewScanner(out)
		if !lines.Scan() {
			cmd.Wait()
			t.Fatalf("round %d: the child printed nothing", round)
		}
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()

		var opened *Identity
		for _, pass := range []string{"a", "b"} {
			if got, _, err := LoadOrCreate(dir, sealedOpts(&logs, pass)); err == nil {
				opened = got
				break
			} else if !errors.Is(err, parley.ErrWrongPassphrase) {
				t.Fatalf("round %d: keystore after kill -9: %v", round, err)
			}
		}
		if opened == nil {
			t.Fatalf("round %d: the keystore opens with neither passphrase", round)
		}
		sameIdentity(t, id, opened)
	}
	// The last LoadOrCreate removed any temporary file the kills left.
	onlyKeystore(t, dir)
}
