package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/link"
	"github.com/parley-im/parley/storage"
)

// Linking (PROTOCOL.md §11.6, node/link). A freshly started node shows a
// link code and waits (StartLink); the person's existing device accepts it
// (AcceptLink), and the new node then restarts in place on the person's
// keys and a snapshot of the existing device's store (restart.go).

// errNotFresh is why a node that holds contacts or messages is not linked.
var errNotFresh = fmt.Errorf("%w: %w", parley.ErrLinkRefused, link.ErrNotFresh)

// waitingLink is the link code a new device shows.
type waitingLink struct {
	pending *identity.PendingLink
	waiter  *link.Waiter
	expiry  *time.Timer
	status  parley.LinkStatus // guarded by Node.linkMu
}

// personID is the person this node is a device of: its own peer ID until
// it is linked to another device's person.
func (n *Node) personID() string { return n.person.Load().Person.Person().String() }

// linkedDeviceWrite is what refuses writes on a device linked to another's
// person, nil elsewhere. Such a device holds the person's history and
// reads it, but what it wrote would go out under its own device ID, which
// the person's contacts and groups do not know yet: a contact would see a
// stranger's request, every group member would refuse it, and the user
// would take it for sent. Delivery between a person's devices
// (docs/design-notes.md, "Linked devices") lifts this.
func (n *Node) linkedDeviceWrite() error {
	if n.id.Person.Person() != n.id.PeerID {
		return parley.ErrLinkedDeviceWrite
	}
	return nil
}

// linkNow is the clock link codes expire by.
func (n *Node) linkNow() time.Time {
	if n.cfg.LinkClock != nil {
		return n.cfg.LinkClock()
	}
	return time.Now()
}

// StartLink makes this node wait to be linked as a new device of a person:
// it returns the link code to show (and to enter on the existing device
// with AcceptLink), good for identity.LinkCodeLifetime and one link. A
// code still waiting is returned again. EventLink events tell how it goes:
// dialed (with the safety code to compare), linked (the node then restarts
// in place on the person's contacts, groups and history), expired or
// refused. Only a freshly started node may be linked: one that holds
// contacts or messages, or is linked already, is refused
// (parley.ErrLinkRefused).
func (m *Messenger) StartLink(ctx context.Context) (parley.LinkStatus, error) {
	n := m.node()
	if id := n.person.Load(); id.DeviceList != nil || id.Person.Person() != id.PeerID {
		return parley.LinkStatus{}, fmt.Errorf("%w: this node is already a device of %s", parley.ErrLinkRefused, id.Person.Person())
	}
	if err := n.fresh(); err != nil {
		return parley.LinkStatus{}, err
	}
	n.linkMu.Lock()
	defer n.linkMu.Unlock()
	if n.ctx.Err() != nil {
		return parley.LinkStatus{}, errors.New("node: closed")
	}
	if w := n.link; w != nil && (w.status.State == parley.LinkWaiting || w.status.State == parley.LinkDialed) {
		return w.status, nil
	}
	n.stopLinkLocked()
	pending, err := identity.NewPendingLink(n.id.Key.GetPublic(), m.linkHint(), n.linkNow())
	if err != nil {
		return parley.LinkStatus{}, err
	}
	w := &waitingLink{pending: pending, status: parley.LinkStatus{State: parley.LinkWaiting, Code: pending.Code, Expires: pending.Expires}}
	if w.waiter, err = link.Wait(link.WaitConfig{
		Host: n.host, Pending: pending, Now: n.linkNow, HPKEKey: n.id.HPKEPublicKey(), DeviceName: n.id.DeviceName,
		Fresh: n.fresh,
		Dialed: func(existing, person peer.ID, safety string) {
			n.linkMoved(w, parley.LinkStatus{State: parley.LinkDialed, Device: existing.String(), Person: person.String(), Safety: safety})
		},
		Adopt: n.adoptLink,
		Failed: func(existing peer.ID, err error) {
			n.linkMoved(w, parley.LinkStatus{State: parley.LinkRefused, Device: existing.String(), Error: err.Error()})
		},
		Linked: func(existing peer.ID) {
			st := n.linkMoved(w, parley.LinkStatus{State: parley.LinkLinked, Device: existing.String(), Person: n.personID()})
			go func() { // not the node's: it closes this node
				if err := n.api.restart(); err != nil {
					n.log.Error("restart after linking", "err", err)
					return
				}
				// Told once the node runs on the person, so that what the
				// UI asks next is the person's.
				n.api.linked.Store(&st)
				n.api.node().hub.publish(parley.Event{Type: parley.EventLink, Link: &st})
			}()
		},
		Logger: n.log,
	}); err != nil {
		return parley.LinkStatus{}, err
	}
	// The timer runs on the wall clock; Check judges by LinkClock, which
	// tests move forward.
	w.expiry = time.AfterFunc(pending.Expires.Sub(n.linkNow()), func() {
		n.linkMoved(w, parley.LinkStatus{State: parley.LinkExpired})
	})
	n.link = w
	n.log.Info("waiting to be linked as a new device", "expires", pending.Expires)
	return w.status, nil
}

// LinkStatus is the state of this node's link code: linked once the node
// restarted on the person; State is empty when StartLink has not been
// called.
func (m *Messenger) LinkStatus(ctx context.Context) parley.LinkStatus {
	if st := m.linked.Load(); st != nil {
		return *st
	}
	n := m.node()
	n.linkMu.Lock()
	defer n.linkMu.Unlock()
	if n.link == nil {
		return parley.LinkStatus{}
	}
	return n.link.status
}

// linkMoved records a change of w's state and tells subscribers (linked
// is told after the restart, by the caller). The code and its expiry stay;
// a code that expired or was refused stops being served. It returns the
// status as recorded.
func (n *Node) linkMoved(w *waitingLink, st parley.LinkStatus) parley.LinkStatus {
	n.linkMu.Lock()
	defer n.linkMu.Unlock()
	switch w.status.State {
	case parley.LinkLinked, parley.LinkExpired, parley.LinkRefused:
		return w.status // over: a late timer or callback changes nothing
	}
	st.Code, st.Expires = w.status.Code, w.status.Expires
	if st.Person == "" {
		st.Person = w.status.Person
	}
	w.status = st
	switch st.State {
	case parley.LinkLinked:
		return st // the restart stops the code
	case parley.LinkExpired, parley.LinkRefused:
		go w.stop() // closing waits for the handler that may be calling us
	}
	n.hub.publish(parley.Event{Type: parley.EventLink, Link: &st})
	return st
}

// stop ends the code: no more dialers are served.
func (w *waitingLink) stop() {
	w.expiry.Stop()
	w.waiter.Close()
}

// stopLinkLocked ends the code shown, if any; n.linkMu is held.
func (n *Node) stopLinkLocked() {
	if n.link != nil {
		n.link.stop()
		n.link = nil
	}
}

// closeLink ends the code on Close.
func (n *Node) closeLink() {
	n.linkMu.Lock()
	w := n.link
	n.linkMu.Unlock()
	if w != nil {
		w.stop()
	}
}

// linkHint is the address a link code names: the first of our card's that
// is direct and fits, as the short invite picks its own.
func (m *Messenger) linkHint() ma.Multiaddr {
	card, _ := m.cardAndSigned()
	return directHint(card, identity.LinkCodeFits)
}

// fresh says whether this node may be linked: it holds no contacts and no
// conversations of its own, since linking replaces its store.
func (n *Node) fresh() error {
	contacts, err := n.store.Contacts()
	if err != nil {
		return err
	}
	self := n.id.PeerID.String()
	if slices.ContainsFunc(contacts, func(c parley.Contact) bool { return c.PeerID != self }) {
		return errNotFresh
	}
	convs, err := n.store.Conversations()
	if err != nil {
		return err
	}
	if len(convs) > 0 {
		return errNotFresh
	}
	return nil
}

// adoptLink stores what the existing device sent: the snapshot of its
// store, then the person in the keystore. Both are on disk before the
// existing device is told Done; the restart that follows makes the store
// from the snapshot (restart.go), and so does any later start if a crash
// comes first.
func (n *Node) adoptLink(ctx context.Context, existing peer.ID, t link.Transfer, snapshot io.Reader) error {
	if err := n.fresh(); err != nil {
		return err
	}
	if t.SchemaVersion > storage.SchemaVersion {
		return fmt.Errorf("the existing device runs a newer Parley (store schema %d, this one reads up to %d): update Parley on this device first", t.SchemaVersion, storage.SchemaVersion)
	}
	adopted, err := n.person.Load().WithPerson(t.Keys, t.DeviceList)
	if err != nil {
		return err
	}
	if err := saveLinkSnapshot(n.dataDir, snapshot); err != nil {
		return fmt.Errorf("storing the snapshot: %w", err)
	}
	if err := n.writeKeystore(adopted); err != nil {
		removeLinkSnapshot(n.dataDir, n.log)
		return fmt.Errorf("storing the person's keys: %w", err)
	}
	n.person.Store(adopted)
	n.log.Info("linked as a new device", "person", t.Keys.Person(), "by", existing)
	return nil
}

// writeKeystore replaces the keystore with id, sealed as it is now.
func (n *Node) writeKeystore(id *identity.Identity) error {
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	if n.ctx.Err() != nil {
		return errors.New("node: closed")
	}
	return identity.WriteKeystore(n.dataDir, id, identity.KeystoreOptions{Passphrase: n.passphrase, Logger: n.log, ScryptWorkFactor: n.scryptWorkFactor})
}

// acceptDialTimeout bounds reaching the new device.
const acceptDialTimeout = 30 * time.Second

// AcceptLink links the new device that shows code as one more device of
// this node's person. It dials the new device (the code's hint, else the
// addresses known and the DHT, as contacts are found), presents the
// code's secret, and calls confirm with the safety code both devices now
// show: only if it returns true does it go on. Then, the first time, it
// hands the person key over from this device's own key to a new one
// (which it keeps at once, so a retry hands over the same key), signs a
// device list that adds the new device, and sends the keys, the list and
// a snapshot of the store; it keeps the list once the new device says it
// stored everything. It returns the new device.
//
// Errors: parley.ErrInvalidLinkCode for a code that does not parse,
// parley.ErrDeviceUnreachable, and parley.ErrLinkRefused for the new
// device's refusals (wrong, expired or used code; not a fresh node) and
// the user's (confirm returned false).
func (m *Messenger) AcceptLink(ctx context.Context, code string, confirm func(safety string) bool) (parley.Device, error) {
	n := m.node()
	lc, err := identity.ParseLinkCode(code)
	if err != nil {
		return parley.Device{}, err
	}
	if lc.PeerID == n.id.PeerID {
		return parley.Device{}, fmt.Errorf("%w: this is this device's own link code: enter it on your existing device", parley.ErrInvalidLinkCode)
	}
	if l, err := n.person.Load().Devices(); err == nil && slices.ContainsFunc(l.Devices, func(d identity.Device) bool { return d.PeerID == lc.PeerID }) {
		return parley.Device{}, fmt.Errorf("%w: %s is already one of your devices", parley.ErrLinkRefused, lc.PeerID)
	}
	n.acceptMu.Lock()
	defer n.acceptMu.Unlock()
	if lc.Hint != nil {
		n.host.Peerstore().AddAddr(lc.PeerID, lc.Hint, peerstore.TempAddrTTL)
	}
	dctx, cancel := context.WithTimeout(ctx, acceptDialTimeout)
	err = n.connect(dctx, lc.PeerID)
	cancel()
	if err != nil {
		return parley.Device{}, fmt.Errorf("%w: %w", parley.ErrDeviceUnreachable, err)
	}
	var (
		keys *identity.PersonKeys
		list []byte
		now  = time.Now()
	)
	d, err := link.Link(ctx, link.LinkConfig{
		Host: n.host, Code: lc, Person: n.person.Load().Person.Person(),
		Confirm: func(safety string, _ link.NewDevice) bool { return confirm(safety) },
		Prepare: func(d link.NewDevice) (link.Transfer, error) {
			if keys, err = n.handOverPersonKey(); err != nil {
				return link.Transfer{}, err
			}
			if list, err = n.listWith(keys, d, now); err != nil {
				return link.Transfer{}, err
			}
			return link.Transfer{Keys: keys, DeviceList: list, SchemaVersion: storage.SchemaVersion}, nil
		},
		Snapshot: n.store.Backup,
	})
	if err != nil {
		return parley.Device{}, linkError(err)
	}
	next, err := n.person.Load().WithPerson(keys, list)
	if err == nil {
		err = n.writeKeystore(next)
	}
	if err != nil {
		// The new device is linked all the same; we list it next time.
		return parley.Device{}, fmt.Errorf("the new device is linked, but its place in this device's list was not stored: %w", err)
	}
	n.person.Store(next)
	n.log.Info("linked a new device", "device", d.PeerID, "name", d.Name)
	return parley.Device{PeerID: d.PeerID.String(), Name: d.Name, LinkedAt: now.Truncate(time.Millisecond)}, nil
}

// handOverPersonKey is the person key to send a new device: the current
// one, unless it is still this device's own key (the first link), which
// never leaves it. Then a new key succeeds it, and is stored before it is
// sent, so that a retry after a failure sends the same key.
func (n *Node) handOverPersonKey() (*identity.PersonKeys, error) {
	id := n.person.Load()
	if !id.Person.Key().Equals(id.Key) {
		return id.Person, nil
	}
	keys, err := id.Person.Rotate()
	if err != nil {
		return nil, err
	}
	rotated, err := id.WithPerson(keys, id.DeviceList)
	if err != nil {
		return nil, err
	}
	if err := n.writeKeystore(rotated); err != nil {
		return nil, fmt.Errorf("storing the new person key: %w", err)
	}
	n.person.Store(rotated)
	return keys, nil
}

// listWith signs the device list that adds d to ours: the next seq, our
// devices (ours under its current name), d, the revocations kept.
func (n *Node) listWith(keys *identity.PersonKeys, d link.NewDevice, now time.Time) ([]byte, error) {
	id := n.person.Load()
	l, err := id.Devices()
	if err != nil {
		return nil, err
	}
	if len(l.Devices) >= identity.MaxDevices {
		return nil, fmt.Errorf("%w: a person has at most %d devices", parley.ErrLinkRefused, identity.MaxDevices)
	}
	next := identity.DeviceList{Seq: l.Seq + 1, Revoked: l.Revoked}
	for _, dev := range l.Devices {
		if dev.PeerID == id.PeerID {
			dev.Name = id.DeviceName
		}
		if identity.CheckName(dev.Name) != nil {
			dev.Name = ""
		}
		next.Devices = append(next.Devices, dev)
	}
	name := d.Name
	if name == "" {
		name = fallbackDeviceName
	}
	next.Devices = append(next.Devices, identity.Device{PeerID: d.PeerID, HPKEKey: d.HPKEKey, Name: name, LinkedAt: now})
	return identity.SignDeviceList(keys, n.id.Key, next)
}

// linkError says which side refused, wrapping parley.ErrLinkRefused.
func linkError(err error) error {
	var refused *link.RefusedError
	switch {
	case errors.Is(err, identity.ErrWrongLinkSecret), errors.Is(err, identity.ErrLinkCodeExpired),
		errors.Is(err, identity.ErrLinkCodeUsed), errors.Is(err, link.ErrNotFresh),
		errors.Is(err, link.ErrDeclined), errors.As(err, &refused):
		return fmt.Errorf("%w: %w", parley.ErrLinkRefused, err)
	}
	return err
}
