package localapi_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parley-im/parley"
)

// fakeBlocks keeps blocks and conversation states in maps, resolving
// contacts through the fake's contacts; enough for the HTTP layer.
type fakeBlocks struct {
	dm *fakeMessages

	mu      sync.Mutex
	blocked map[string]parley.BlockedPeer // by peer ID; guarded by mu
	pinned  []string                      // guarded by mu
}

func (f *fakeBlocks) resolve(ctx context.Context, who string) (parley.Contact, error) {
	return f.dm.Resolve(ctx, who)
}

func (f *fakeBlocks) Block(ctx context.Context, who string) (parley.BlockedPeer, error) {
	c, err := f.resolve(ctx, who)
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blocked == nil {
		f.blocked = make(map[string]parley.BlockedPeer)
	}
	b, ok := f.blocked[c.PeerID]
	if !ok {
		b = parley.BlockedPeer{PeerID: c.PeerID, Name: c.Name, At: time.Now(), Request: c.State != parley.ContactAccepted}
		f.blocked[c.PeerID] = b
	}
	return b, nil
}

func (f *fakeBlocks) Unblock(ctx context.Context, who string) (parley.BlockedPeer, error) {
	c, err := f.resolve(ctx, who)
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blocked[c.PeerID]
	if !ok {
		return parley.BlockedPeer{}, fmt.Errorf("%w: %s is not blocked", parley.ErrNotFound, who)
	}
	delete(f.blocked, c.PeerID)
	return b, nil
}

func (f *fakeBlocks) BlockList(context.Context) ([]parley.BlockedPeer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []parley.BlockedPeer{}
	for _, b := range f.blocked {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b parley.BlockedPeer) int { return cmpString(a.PeerID, b.PeerID) })
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fakeBlocks) SetConversationState(ctx context.Context, conv string, ch parley.ConversationChange) (parley.Conversation, error) {
	c, err := f.resolve(ctx, conv)
	if err != nil {
		return parley.Conversation{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := parley.Conversation{ID: parley.DMConversationID(selfID, c.PeerID), Kind: parley.ConversationDM, Peer: c.PeerID}
	if ch.Pin != nil {
		i := slices.Index(f.pinned, c.PeerID)
		switch {
		case *ch.Pin && i < 0 && len(f.pinned) >= parley.MaxPinned:
			return parley.Conversation{}, fmt.Errorf("%w: too many pinned", parley.ErrMalformed)
		case *ch.Pin && i < 0:
			f.pinned = append(f.pinned, c.PeerID)
		case !*ch.Pin && i >= 0:
			f.pinned = slices.Delete(f.pinned, i, i+1)
		}
	}
	if slices.Contains(f.pinned, c.PeerID) {
		out.PinnedAt = time.Now()
	}
	out.Muted = ch.Mute != nil && *ch.Mute
	if out.Muted && ch.MuteFor > 0 {
		out.MutedUntil = time.Now().Add(ch.MuteFor)
	}
	out.Archived = ch.Archive != nil && *ch.Archive
	return out, nil
}
