package localapi_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parley-im/parley"
)

// addPending keeps an invite "offline:PEER" as a pending contact, as the
// node keeps a short code whose owner is unreachable.
func (f *fakeMessages) addPending(invite, name string) (parley.Contact, bool) {
	peerID, ok := strings.CutPrefix(invite, "offline:")
	if !ok {
		return parley.Contact{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		f.pending = make(map[string]parley.PendingContact)
	}
	p, found := f.pending[peerID]
	if !found {
		p = parley.PendingContact{PeerID: peerID, AddedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	}
	if name != "" {
		p.Name = name
	}
	p.Invite, p.State = invite, parley.ContactPending
	f.pending[peerID] = p
	return parley.Contact{PeerID: peerID, Name: p.Name, State: parley.ContactPending, AddedAt: p.AddedAt}, true
}

// refusePending marks a pending contact refused, as a reset code is.
func (f *fakeMessages) refusePending(peerID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pending[peerID]
	p.State, p.LastError = parley.ContactRefused, "the inviter refused this code"
	f.pending[peerID] = p
}

func (f *fakeMessages) PendingContacts(context.Context) ([]parley.PendingContact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]parley.PendingContact, 0, len(f.pending))
	for _, p := range f.pending {
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeMessages) CancelPending(_ context.Context, contact string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, p := range f.pending {
		if id == contact || p.Name == contact {
			delete(f.pending, id)
			return nil
		}
	}
	return fmt.Errorf("%w: no pending contact %q", parley.ErrUnknownContact, contact)
}
