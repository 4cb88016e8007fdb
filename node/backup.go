package node

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/atomicfile"
	"github.com/parley-im/parley/storage"
)

// A backup is an age file sealed with a passphrase (scrypt), holding a tar
// archive whose entries come in this order:
//
//	parley-backup.json  the manifest: format, peer ID, time, schema version
//	store-key           the store's 32-byte encryption key
//	keystore            the keystore file as it is on disk (sealed or not)
//	settings.json       when the data dir has one
//	bootstrap.txt       when the data dir has one
//	db/00000000 …       the store, in badger's backup format, cut in chunks
//
// The store is cut into entries of at most backupChunk bytes because a tar
// header gives its entry's size up front and the store is streamed, never
// held whole. Restoring needs the store key to re-encrypt the store; it
// travels beside the keystore so that the keystore can be restored byte
// for byte, keeping the passphrase it had. See docs/design-notes.md.

// backupFormat is the archive's version: Restore refuses any other.
const backupFormat = 1

const (
	backupManifestName = "parley-backup.json"
	backupStoreKeyName = "store-key"
	backupDBPrefix     = "db/"
	// backupChunk bounds a store entry, and so what a backup buffers.
	backupChunk = 4 << 20
	// backupSmallMax bounds every entry but the store's, which Restore
	// reads into memory: the keystore and settings are a few KB.
	backupSmallMax = 1 << 20
)

// backupFiles are the data dir's files a backup carries besides the store,
// in archive order; the keystore is required, the others optional.
var backupFiles = []string{identity.KeystoreFile, settingsFile, BootstrapFile}

// BackupManifest is the archive's first entry, in clear inside the
// encryption.
type BackupManifest struct {
	Format        int       `json:"format"`
	PeerID        string    `json:"peer_id"`
	Created       time.Time `json:"created"`
	SchemaVersion int       `json:"schema_version"`
}

// Backup writes an encrypted backup of this node to w: its identity (the
// keystore as it is on disk), settings and the whole store (contacts,
// conversations, groups, history, file records), sealed with passphrase.
// The node keeps running; the store's part is a consistent snapshot taken
// when it begins. Received files' contents are not included. The backup is
// streamed: memory stays bounded whatever the store's size. An empty
// passphrase is refused (parley.ErrMalformed). A failure mid-way leaves w
// with a truncated archive that Restore refuses.
func (m *Messenger) Backup(ctx context.Context, w io.Writer, passphrase []byte) error {
	n := m.node()
	switch {
	case len(passphrase) == 0:
		return fmt.Errorf("%w: the backup's passphrase is empty", parley.ErrMalformed)
	case len(passphrase) > maxPassphraseBytes:
		return fmt.Errorf("%w: passphrase longer than %d bytes", parley.ErrMalformed, maxPassphraseBytes)
	}
	files, err := n.backupFiles()
	if err != nil {
		return err
	}
	sealed, err := identity.SealWithPassphrase(w, passphrase, n.scryptWorkFactor)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tw := tar.NewWriter(sealed)
	manifest, err := json.Marshal(BackupManifest{
		Format: backupFormat, PeerID: n.id.PeerID.String(), Created: time.Now().UTC().Truncate(time.Second),
		SchemaVersion: storage.SchemaVersion,
	})
	if err != nil {
		return err
	}
	if err := writeTarEntry(tw, backupManifestName, manifest); err != nil {
		return err
	}
	if err := writeTarEntry(tw, backupStoreKeyName, n.id.StoreKey); err != nil {
		return err
	}
	for _, name := range backupFiles {
		if b, ok := files[name]; ok {
			if err := writeTarEntry(tw, name, b); err != nil {
				return err
			}
		}
	}
	cw := &chunkWriter{tw: tw, buf: make([]byte, 0, backupChunk)}
	if err := n.store.Backup(ctx, cw); err != nil {
		return err
	}
	if err := cw.flush(); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := sealed.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// backupFiles reads the data dir's files for a backup, under settingsMu so
// that no passphrase change or setting is half written meanwhile.
func (n *Node) backupFiles() (map[string][]byte, error) {
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	files := make(map[string][]byte)
	for _, name := range backupFiles {
		b, err := os.ReadFile(filepath.Join(n.dataDir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist) && name != identity.KeystoreFile:
			continue
		case err != nil:
			return nil, fmt.Errorf("backup: %w", err)
		case len(b) > backupSmallMax:
			return nil, fmt.Errorf("backup: %s is larger than %d bytes", name, backupSmallMax)
		}
		files[name] = b
	}
	return files, nil
}

func writeTarEntry(tw *tar.Writer, name string, b []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// chunkWriter cuts the store's stream into tar entries of backupChunk
// bytes (the last one shorter).
type chunkWriter struct {
	tw  *tar.Writer
	buf []byte
	seq int
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if err := writeTarEntry(c.tw, fmt.Sprintf("%s%08d", backupDBPrefix, c.seq), c.buf); err != nil {
		return err
	}
	c.seq++
	c.buf = c.buf[:0]
	return nil
}

// RestoreConfig says what to restore where.
type RestoreConfig struct {
	// DataDir receives the backup. It may exist, but must hold no identity
	// and no store (ErrWouldOverwrite). Required.
	DataDir string
	// Archive is the backup, as Messenger.Backup wrote it. Required.
	Archive io.Reader
	// Passphrase opens the backup (parley.ErrWrongPassphrase otherwise).
	Passphrase []byte
	// ScryptWorkFactor lets a backup made with a work factor above 22 be
	// read; 0 accepts up to 22 (age's default ceiling).
	ScryptWorkFactor int
	// Logger receives badger's messages; nil means slog.Default().
	Logger *slog.Logger
}

// ErrWouldOverwrite: Restore's data dir already holds an identity or a
// store.
var ErrWouldOverwrite = errors.New("would overwrite")

// Restore writes a backup into a data dir that no node runs on, so that a
// node started there is the person who made the backup: same keys,
// contacts, conversations, groups, history and settings. The keystore is
// written as it was backed up: if it had a passphrase, the node needs that
// same one to start (which may differ from the backup's).
//
// A wrong passphrase writes nothing. A damaged or truncated archive is
// parley.ErrMalformed, and whatever was written is removed again (the
// data dir too, when Restore created it). The keystore is written last, so
// a restore cut short by a crash leaves no identity behind.
func Restore(ctx context.Context, cfg RestoreConfig) (BackupManifest, error) {
	var none BackupManifest
	if cfg.DataDir == "" || cfg.Archive == nil {
		return none, errors.New("node: RestoreConfig.DataDir and Archive are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := CheckRestoreTarget(cfg.DataDir); err != nil {
		return none, err
	}
	plain, err := identity.OpenWithPassphrase(ctxReader{ctx, cfg.Archive}, cfg.Passphrase, cfg.ScryptWorkFactor)
	if errors.Is(err, parley.ErrWrongPassphrase) {
		return none, errWrongBackupPassphrase{}
	}
	if err != nil {
		return none, damaged(err)
	}
	tr := tar.NewReader(plain)
	manifest, err := readManifest(tr)
	if err != nil {
		return none, damaged(err)
	}

	_, statErr := os.Stat(cfg.DataDir)
	createdDir := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return none, fmt.Errorf("create data dir: %w", err)
	}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		if createdDir {
			os.RemoveAll(cfg.DataDir)
		}
		return none, err
	}
	r := &restore{cfg: cfg, tr: tr, plain: plain, manifest: manifest}
	err = r.run()
	if err != nil {
		r.undo()
	}
	lock.release()
	if err != nil {
		if createdDir {
			os.RemoveAll(cfg.DataDir)
		} else {
			os.Remove(filepath.Join(cfg.DataDir, lockFile))
		}
		if ctx.Err() != nil {
			return none, ctx.Err() // stopped (Ctrl-C), not damaged
		}
		return none, damaged(err)
	}
	return manifest, nil
}

// damaged says in words what parley.ErrMalformed means for a backup.
func damaged(err error) error {
	if errors.Is(err, parley.ErrMalformed) {
		return fmt.Errorf("the backup is damaged or incomplete; nothing was restored (%w)", err)
	}
	return err
}

// errWrongBackupPassphrase is parley.ErrWrongPassphrase, in the words of
// a backup rather than the keystore.
type errWrongBackupPassphrase struct{}

func (errWrongBackupPassphrase) Error() string {
	return "wrong passphrase for this backup; nothing was restored"
}
func (errWrongBackupPassphrase) Is(target error) bool { return target == parley.ErrWrongPassphrase }

// CheckRestoreTarget is ErrWouldOverwrite when dir holds an identity or a
// store, which Restore refuses: a command can say so before it asks for
// the passphrase.
func CheckRestoreTarget(dir string) error {
	for _, name := range []string{identity.KeystoreFile, "db"} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if err == nil {
			return fmt.Errorf("%w: %s already holds a Parley identity or store; restore into a new folder (--data DIR)", ErrWouldOverwrite, dir)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func readManifest(tr *tar.Reader) (BackupManifest, error) {
	var m BackupManifest
	hdr, err := tr.Next()
	if err != nil {
		return m, malformedBackup("no manifest: %v", err)
	}
	if hdr.Name != backupManifestName {
		return m, malformedBackup("first entry is %q, want %s: not a Parley backup", hdr.Name, backupManifestName)
	}
	b, err := readSmallEntry(tr, hdr)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, malformedBackup("manifest: %v", err)
	}
	switch {
	case m.Format != backupFormat:
		return m, malformedBackup("format %d; this Parley reads format %d (a newer Parley may read it)", m.Format, backupFormat)
	case m.SchemaVersion > storage.SchemaVersion:
		return m, fmt.Errorf("backup: made by a newer Parley (store schema %d, this one reads up to %d): update Parley first", m.SchemaVersion, storage.SchemaVersion)
	case m.PeerID == "":
		return m, malformedBackup("manifest names no peer ID")
	}
	return m, nil
}

func readSmallEntry(tr *tar.Reader, hdr *tar.Header) ([]byte, error) {
	if hdr.Size > backupSmallMax {
		return nil, malformedBackup("%s is %d bytes, more than %d", hdr.Name, hdr.Size, backupSmallMax)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("backup: %s: %w", hdr.Name, err)
	}
	return b, nil
}

func malformedBackup(format string, args ...any) error {
	return fmt.Errorf("%w: backup: %s", parley.ErrMalformed, fmt.Sprintf(format, args...))
}

// restore is one Restore under way, with the data dir locked.
type restore struct {
	cfg      RestoreConfig
	tr       *tar.Reader
	plain    io.Reader
	manifest BackupManifest
	written  []string // paths to remove should the restore fail
}

// restoringDB is where the store is loaded before it is renamed to db, so
// that a store cut short is never taken for a whole one.
const restoringDB = "db.restoring"

func (r *restore) run() error {
	dir := r.cfg.DataDir
	files := make(map[string][]byte)
	var storeKey []byte
	var first *tar.Header
	for first == nil {
		hdr, err := r.tr.Next()
		if err != nil {
			return malformedBackup("the archive ends before the store: %v", err)
		}
		switch {
		case strings.HasPrefix(hdr.Name, backupDBPrefix):
			first = hdr
			continue
		case hdr.Name == backupStoreKeyName:
			if storeKey, err = readSmallEntry(r.tr, hdr); err != nil {
				return err
			}
		case isBackupFile(hdr.Name):
			if files[hdr.Name], err = readSmallEntry(r.tr, hdr); err != nil {
				return err
			}
		default:
			return malformedBackup("unexpected entry %q", hdr.Name)
		}
	}
	if err := r.checkKeys(files[identity.KeystoreFile], storeKey); err != nil {
		return err
	}

	staging := filepath.Join(dir, restoringDB)
	// A restore killed before it finished leaves this behind; the lock
	// says no other restore is using it.
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	r.written = append(r.written, staging)
	chunks := &chunkReader{tr: r.tr}
	if err := storage.Load(storage.Options{Dir: staging, EncryptionKey: storeKey, Logger: r.cfg.Logger}, chunks); err != nil {
		if chunks.err != nil {
			return chunks.err
		}
		return fmt.Errorf("backup: %w", err)
	}
	if chunks.err != nil {
		return chunks.err
	}
	if chunks.next != nil {
		return malformedBackup("unexpected entry %q after the store", chunks.next.Name)
	}
	// age authenticates the end of the file only when it is reached: a
	// file cut at a chunk boundary shows here.
	if _, err := io.Copy(io.Discard, r.plain); err != nil {
		return fmt.Errorf("backup: %w", err)
	}

	final := filepath.Join(dir, "db")
	if err := os.Rename(staging, final); err != nil {
		return err
	}
	r.written = append(r.written, final)
	for _, name := range backupFiles[1:] {
		if b, ok := files[name]; ok {
			path := filepath.Join(dir, name)
			r.written = append(r.written, path)
			if err := atomicfile.Write(path, b); err != nil {
				return err
			}
		}
	}
	path := filepath.Join(dir, identity.KeystoreFile)
	r.written = append(r.written, path)
	return atomicfile.Write(path, files[identity.KeystoreFile])
}

// checkKeys checks the keystore and store key before anything is written:
// both present, and, when the keystore can be opened (it is not sealed, or
// sealed with the backup's passphrase), that it is the manifest's identity
// and holds the same store key.
func (r *restore) checkKeys(keystore, storeKey []byte) error {
	switch {
	case keystore == nil:
		return malformedBackup("no keystore")
	case len(storeKey) != identity.StoreKeySize:
		return malformedBackup("store key is %d bytes, want %d", len(storeKey), identity.StoreKeySize)
	}
	id, err := identity.ParseKeystore(keystore, identity.KeystoreOptions{Passphrase: r.cfg.Passphrase, Logger: r.cfg.Logger})
	switch {
	case errors.Is(err, parley.ErrWrongPassphrase):
		return nil // sealed with another passphrase: the node checks it at start
	case err != nil:
		return fmt.Errorf("backup: %w", err)
	case id.PeerID.String() != r.manifest.PeerID:
		return malformedBackup("the keystore is %s's, the manifest says %s", id.PeerID, r.manifest.PeerID)
	case !bytes.Equal(id.StoreKey, storeKey):
		return malformedBackup("the store key does not match the keystore's")
	}
	return nil
}

// undo removes what a failed restore wrote, newest first.
func (r *restore) undo() {
	for i := len(r.written) - 1; i >= 0; i-- {
		if err := os.RemoveAll(r.written[i]); err != nil {
			r.cfg.Logger.Warn("cannot remove what a failed restore wrote", "path", r.written[i], "err", err)
		}
	}
}

func isBackupFile(name string) bool {
	for _, f := range backupFiles {
		if name == f {
			return true
		}
	}
	return false
}

// chunkReader reads the store's entries (db/…) one after the other as one
// stream. It ends at the first other entry (kept in next) or at the end of
// the archive; err keeps a read error, so that a damaged archive is told
// apart from badger's complaints about what it read.
type chunkReader struct {
	tr      *tar.Reader
	started bool
	next    *tar.Header
	done    bool
	err     error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for {
		if c.done {
			return 0, io.EOF
		}
		if c.started {
			n, err := c.tr.Read(p)
			if err != io.EOF {
				if err != nil {
					c.err = fmt.Errorf("backup: %w", err)
					return n, c.err
				}
				return n, nil
			}
			if n > 0 {
				return n, nil
			}
			hdr, err := c.tr.Next()
			switch {
			case err == io.EOF:
				c.done = true
				continue
			case err != nil:
				c.err = fmt.Errorf("backup: %w", err)
				return 0, c.err
			case !strings.HasPrefix(hdr.Name, backupDBPrefix):
				c.next, c.done = hdr, true
				continue
			}
		}
		c.started = true
	}
}

// ctxReader stops reading once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
