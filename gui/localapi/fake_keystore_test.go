package localapi_test

import (
	"context"
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
