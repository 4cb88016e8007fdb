package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/atomicfile"
	"github.com/parley-im/parley/storage"
)

// A node linked as a new device (linking.go) restarts in place: it stops
// every service, and a new node starts on the same data dir, which loads
// the snapshot of the existing device's store and reads the adopted
// person from the keystore. The Messenger the API holds and the event hub
// pass to the new node, so the API, the GUI and `parley link` go on
// without noticing; only calls made during the second or so of the
// restart fail (the old node is closed). Restarting is simpler and safer
// than swapping the store under running services, each of which loads
// what it needs from the store when it starts.

// linkSnapshotFile is where a new device keeps the snapshot it was sent,
// in the store's backup format, until its store has been made from it.
const linkSnapshotFile = "link-snapshot"

// restartTimeout bounds starting the new node.
const restartTimeout = time.Minute

// restart replaces the running node by a new one on its data dir. It does
// nothing once Close was called.
func (m *Messenger) restart() error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closed {
		return errors.New("node: closed")
	}
	old := m.node()
	cfg := old.cfg
	old.settingsMu.Lock()
	cfg.Passphrase = old.passphrase
	old.settingsMu.Unlock()
	cfg.Name = "" // the name stored (the person's, from the snapshot)
	if err := old.close(false); err != nil {
		old.log.Warn("restart: closing the node", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	if _, err := newNode(ctx, cfg, m, old.hub); err != nil {
		// Nothing runs now: end the subscriptions, so the GUI and the
		// CLI see it, and leave Close nothing to do.
		old.log.Error("restart after linking failed: start Parley again", "err", err)
		old.hub.close()
		m.closed = true
		return err
	}
	return nil
}

// saveLinkSnapshot writes the snapshot a new device is sent to the data
// dir, durably, before the keystore takes the person: a crash between the
// two leaves a snapshot that loadLinkSnapshot removes.
func saveLinkSnapshot(dataDir string, snapshot io.Reader) error {
	return atomicfile.WriteStream(filepath.Join(dataDir, linkSnapshotFile), func(w io.Writer) error {
		_, err := io.Copy(w, snapshot)
		return err
	})
}

// loadLinkSnapshot makes the store from the snapshot linking left in the
// data dir, when there is one and the keystore took the person, and
// returns the existing device's peer ID (the list's author), which
// settleLinkSnapshot needs. The store the fresh node had is replaced: it
// held nothing (linking refuses a node that holds contacts or messages).
// A snapshot that does not load is set aside, and the node starts with an
// empty store rather than not at all.
func loadLinkSnapshot(dataDir string, id *identity.Identity, log *slog.Logger) (existing string, err error) {
	path := filepath.Join(dataDir, linkSnapshotFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if id.DeviceList == nil {
		// The keystore never took the person (a crash in between): the
		// link did not happen.
		log.Warn("removing the snapshot of a link that did not complete")
		removeLinkSnapshot(dataDir, log)
		return "", nil
	}
	l, err := id.Devices()
	if err != nil {
		return "", err
	}
	db := filepath.Join(dataDir, "db")
	if err := os.RemoveAll(db); err != nil {
		return "", fmt.Errorf("replacing the store with the linked device's: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("linked device's snapshot: %w", err)
	}
	defer f.Close()
	if err := storage.Load(storage.Options{Dir: db, EncryptionKey: id.StoreKey, Logger: log}, f); err != nil {
		log.Error("the snapshot of the linked device's store does not load; starting with an empty store", "err", err)
		if rmErr := os.RemoveAll(db); rmErr != nil {
			return "", errors.Join(err, rmErr)
		}
		if err := os.Rename(path, path+".failed"); err != nil {
			return "", err
		}
		return "", nil
	}
	log.Info("made the store from the linked device's snapshot", "from", l.Author)
	return l.Author.String(), nil
}

// settleLinkSnapshot makes the store just loaded from the existing
// device's snapshot this device's own: the existing device's profile
// record gives its name (unless name, the one configured, is set) and
// goes, and its outbox goes (its envelopes are signed by it: only it can
// deliver them). It returns the name to keep. It runs again if a crash
// came before the snapshot was removed.
func (n *Node) settleLinkSnapshot(existing, name string) (string, error) {
	if c, err := n.store.Contact(existing); err == nil && name == "" {
		name = c.Name
	} else if err != nil && !errors.Is(err, parley.ErrNotFound) {
		return "", err
	}
	if _, err := n.store.DeleteContact(existing); err != nil {
		return "", err
	}
	peers, err := n.store.OutboxPeers()
	if err != nil {
		return "", err
	}
	for _, p := range peers {
		if _, err := n.store.DropOutbox(p); err != nil {
			return "", err
		}
	}
	return name, nil
}

func removeLinkSnapshot(dataDir string, log *slog.Logger) {
	if err := os.Remove(filepath.Join(dataDir, linkSnapshotFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("cannot remove the linked device's snapshot", "err", err)
	}
}
