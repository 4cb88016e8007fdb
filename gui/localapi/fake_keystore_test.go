package localapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/parley-im/parley"
)

// fakeKeystore is the Keystore role: the passphrase as a string, checked
// the way the node checks it (old must match, or be empty when none).
type fakeKeystore struct {
	mu         sync.Mutex
	passphrase string // "" when none is set; guarded by mu
	offered    bool   // guarded by mu
	changes    int    // guarded by mu
	// backupFails makes Backup fail after its first bytes, as a store
	// error mid-way would; backups counts the calls. Guarded by mu.
	backupFails bool
	backups     int
}

func (f *fakeKeystore) PassphraseState(context.Context) (set, offered bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passphrase != "", f.offered, nil
}

func (f *fakeKeystore) ChangePassphrase(_ context.Context, old, newPass []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.passphrase != "" && string(old) != f.passphrase {
		return parley.ErrWrongPassphrase
	}
	f.passphrase, f.offered = string(newPass), true
	f.changes++
	return nil
}

func (f *fakeKeystore) SkipPassphraseOffer(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offered = true
	return nil
}

// Backup writes a stand-in for the archive that names the passphrase, so a
// test sees which one the handler passed on; the real archive's format is
// node's, tested there.
func (f *fakeKeystore) Backup(_ context.Context, w io.Writer, passphrase []byte) error {
	f.mu.Lock()
	f.backups++
	fails := f.backupFails
	f.mu.Unlock()
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: empty passphrase", parley.ErrMalformed)
	}
	if _, err := fmt.Fprintf(w, "backup sealed with %q", passphrase); err != nil {
		return err
	}
	if fails {
		// More than the server buffers, so the headers have left.
		if _, err := w.Write(make([]byte, 64<<10)); err != nil {
			return err
		}
		return errors.New("store: read error")
	}
	return nil
}
