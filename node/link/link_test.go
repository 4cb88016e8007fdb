package link

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/identity"
)

func newHost(t *testing.T, key crypto.PrivKey) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func mustGenerate(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// devices is a link under test: the existing device (a person of one
// device so far) and the new one, each on its own host, connected.
type devices struct {
	existing, fresh       *identity.Identity
	existingH, freshH     host.Host
	pending               *identity.PendingLink
	now                   time.Time
	mu                    sync.Mutex
	dialedSafety, adopted string // guarded by mu
	failed                error  // guarded by mu
}

func newDevices(t *testing.T) *devices {
	d := &devices{existing: mustGenerate(t), fresh: mustGenerate(t), now: time.Unix(1_700_000_000, 0)}
	d.existingH, d.freshH = newHost(t, d.existing.Key), newHost(t, d.fresh.Key)
	var err error
	if d.pending, err = identity.NewPendingLink(d.fresh.Key.GetPublic(), nil, d.now); err != nil {
		t.Fatal(err)
	}
	if err := d.existingH.Connect(context.Background(), peer.AddrInfo{ID: d.freshH.ID(), Addrs: d.freshH.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return d
}

// wait serves the new device's side; adopt (nil: read the snapshot and
// keep it) stands for storing what was sent.
func (d *devices) wait(t *testing.T, fresh func() error, adopt func(Transfer, io.Reader) error) {
	t.Helper()
	w, err := Wait(WaitConfig{
		Host: d.freshH, Pending: d.pending, Now: func() time.Time { return d.now }, HPKEKey: d.fresh.HPKEPublicKey(), DeviceName: "phone",
		Fresh: fresh,
		Dialed: func(existing, person peer.ID, safety string) {
			d.mu.Lock()
			d.dialedSafety = safety
			d.mu.Unlock()
		},
		Adopt: func(ctx context.Context, existing peer.ID, tr Transfer, snap io.Reader) error {
			if adopt != nil {
				return adopt(tr, snap)
			}
			b, err := io.ReadAll(snap)
			if err != nil {
				return err
			}
			if _, err := d.fresh.WithPerson(tr.Keys, tr.DeviceList); err != nil {
				return err
			}
			d.mu.Lock()
			d.adopted = string(b)
			d.mu.Unlock()
			return nil
		},
		Failed: func(existing peer.ID, err error) {
			d.mu.Lock()
			d.failed = err
			d.mu.Unlock()
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
}

// link runs the existing device's side with secret, confirming as confirm
// says, sending snapshot.
func (d *devices) link(secret []byte, confirm bool, snapshot []byte) (NewDevice, string, error) {
	var shown string
	code := identity.LinkCode{PeerID: d.freshH.ID(), Secret: secret}
	nd, err := Link(context.Background(), LinkConfig{
		Host: d.existingH, Code: code, Person: d.existing.PeerID,
		Confirm: func(safety string, nd NewDevice) bool { shown = safety; return confirm },
		Prepare: func(nd NewDevice) (Transfer, error) {
			keys, err := d.existing.Person.Rotate()
			if err != nil {
				return Transfer{}, err
			}
			list, err := identity.SignDeviceList(keys, d.existing.Key, identity.DeviceList{Seq: 1, Devices: []identity.Device{
				{PeerID: d.existing.PeerID, HPKEKey: d.existing.HPKEPublicKey(), Name: "laptop"},
				{PeerID: nd.PeerID, HPKEKey: nd.HPKEKey, Name: nd.Name},
			}})
			return Transfer{Keys: keys, DeviceList: list, SchemaVersion: 1}, err
		},
		Snapshot: func(ctx context.Context, w io.Writer) error { _, err := w.Write(snapshot); return err },
	})
	return nd, shown, err
}

// TestLink: the secret taken, both sides' safety codes equal, the
// transfer and a snapshot of several chunks adopted, and the code used up.
func TestLink(t *testing.T) {
	d := newDevices(t)
	d.wait(t, nil, nil)
	snapshot := bytes.Repeat([]byte("history "), MaxChunkData/4) // two chunks and a bit
	nd, shown, err := d.link(d.pending.Secret, true, snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if nd.PeerID != d.fresh.PeerID || nd.Name != "phone" || !bytes.Equal(nd.HPKEKey, d.fresh.HPKEPublicKey()) {
		t.Errorf("new device %+v", nd)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if want := identity.LinkSafetyCode(d.existing.PeerID, d.fresh.PeerID, d.pending.Secret); shown != want || d.dialedSafety != want {
		t.Errorf("safety codes: existing %q, new %q; want %q", shown, d.dialedSafety, want)
	}
	if d.adopted != string(snapshot) {
		t.Errorf("adopted a snapshot of %d bytes, want %d", len(d.adopted), len(snapshot))
	}
	if d.failed != nil {
		t.Errorf("Failed(%v) after a link", d.failed)
	}
	if _, _, err := d.link(d.pending.Secret, true, nil); !errors.Is(err, identity.ErrLinkCodeUsed) {
		t.Errorf("second link = %v, want ErrLinkCodeUsed", err)
	}
}

// TestLinkRefusals: a wrong secret is refused and leaves the code good; an
// expired code, a node that is not fresh, a declined link and a transfer
// the new device refuses each end the link with their own error.
func TestLinkRefusals(t *testing.T) {
	t.Run("wrong secret, then the right one", func(t *testing.T) {
		d := newDevices(t)
		d.wait(t, nil, nil)
		wrong := bytes.Clone(d.pending.Secret)
		wrong[0] ^= 1
		if _, _, err := d.link(wrong, true, nil); !errors.Is(err, identity.ErrWrongLinkSecret) {
			t.Fatalf("wrong secret: %v", err)
		}
		if _, _, err := d.link(d.pending.Secret, true, []byte("x")); err != nil {
			t.Fatalf("the right secret after a wrong one: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		d := newDevices(t)
		d.now = d.now.Add(identity.LinkCodeLifetime)
		d.wait(t, nil, nil)
		if _, _, err := d.link(d.pending.Secret, true, nil); !errors.Is(err, identity.ErrLinkCodeExpired) {
			t.Fatalf("expired code: %v", err)
		}
	})
	t.Run("not fresh", func(t *testing.T) {
		d := newDevices(t)
		d.wait(t, func() error { return errors.New("has contacts") }, nil)
		if _, _, err := d.link(d.pending.Secret, true, nil); !errors.Is(err, ErrNotFresh) {
			t.Fatalf("not fresh: %v", err)
		}
	})
	t.Run("declined", func(t *testing.T) {
		d := newDevices(t)
		d.wait(t, nil, nil)
		if _, _, err := d.link(d.pending.Secret, false, nil); !errors.Is(err, ErrDeclined) {
			t.Fatalf("declined: %v", err)
		}
		waitFor(t, "the new device to hear of it", func() bool {
			d.mu.Lock()
			defer d.mu.Unlock()
			return errors.Is(d.failed, ErrDeclined)
		})
	})
	t.Run("refused transfer", func(t *testing.T) {
		d := newDevices(t)
		d.wait(t, nil, func(Transfer, io.Reader) error { return errors.New("disk\nfull") })
		_, _, err := d.link(d.pending.Secret, true, []byte("x"))
		var refused *RefusedError
		if !errors.As(err, &refused) || refused.Reason != "disk full" {
			t.Fatalf("refused transfer: %v", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
