package identity

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

// testWorkFactor keeps scrypt fast in tests; production uses age's 18.
const testWorkFactor = 10

func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

func plainOpts(buf *bytes.Buffer) KeystoreOptions { return KeystoreOptions{Logger: logTo(buf)} }

func sealedOpts(buf *bytes.Buffer, pass string) KeystoreOptions {
	return KeystoreOptions{Passphrase: []byte(pass), Logger: logTo(buf), ScryptWorkFactor: testWorkFactor}
}

func sameIdentity(t *testing.T, a, b *Identity) {
	t.Helper()
	if a.PeerID != b.PeerID {
		t.Errorf("peer ID %s, want %s", b.PeerID, a.PeerID)
	}
	if !a.Key.Equals(b.Key) {
		t.Error("identity keys differ")
	}
	if !bytes.Equal(a.HPKEPublicKey(), b.HPKEPublicKey()) {
		t.Error("HPKE keys differ")
	}
	if !bytes.Equal(a.StoreKey, b.StoreKey) {
		t.Error("store keys differ")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// onlyKeystore checks that no temporary file was left behind.
func onlyKeystore(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != KeystoreFile {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data dir holds %v, want only %s", names, KeystoreFile)
	}
}

func TestKeystoreCreateThenLoad(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	id, created, err := LoadOrCreate(dir, plainOpts(&logs))
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = created %v, %v; want a new identity", created, err)
	}
	if len(id.StoreKey) != StoreKeySize {
		t.Errorf("store key is %d bytes", len(id.StoreKey))
	}
	path := filepath.Join(dir, KeystoreFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keystore mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "not passphrase-protected") {
		t.Errorf("no warning about the unprotected keystore in %q", logs.String())
	}
	onlyKeystore(t, dir)

	logs.Reset()
	again, created, err := LoadOrCreate(dir, plainOpts(&logs))
	if err != nil || created {
		t.Fatalf("second LoadOrCreate = created %v, %v; want the stored identity", created, err)
	}
	sameIdentity(t, id, again)
	if !strings.Contains(logs.String(), "PARLEY_PASSPHRASE") {
		t.Errorf("no warning on load in %q", logs.String())
	}

	// The loaded key signs, and the signature checks against the peer ID.
	card, err := again.SignCard(Card{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCard(card); err != nil {
		t.Errorf("card signed by the loaded identity: %v", err)
	}
}

func TestKeystoreCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, created, err := LoadOrCreate(dir, plainOpts(new(bytes.Buffer))); err != nil || !created {
		t.Fatalf("LoadOrCreate in a missing dir = %v, %v", created, err)
	}
}

func TestKeystorePassphrase(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	id, created, err := LoadOrCreate(dir, sealedOpts(&logs, "correct horse"))
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, %v", created, err)
	}
	if strings.Contains(logs.String(), "not passphrase-protected") {
		t.Errorf("warned about a protected keystore: %q", logs.String())
	}
	path := filepath.Join(dir, KeystoreFile)
	data := readFile(t, path)
	if !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) {
		t.Errorf("keystore is not an age file: %q", data[:min(len(data), 40)])
	}
	if bytes.Contains(data, id.StoreKey) {
		t.Error("sealed keystore contains the raw store key")
	}
	if seed, _ := id.HPKE.Bytes(); bytes.Contains(data, seed) {
		t.Error("sealed keystore contains the raw HPKE key")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("keystore mode %v, want 0600", fi.Mode().Perm())
	}
	onlyKeystore(t, dir)

	again, created, err := LoadOrCreate(dir, sealedOpts(&logs, "correct horse"))
	if err != nil || created {
		t.Fatalf("reload = %v, %v", created, err)
	}
	sameIdentity(t, id, again)
}

func TestKeystoreWrongPassphrase(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	if _, _, err := LoadOrCreate(dir, sealedOpts(&logs, "right")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeystoreFile)
	before := readFile(t, path)

	_, _, err := LoadOrCreate(dir, sealedOpts(&logs, "wrong"))
	if !errors.Is(err, parley.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("a failed load changed the keystore")
	}
	onlyKeystore(t, dir)
}

func TestKeystoreSealedWithoutPassphrase(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	if _, _, err := LoadOrCreate(dir, sealedOpts(&logs, "secret")); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, filepath.Join(dir, KeystoreFile))
	_, _, err := LoadOrCreate(dir, plainOpts(&logs))
	if !errors.Is(err, parley.ErrWrongPassphrase) {
		t.Fatalf("no passphrase: %v, want ErrWrongPassphrase", err)
	}
	for _, want := range []string{"passphrase-protected", "PARLEY_PASSPHRASE", "--passphrase-file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, KeystoreFile)), before) {
		t.Error("a failed load changed the keystore")
	}
}

func TestKeystoreUpgradeToPassphrase(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	id, _, err := LoadOrCreate(dir, plainOpts(&logs))
	if err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	upgraded, created, err := LoadOrCreate(dir, sealedOpts(&logs, "new secret"))
	if err != nil || created {
		t.Fatalf("upgrade = %v, %v", created, err)
	}
	sameIdentity(t, id, upgraded)
	if !strings.Contains(logs.String(), "now passphrase-protected") {
		t.Errorf("upgrade not logged: %q", logs.String())
	}
	data := readFile(t, filepath.Join(dir, KeystoreFile))
	if !bytes.HasPrefix(data, ageHeader) || bytes.Contains(data, id.StoreKey) {
		t.Error("keystore was not re-written sealed")
	}
	if _, _, err := LoadOrCreate(dir, plainOpts(&logs)); !errors.Is(err, parley.ErrWrongPassphrase) {
		t.Errorf("load without passphrase after upgrade: %v", err)
	}
	onlyKeystore(t, dir)
}

func TestChangePassphrase(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	id, _, err := LoadOrCreate(dir, sealedOpts(&logs, "one"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeystoreFile)

	before := readFile(t, path)
	if err := ChangePassphrase(dir, sealedOpts(&logs, "nope"), sealedOpts(&logs, "two")); !errors.Is(err, parley.ErrWrongPassphrase) {
		t.Fatalf("change with a wrong old passphrase: %v", err)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("a refused change altered the keystore")
	}

	if err := ChangePassphrase(dir, sealedOpts(&logs, "one"), sealedOpts(&logs, "two")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, sealedOpts(&logs, "one")); !errors.Is(err, parley.ErrWrongPassphrase) {
		t.Errorf("old passphrase still opens the keystore: %v", err)
	}
	again, _, err := LoadOrCreate(dir, sealedOpts(&logs, "two"))
	if err != nil {
		t.Fatal(err)
	}
	sameIdentity(t, id, again)

	// Removing the passphrase leaves a plain file, and says so.
	logs.Reset()
	if err := ChangePassphrase(dir, sealedOpts(&logs, "two"), plainOpts(&logs)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "not passphrase-protected") {
		t.Errorf("no warning after removing the passphrase: %q", logs.String())
	}
	plain, _, err := LoadOrCreate(dir, plainOpts(&logs))
	if err != nil {
		t.Fatal(err)
	}
	sameIdentity(t, id, plain)
	onlyKeystore(t, dir)

	if err := ChangePassphrase(t.TempDir(), plainOpts(&logs), sealedOpts(&logs, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("change in an empty dir: %v, want ErrNotExist", err)
	}
}

func TestKeystoreMalformed(t *testing.T) {
	id := fixedIdentity(t, 1)
	good, err := encodeKeystore(id)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := encrypt(good, sealedOpts(new(bytes.Buffer), "pw"))
	if err != nil {
		t.Fatal(err)
	}
	ks := decodeKS(t, good)
	withVersion := func(v uint32) []byte {
		return mustMarshal(t, &pb.Keystore{Version: v, IdentityKey: ks.IdentityKey, HpkeKey: ks.HpkeKey, StoreKey: id.StoreKey})
	}
	tests := []struct {
		name string
		data []byte
		pass string
	}{
		{"empty", nil, ""},
		{"text", []byte("hello, world\n"), ""},
		{"truncated", good[:len(good)/2], ""},
		{"version 0", withVersion(0), ""},
		{"version 2", withVersion(2), ""},
		{"short store key", mustMarshal(t, &pb.Keystore{Version: 1, IdentityKey: ks.IdentityKey, HpkeKey: ks.HpkeKey, StoreKey: []byte{1}}), ""},
		{"bad HPKE key", mustMarshal(t, &pb.Keystore{Version: 1, IdentityKey: ks.IdentityKey, HpkeKey: []byte{1, 2}, StoreKey: id.StoreKey}), ""},
		{"bad identity key", mustMarshal(t, &pb.Keystore{Version: 1, IdentityKey: []byte{8, 1}, HpkeKey: ks.HpkeKey, StoreKey: id.StoreKey}), ""},
		{"age header only", []byte("age-encryption.org/v1\n"), "pw"},
		{"sealed, truncated", sealed[:len(sealed)-5], "pw"},
		{"sealed, header cut", sealed[:len(sealed)/3], "pw"},
		{"huge", bytes.Repeat([]byte{0}, maxKeystoreSize+1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeystoreFile)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			opts := plainOpts(new(bytes.Buffer))
			if tt.pass != "" {
				opts = sealedOpts(new(bytes.Buffer), tt.pass)
			}
			_, _, err := LoadOrCreate(dir, opts)
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("LoadOrCreate = %v, want ErrMalformed", err)
			}
			if !bytes.Equal(readFile(t, path), tt.data) {
				t.Error("a failed load changed the keystore")
			}
		})
	}
}

// decodeKS decodes a plaintext keystore, to build damaged ones from it.
func decodeKS(t *testing.T, b []byte) *pb.Keystore {
	t.Helper()
	var m pb.Keystore
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestKeystoreMismatchedIdentityKey(t *testing.T) {
	// A libp2p Ed25519 key stores seed || public key; a damaged public half
	// must not load as an identity whose signatures all fail.
	id := fixedIdentity(t, 2)
	raw, err := id.Key.Raw()
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	bad := append([]byte{8, 1, 0x12, byte(len(raw))}, raw...) // libp2p PrivateKey{Type: Ed25519, Data: raw}
	dir := t.TempDir()
	good, _ := encodeKeystore(id)
	ks := decodeKS(t, good)
	data := mustMarshal(t, &pb.Keystore{Version: 1, IdentityKey: bad, HpkeKey: ks.HpkeKey, StoreKey: id.StoreKey})
	if err := os.WriteFile(filepath.Join(dir, KeystoreFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, plainOpts(new(bytes.Buffer))); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("LoadOrCreate = %v, want ErrMalformed", err)
	}
}

func TestKeystoreWorkFactorRange(t *testing.T) {
	for _, wf := range []int{-1, 23, 31} {
		dir := t.TempDir()
		opts := KeystoreOptions{Passphrase: []byte("x"), ScryptWorkFactor: wf, Logger: logTo(new(bytes.Buffer))}
		if _, _, err := LoadOrCreate(dir, opts); err == nil {
			t.Errorf("work factor %d accepted", wf)
		}
		if _, err := os.Stat(filepath.Join(dir, KeystoreFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("work factor %d: a keystore was written anyway", wf)
		}
	}
}
