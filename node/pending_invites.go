package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/storage"
)

// Pending contacts ("add contact at a distance"). A short code carries no
// card: its owner must be reachable for us to fetch it. A code added while
// they are not is kept (storage pi/) and the node adds them once it
// reaches them: soon after start, whenever a connection to them opens, and
// on a back-off (the reconnect interval doubling to maxReconnectBackoff).
// Success goes through addCard, as AddContact does. A refusal (they made a
// new code since) ends it: the entry stays "refused", so the user learns
// why nothing happened, until they remove it or add a new code of that
// person. Entries expire PendingContactTTL after they were added.

// maxPendingAttempts bounds the attempts running at once: each may hold a
// dial and a DHT lookup for up to inviteFetchTimeout.
const maxPendingAttempts = 4

// pendingInvites drives the retries; its run loop belongs to the node.
type pendingInvites struct {
	n        *Node
	interval time.Duration // first retry delay; doubles to maxReconnectBackoff
	kick     chan struct{} // capacity 1: look at the entries now
	mu       sync.Mutex
	due      map[peer.ID]bool // connected since the last pass: try now
}

// newPendingInvites retries on interval (Config.ReconnectInterval, as
// reconnecting to contacts does).
func newPendingInvites(n *Node, interval time.Duration) *pendingInvites {
	if interval <= 0 {
		interval = defaultReconnectInterval
	}
	return &pendingInvites{n: n, interval: interval, kick: make(chan struct{}, 1), due: make(map[peer.ID]bool)}
}

func (p *pendingInvites) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// connected is told of every peer that comes online: one with a pending
// invite is tried at once. The check reads badger's memtable, as
// watchNetwork's other look-ups do.
func (p *pendingInvites) connected(id peer.ID) {
	if _, err := p.n.store.PendingContactOf(id.String()); err != nil {
		return
	}
	p.mu.Lock()
	p.due[id] = true
	p.mu.Unlock()
	p.wake()
}

// run retries pending invites until Close; it waits for its attempts.
func (p *pendingInvites) run() {
	defer p.n.wg.Done()
	var attempts sync.WaitGroup
	defer attempts.Wait()
	backoff := make(map[string]*reconnectState)
	inflight := make(map[string]bool)
	done := make(chan string)
	timer := time.NewTimer(0) // soon after start
	defer timer.Stop()
	for {
		select {
		case <-p.n.ctx.Done():
			return
		case <-timer.C:
		case <-p.kick:
		case id := <-done:
			delete(inflight, id)
		}
		next := p.pass(time.Now(), backoff, inflight, func(e parley.PendingContact) {
			inflight[e.PeerID] = true
			attempts.Add(1)
			go func() {
				defer attempts.Done()
				p.n.msgr.tryPending(p.n.ctx, e)
				select {
				case done <- e.PeerID:
				case <-p.n.ctx.Done():
				}
			}()
		})
		timer.Reset(next) // since Go 1.23, Reset leaves no stale tick behind
	}
}

// pass starts the attempts that are due, drops what expired or was added
// meanwhile, and returns how long until the next is due.
func (p *pendingInvites) pass(now time.Time, backoff map[string]*reconnectState, inflight map[string]bool, start func(parley.PendingContact)) time.Duration {
	n := p.n
	p.mu.Lock()
	due := p.due
	p.due = make(map[peer.ID]bool)
	p.mu.Unlock()
	wait := maxReconnectBackoff
	entries, err := n.store.PendingContacts()
	if err != nil {
		n.log.Warn("listing pending contacts", "err", err)
		return wait
	}
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		listed[e.PeerID] = true
		if now.After(e.ExpiresAt()) {
			n.log.Info("a pending contact expired: its owner was not reachable for 30 days", "peer", e.PeerID)
			n.dropPending(e.PeerID, "expired")
			continue
		}
		if e.State != parley.ContactPending {
			continue // refused: waits for the user
		}
		if c, err := n.store.Contact(e.PeerID); err == nil && c.State == parley.ContactAccepted {
			n.dropPending(e.PeerID, "already a contact") // added meanwhile, by a long code say
			continue
		}
		id, err := peer.Decode(e.PeerID)
		if err != nil || inflight[e.PeerID] {
			continue
		}
		st := backoff[e.PeerID]
		if st == nil {
			st = &reconnectState{next: now, delay: p.interval}
			backoff[e.PeerID] = st
		}
		if due[id] {
			st.next = now
		}
		if now.Before(st.next) {
			wait = min(wait, st.next.Sub(now))
			continue
		}
		if len(inflight) >= maxPendingAttempts {
			continue // the next attempt to end wakes the loop
		}
		start(e)
		st.next = now.Add(st.delay)
		st.delay = min(2*st.delay, maxReconnectBackoff)
		wait = min(wait, st.next.Sub(now))
	}
	for id := range backoff {
		if !listed[id] {
			delete(backoff, id)
		}
	}
	return max(wait, time.Millisecond)
}

// dropPending removes peer's pending contact, if any, and tells the UIs.
func (n *Node) dropPending(peerID, why string) {
	removed, err := n.store.DeletePendingContact(peerID, nil)
	if err != nil {
		n.log.Warn("removing a pending contact", "peer", peerID, "err", err)
		return
	}
	if removed {
		n.log.Debug("pending contact removed", "peer", peerID, "why", why)
		n.hub.publish(parley.Event{Type: parley.EventContact, PeerID: peerID})
	}
}

// keepPending stores a short invite whose owner could not be reached
// (cause), or refreshes the one stored for them, and returns the pending
// contact as AddContact's answer.
func (m *Messenger) keepPending(inv identity.Invite, code, name string, cause error) (parley.Contact, error) {
	if c, err := m.node().store.Contact(inv.PeerID.String()); err == nil && c.State == parley.ContactAccepted {
		return parley.Contact{}, cause // already a contact: nothing to wait for
	}
	e, err := m.node().store.UpdatePendingContact(inv.PeerID.String(), parley.MaxPendingContacts, func(e *parley.PendingContact, found bool) (bool, error) {
		if !found {
			e.AddedAt = time.Now().UTC()
		}
		if name != "" {
			e.Name = name
		}
		e.Invite, e.State, e.LastError = code, parley.ContactPending, cause.Error()
		return true, nil
	})
	if errors.Is(err, storage.ErrTooManyPending) {
		return parley.Contact{}, fmt.Errorf("%w; it is not kept either: %d contacts are pending already (parley contact list), cancel some first", cause, parley.MaxPendingContacts)
	}
	if err != nil {
		return parley.Contact{}, err
	}
	m.node().log.Info("the inviter is not reachable: kept as a pending contact", "peer", e.PeerID, "err", cause)
	m.node().hub.publish(parley.Event{Type: parley.EventContact, PeerID: e.PeerID})
	m.node().pending.wake()
	return parley.Contact{PeerID: e.PeerID, Name: e.Name, State: parley.ContactPending, AddedAt: e.AddedAt}, nil
}

// tryPending tries to add a pending contact once: fetching the card, then
// adding it as AddContact does.
func (m *Messenger) tryPending(ctx context.Context, e parley.PendingContact) {
	n := m.node()
	inv, err := identity.ParseInvite(e.Invite)
	var card identity.Card
	if err == nil {
		card, err = m.fetchInviteCard(ctx, inv)
	}
	if ctx.Err() != nil {
		return // stopping: the entry waits for the next start
	}
	if err == nil {
		c, _, err := m.addCard(card, e.Name)
		if err != nil {
			n.log.Warn("adding a pending contact", "peer", e.PeerID, "err", err)
			return
		}
		n.log.Info("added a pending contact: they are reachable now", "peer", c.PeerID, "name", c.Name)
		return
	}
	refused := !errors.Is(err, parley.ErrInviterUnreachable)
	if refused {
		n.log.Info("a pending contact's code was refused", "peer", e.PeerID, "err", err)
	}
	// Only the entry tried is changed: the user may have replaced it by a
	// new code meanwhile, or cancelled it.
	if _, err := n.store.UpdatePendingContact(e.PeerID, parley.MaxPendingContacts, func(cur *parley.PendingContact, found bool) (bool, error) {
		if !found || cur.Invite != e.Invite || cur.State != parley.ContactPending {
			return false, nil
		}
		cur.LastError = err.Error()
		if refused {
			cur.State = parley.ContactRefused
		}
		return true, nil
	}); err != nil {
		n.log.Warn("updating a pending contact", "peer", e.PeerID, "err", err)
		return
	}
	if refused {
		n.hub.publish(parley.Event{Type: parley.EventContact, PeerID: e.PeerID})
	}
}

// PendingContacts lists the short invites waiting for their owners, by
// peer ID.
func (m *Messenger) PendingContacts(ctx context.Context) ([]parley.PendingContact, error) {
	return m.node().store.PendingContacts()
}

// CancelPending removes a pending contact, by peer ID or by the name it
// shows; parley.ErrUnknownContact if there is none.
func (m *Messenger) CancelPending(ctx context.Context, nameOrID string) error {
	entries, err := m.node().store.PendingContacts()
	if err != nil {
		return err
	}
	var match []parley.PendingContact
	for _, e := range entries {
		if e.PeerID == nameOrID {
			match = []parley.PendingContact{e}
			break
		}
		if e.Name != "" && e.Name == nameOrID {
			match = append(match, e)
		}
	}
	switch len(match) {
	case 0:
		return fmt.Errorf("%w: no pending contact %q", parley.ErrUnknownContact, nameOrID)
	case 1:
	default:
		return fmt.Errorf("%w: %d pending contacts are named %q: give the peer ID", parley.ErrAmbiguous, len(match), nameOrID)
	}
	removed, err := m.node().store.DeletePendingContact(match[0].PeerID, nil)
	if err != nil {
		return err
	}
	if !removed {
		return fmt.Errorf("%w: no pending contact %q", parley.ErrUnknownContact, nameOrID)
	}
	m.node().hub.publish(parley.Event{Type: parley.EventContact, PeerID: match[0].PeerID})
	return nil
}
