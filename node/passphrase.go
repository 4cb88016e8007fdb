package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// maxPassphraseBytes bounds a new passphrase: scrypt takes any length, but
// nobody types more, and a body from the API should not be hashed at any
// size.
const maxPassphraseBytes = 1024

// PassphraseState reports whether the keystore is passphrase-protected, and
// whether the user was already offered to set one (the GUI offers it once,
// at its first run; setting, changing or skipping counts).
func (m *Messenger) PassphraseState(ctx context.Context) (set, offered bool, err error) {
	set, err = identity.Sealed(m.node().dataDir)
	if err != nil {
		return false, false, err
	}
	s, err := loadSettings(m.node().dataDir)
	if err != nil {
		return false, false, err
	}
	return set, s.PassphraseOffered != nil && *s.PassphraseOffered, nil
}

// ChangePassphrase re-writes the keystore sealed with newPass (empty: in
// clear) after opening it with old (empty when none is set). A wrong old
// passphrase is parley.ErrWrongPassphrase and changes nothing. The keystore
// is replaced atomically: a crash leaves the old one or the new one. The
// running node keeps its keys; the next start needs the new passphrase.
func (m *Messenger) ChangePassphrase(ctx context.Context, old, newPass []byte) error {
	n := m.node()
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	if n.ctx.Err() != nil {
		return errors.New("node: closed")
	}
	if err := changePassphrase(n.dataDir, old, newPass, n.log); err != nil {
		return err
	}
	n.passphrase = bytes.Clone(newPass) // what the node seals the keystore with from now on (linking)
	return nil
}

// SkipPassphraseOffer records that the user declined the GUI's offer to set
// a passphrase, so that it is not made again.
func (m *Messenger) SkipPassphraseOffer(ctx context.Context) error {
	m.node().settingsMu.Lock()
	defer m.node().settingsMu.Unlock()
	return markPassphraseOffered(m.node().dataDir)
}

// ChangePassphrase is Messenger.ChangePassphrase for a data dir no node
// runs on: parley.ErrDataDirInUse when one does (then ask it, through its
// API). It holds the data dir's lock while it writes, so no node starts on
// a keystore half changed.
func ChangePassphrase(dataDir string, old, newPass []byte, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if _, err := identity.Sealed(dataDir); err != nil {
		return fmt.Errorf("no identity in %s yet (start parley once first): %w", dataDir, err)
	}
	l, err := lockDir(dataDir)
	if err != nil {
		return err
	}
	defer l.release()
	return changePassphrase(dataDir, old, newPass, log)
}

// changePassphrase runs with the data dir locked, or by the node that
// holds the lock under settingsMu.
func changePassphrase(dataDir string, old, newPass []byte, log *slog.Logger) error {
	if len(newPass) > maxPassphraseBytes {
		return fmt.Errorf("%w: passphrase longer than %d bytes", parley.ErrMalformed, maxPassphraseBytes)
	}
	err := identity.ChangePassphrase(dataDir,
		identity.KeystoreOptions{Passphrase: old, Logger: log},
		identity.KeystoreOptions{Passphrase: newPass, Logger: log})
	switch {
	case errors.Is(err, parley.ErrWrongPassphrase) && len(old) == 0:
		return fmt.Errorf("%w: a passphrase is set; give the current one", parley.ErrWrongPassphrase)
	case errors.Is(err, parley.ErrWrongPassphrase):
		// The path and age's details are no help to someone who mistyped.
		return parley.ErrWrongPassphrase
	case err != nil:
		return err
	}
	if len(newPass) > 0 {
		log.Info("keystore is now passphrase-protected")
	}
	return markPassphraseOffered(dataDir)
}

func markPassphraseOffered(dataDir string) error {
	s, err := loadSettings(dataDir)
	if err != nil {
		return err
	}
	if s.PassphraseOffered != nil && *s.PassphraseOffered {
		return nil
	}
	offered := true
	s.PassphraseOffered = &offered
	return saveSettings(dataDir, s)
}
