package identity

import (
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/parley-im/parley"
)

// Passphrase-sealed files: the keystore and backups are age files with one
// scrypt recipient, so that the age tool itself can open them
// (age --decrypt) and no format of ours protects keys.

// SealWithPassphrase returns a writer that encrypts what it is given to w
// under passphrase (age, scrypt with 2^workFactor iterations; 0 means
// age's default, 18, about a second). Close it to finish the file: without
// Close the file is truncated, and reading it fails.
func SealWithPassphrase(w io.Writer, passphrase []byte, workFactor int) (io.WriteCloser, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("the passphrase is empty")
	}
	wf, err := KeystoreOptions{ScryptWorkFactor: workFactor}.workFactor()
	if err != nil {
		return nil, err
	}
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(wf)
	return age.Encrypt(w, r)
}

// OpenWithPassphrase returns the plaintext of an age file sealed with
// passphrase, read from r as it is consumed. The header is checked at
// once: a wrong passphrase is parley.ErrWrongPassphrase, a file that is
// not an age file (or whose header is damaged) parley.ErrMalformed. Damage
// or truncation further on shows as an error wrapping parley.ErrMalformed
// from Read, at the latest at the end of the file: nothing read is
// trustworthy until Read has returned io.EOF. maxWorkFactor above 22 lets
// files made with a higher work factor be read.
func OpenWithPassphrase(r io.Reader, passphrase []byte, maxWorkFactor int) (io.Reader, error) {
	ident, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	ident.SetMaxWorkFactor(max(maxScryptWorkFactor, maxWorkFactor))
	plain, err := age.Decrypt(r, ident)
	if err != nil {
		if errors.Is(err, age.ErrIncorrectIdentity) {
			// age's own chain of messages adds nothing the user can act on.
			return nil, parley.ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: cannot decrypt: %w", parley.ErrMalformed, err)
	}
	return malformedReader{plain}, nil
}

// malformedReader marks errors past the header as damage: the passphrase
// was right, so a payload that does not authenticate was changed or cut.
type malformedReader struct{ r io.Reader }

func (m malformedReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", parley.ErrMalformed, err)
	}
	return n, err
}
