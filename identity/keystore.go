package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
	"github.com/parley-im/parley/internal/atomicfile"
)

// KeystoreFile is the keystore's name inside the data dir.
const KeystoreFile = "keystore"

// keystoreVersion is the only plaintext format so far.
const keystoreVersion = 1

// maxKeystoreSize bounds what is read from disk: a keystore is a few hundred
// bytes, so anything much larger is not one.
const maxKeystoreSize = 64 << 10

// ageHeader starts every binary age file; a plaintext keystore (a protobuf
// whose first byte is a field tag) never does.
var ageHeader = []byte("age-encryption.org/")

// Default and ceiling of the scrypt work factor (log2 of N).
const (
	defaultScryptWorkFactor = 18 // age's default: about a second on a laptop
	maxScryptWorkFactor     = 22 // age's default ceiling when decrypting
)

const warnUnprotected = "keystore is not passphrase-protected; set PARLEY_PASSPHRASE or --passphrase-file"

// KeystoreOptions says how to open or write a keystore.
type KeystoreOptions struct {
	// Passphrase seals the keystore. Nil or empty: the file is written
	// unencrypted (mode 0600), and every load logs a warning.
	Passphrase []byte
	// Logger receives the warnings and the upgrade notice. Nil means
	// slog.Default().
	Logger *slog.Logger
	// ScryptWorkFactor is log2 of scrypt's N when writing an encrypted
	// keystore: 0 means age's default, 18 (about a second); tests use ~10.
	// Valid: 1 to 22. Reading accepts any factor up to 22 or this value.
	ScryptWorkFactor int
	// DeviceName, for LoadOrCreate, names this device in a keystore that
	// has no name yet (a new one, or one written before devices had
	// names), and is written into it; a keystore that has a name keeps
	// it. Empty: the device stays unnamed. It must pass CheckName.
	DeviceName string
}

func (o KeystoreOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func (o KeystoreOptions) workFactor() (int, error) {
	switch w := o.ScryptWorkFactor; {
	case w == 0:
		return defaultScryptWorkFactor, nil
	case w < 1 || w > maxScryptWorkFactor:
		// age panics outside 1..30; above 22 age itself would refuse to read
		// the file back with its default limit.
		return 0, fmt.Errorf("scrypt work factor %d out of range 1..%d", w, maxScryptWorkFactor)
	default:
		return w, nil
	}
}

// LoadOrCreate opens dir/keystore, or, when the file does not exist,
// generates a new identity and writes it there (created is then true). The
// caller holds the data dir's lock, so no other process races the creation.
// A keystore from before linked devices is a person of one device (see
// Identity.Person); opts.DeviceName names a device that has no name yet.
//
// Without a passphrase the file is plain (mode 0600) and a warning is logged
// on every call. With one, the file is an age file sealed with it (scrypt);
// a plain keystore opened with a passphrase is re-written sealed. A wrong
// passphrase, or none for a sealed keystore, returns an error wrapping
// parley.ErrWrongPassphrase and leaves the file as it was. A damaged file
// returns an error wrapping parley.ErrMalformed.
func LoadOrCreate(dir string, opts KeystoreOptions) (id *Identity, created bool, err error) {
	if _, err := opts.workFactor(); err != nil {
		return nil, false, err
	}
	if err := CheckName(opts.DeviceName); err != nil {
		return nil, false, fmt.Errorf("device name: %w", err)
	}
	path := filepath.Join(dir, KeystoreFile)
	id, sealed, err := load(path, opts)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		id, err = Generate()
		if err != nil {
			return nil, false, err
		}
		id.DeviceName = opts.DeviceName
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("create data dir: %w", err)
		}
		if err := write(path, id, opts); err != nil {
			return nil, false, err
		}
		if len(opts.Passphrase) == 0 {
			opts.logger().Warn(warnUnprotected, "path", path)
		}
		return id, true, nil
	case err != nil:
		return nil, false, err
	}

	named := id.DeviceName == "" && opts.DeviceName != ""
	if named {
		id.DeviceName = opts.DeviceName
	}
	switch {
	case !sealed && len(opts.Passphrase) > 0:
		// The user has just set a passphrase: stop leaving the keys in clear.
		if err := write(path, id, opts); err != nil {
			return nil, false, fmt.Errorf("encrypt keystore: %w", err)
		}
		opts.logger().Info("keystore is now passphrase-protected", "path", path)
	case named:
		// Once, on the first start that gives devices names. A failure
		// (a full disk) need not stop the node: the name holds for this
		// run, and the next start tries again.
		if err := write(path, id, opts); err != nil {
			opts.logger().Warn("cannot store this device's name in the keystore; trying again on the next start", "path", path, "err", err)
		}
	}
	if !sealed && len(opts.Passphrase) == 0 {
		opts.logger().Warn(warnUnprotected, "path", path)
	}
	removeStaleTemps(dir, opts.logger())
	return id, false, nil
}

// Sealed reports whether dir/keystore is passphrase-protected, without
// opening it. A missing keystore is an error wrapping fs.ErrNotExist.
func Sealed(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, KeystoreFile))
	if err != nil {
		return false, fmt.Errorf("open keystore: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(ageHeader))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read keystore: %w", err)
	}
	return bytes.Equal(head[:n], ageHeader), nil
}

// ChangePassphrase opens dir/keystore with from and re-writes it with to
// (whose Passphrase may be empty to remove protection, and whose
// ScryptWorkFactor applies); a wrong from passphrase leaves the file as it
// was. Only the keystore changes: the store key stays the same, so the
// message store needs no re-encryption.
func ChangePassphrase(dir string, from, to KeystoreOptions) error {
	if _, err := to.workFactor(); err != nil {
		return err
	}
	path := filepath.Join(dir, KeystoreFile)
	id, _, err := load(path, from)
	if err != nil {
		return err
	}
	if err := write(path, id, to); err != nil {
		return err
	}
	removeStaleTemps(dir, to.logger())
	if len(to.Passphrase) == 0 {
		to.logger().Warn(warnUnprotected, "path", path)
	}
	return nil
}

// load reads and decodes a keystore; sealed says whether it was an age file.
// A missing file returns an error wrapping fs.ErrNotExist.
func load(path string, opts KeystoreOptions) (id *Identity, sealed bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("open keystore: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeystoreSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("read keystore %s: %w", path, err)
	}
	if len(data) > maxKeystoreSize {
		return nil, false, fmt.Errorf("%w: keystore %s is larger than %d bytes: not a Parley keystore", parley.ErrMalformed, path, maxKeystoreSize)
	}

	sealed = bytes.HasPrefix(data, ageHeader)
	if sealed {
		if len(opts.Passphrase) == 0 {
			return nil, true, fmt.Errorf("%w: keystore %s is passphrase-protected; give the passphrase with PARLEY_PASSPHRASE or --passphrase-file", parley.ErrWrongPassphrase, path)
		}
		plain, err := decrypt(data, opts)
		if err != nil {
			return nil, true, fmt.Errorf("keystore %s: %w", path, err)
		}
		defer clear(plain)
		data = plain
	} else if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		opts.logger().Warn("unencrypted keystore is readable by other users; run chmod 600 on it", "path", path, "mode", fi.Mode().Perm())
	}

	id, err = decodeKeystore(data)
	if err != nil {
		return nil, sealed, fmt.Errorf("keystore %s: %w", path, err)
	}
	return id, sealed, nil
}

// ParseKeystore decodes the bytes of a keystore file, opening them with
// opts.Passphrase when they are sealed: a backup carries the file as it is,
// and a restore checks it before writing it. Errors as for LoadOrCreate.
func ParseKeystore(data []byte, opts KeystoreOptions) (*Identity, error) {
	if len(data) > maxKeystoreSize {
		return nil, fmt.Errorf("%w: keystore is larger than %d bytes: not a Parley keystore", parley.ErrMalformed, maxKeystoreSize)
	}
	if bytes.HasPrefix(data, ageHeader) {
		if len(opts.Passphrase) == 0 {
			return nil, fmt.Errorf("%w: keystore is passphrase-protected", parley.ErrWrongPassphrase)
		}
		plain, err := decrypt(data, opts)
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		data = plain
	}
	return decodeKeystore(data)
}

func decrypt(data []byte, opts KeystoreOptions) ([]byte, error) {
	r, err := OpenWithPassphrase(bytes.NewReader(data), opts.Passphrase, opts.ScryptWorkFactor)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, maxKeystoreSize))
}

func decodeKeystore(data []byte) (*Identity, error) {
	var ks pb.Keystore
	if err := proto.Unmarshal(data, &ks); err != nil {
		return nil, fmt.Errorf("%w: not a Parley keystore or damaged: %w", parley.ErrMalformed, err)
	}
	defer clearKeystore(&ks)
	if ks.Version != keystoreVersion {
		return nil, fmt.Errorf("%w: keystore format version %d is not supported (want %d)", parley.ErrMalformed, ks.Version, keystoreVersion)
	}
	sk, err := unmarshalEd25519(ks.IdentityKey, "identity key")
	if err != nil {
		return nil, err
	}
	hk, err := hpke.MLKEM768X25519().NewPrivateKey(ks.HpkeKey)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE key: %w", parley.ErrMalformed, err)
	}
	id, err := newIdentity(sk, hk, bytes.Clone(ks.StoreKey))
	if err != nil {
		return nil, err
	}
	if err := id.decodePerson(&ks); err != nil {
		return nil, err
	}
	return id, nil
}

// decodePerson fills in the person fields of a keystore. A keystore without
// them (every one written before linked devices) is a person of one device,
// as newIdentity made it. One whose chain of person keys does not verify,
// or whose device list is not its person's or does not list this device,
// is refused: the node would sign for a person it cannot prove.
func (id *Identity) decodePerson(ks *pb.Keystore) error {
	person := id.PeerID
	if len(ks.PersonId) > 0 {
		p, err := peerIDFromBytes(ks.PersonId)
		if err != nil {
			return fmt.Errorf("person ID: %w", err)
		}
		person = p
	}
	key := id.Key
	if len(ks.PersonKey) > 0 {
		k, err := unmarshalEd25519(ks.PersonKey, "person key")
		if err != nil {
			return err
		}
		key = k
	}
	keys, err := RestorePersonKeys(person, key, ks.Successions)
	if err != nil {
		return err
	}
	if len(ks.DeviceList) > 0 {
		if _, err := id.checkPersonList(keys, ks.DeviceList); err != nil {
			return err
		}
		id.DeviceList = bytes.Clone(ks.DeviceList)
	}
	if err := CheckName(ks.DeviceName); err != nil {
		return fmt.Errorf("device name: %w", err)
	}
	id.Person, id.DeviceName = keys, ks.DeviceName
	return nil
}

// checkPersonList checks that a signed device list may stand beside keys in
// this device's keystore: it parses, it is keys' person's, it lists this
// device, and it is signed by a key of the chain held (the last one, or an
// earlier one between a rotation and the list it signs next). Errors wrap
// parley.ErrMalformed.
func (id *Identity) checkPersonList(keys *PersonKeys, list []byte) (DeviceList, error) {
	l, err := ParseDeviceList(list)
	if err != nil {
		return DeviceList{}, fmt.Errorf("device list: %w", err)
	}
	if l.Person != keys.person {
		return DeviceList{}, fmt.Errorf("%w: the device list is %s's, not this person's (%s)", parley.ErrMalformed, l.Person, keys.person)
	}
	if !slices.ContainsFunc(l.Devices, func(d Device) bool { return d.PeerID == id.PeerID }) {
		return DeviceList{}, fmt.Errorf("%w: the device list does not list this device (%s)", parley.ErrMalformed, id.PeerID)
	}
	if len(l.Keys) > len(keys.keys) || !slices.EqualFunc(l.Keys, keys.keys[:len(l.Keys)], func(a, b ed25519.PublicKey) bool { return a.Equal(b) }) {
		return DeviceList{}, fmt.Errorf("%w: the device list is signed along another chain of person keys than the one held", parley.ErrMalformed)
	}
	return l, nil
}

// unmarshalEd25519 decodes a private key as crypto.MarshalPrivateKey wrote
// it, and refuses anything but a sound Ed25519 key; what names it in errors.
func unmarshalEd25519(b []byte, what string) (crypto.PrivKey, error) {
	sk, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", parley.ErrMalformed, what, err)
	}
	if err := checkEd25519Pair(sk, what); err != nil {
		return nil, err
	}
	return sk, nil
}

// checkEd25519Pair refuses a libp2p Ed25519 key whose stored public half
// does not match its seed: libp2p derives the peer ID from the stored half,
// so a damaged file would otherwise yield an identity whose signatures fail.
func checkEd25519Pair(sk crypto.PrivKey, what string) error {
	if sk.Type() != cryptopb.KeyType_Ed25519 {
		return fmt.Errorf("%w: %s is %s, want Ed25519", parley.ErrMalformed, what, sk.Type())
	}
	raw, err := sk.Raw()
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: %s is damaged", parley.ErrMalformed, what)
	}
	defer clear(raw)
	if !bytes.Equal(ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize]), raw) {
		return fmt.Errorf("%w: %s's public half does not match its seed", parley.ErrMalformed, what)
	}
	return nil
}

func encodeKeystore(id *Identity) ([]byte, error) {
	sk, err := crypto.MarshalPrivateKey(id.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal identity key: %w", err)
	}
	hk, err := id.HPKE.Bytes()
	if err != nil {
		return nil, fmt.Errorf("marshal HPKE key: %w", err)
	}
	ks := &pb.Keystore{Version: keystoreVersion, IdentityKey: sk, HpkeKey: hk, StoreKey: id.StoreKey,
		DeviceList: id.DeviceList, DeviceName: id.DeviceName}
	defer clear(sk) // hk is the key's own seed, not a copy: leave it
	// A person of one device writes no person fields: they would repeat
	// the identity key, and the file stays what it was before linked
	// devices.
	if p := id.Person; p != nil {
		if p.Person() != id.PeerID {
			ks.PersonId = []byte(p.Person())
		}
		if !p.Key().Equals(id.Key) {
			if ks.PersonKey, err = crypto.MarshalPrivateKey(p.Key()); err != nil {
				return nil, fmt.Errorf("marshal person key: %w", err)
			}
			defer clear(ks.PersonKey)
		}
		ks.Successions = p.Successions()
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(ks)
}

// clearKeystore wipes decoded secrets: best effort, since Go may have copied
// them, but it keeps them out of later heap dumps in the common case.
func clearKeystore(ks *pb.Keystore) {
	clear(ks.IdentityKey)
	clear(ks.HpkeKey)
	clear(ks.StoreKey)
	clear(ks.PersonKey)
}

// write replaces the keystore atomically: a crash leaves either the old file
// or the new one, never a torn one that would lose the identity.
func write(path string, id *Identity, opts KeystoreOptions) error {
	plain, err := encodeKeystore(id)
	if err != nil {
		return err
	}
	defer clear(plain)
	data := plain
	if len(opts.Passphrase) > 0 {
		if data, err = encrypt(plain, opts); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("write keystore: %w", err)
	}
	return nil
}

// staleTemps matches the temporary files atomicfile.Write makes for the
// keystore.
const staleTemps = "." + KeystoreFile + "-*.tmp"

// removeStaleTemps deletes temporary keystores that a crash during a write
// left behind. One may hold the keys in clear (a crash while a passphrase
// was being removed), which would defeat a passphrase set later. The
// caller holds the data dir's lock, so no write is under way.
func removeStaleTemps(dir string, log *slog.Logger) {
	stale, err := filepath.Glob(filepath.Join(dir, staleTemps))
	if err != nil {
		return // only a malformed pattern fails, and ours is constant
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot remove a temporary keystore left by a crash", "path", p, "err", err)
		}
	}
}

func encrypt(plain []byte, opts KeystoreOptions) ([]byte, error) {
	var buf bytes.Buffer
	w, err := SealWithPassphrase(&buf, opts.Passphrase, opts.ScryptWorkFactor)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("encrypt keystore: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt keystore: %w", err)
	}
	return buf.Bytes(), nil
}
