package localapi_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/parley-im/parley"
)

// fakePresence is the fake node's typing and presence settings: alice is
// the only contact, "friends" the only group; a "typing" goes at most once
// until a "stopped".
type fakePresence struct {
	n *fakeNetwork

	mu     sync.Mutex
	typing map[string]bool // conversation → said "typing"; guarded by mu
}

func (f *fakePresence) Typing(ctx context.Context, conv string, active bool) (bool, error) {
	if conv != "alice" && conv != "friends" {
		return false, fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, conv)
	}
	if !f.n.Settings(ctx).TypingIndicators {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.typing == nil {
		f.typing = make(map[string]bool)
	}
	was := f.typing[conv]
	f.typing[conv] = active
	return active != was, nil
}

func (f *fakePresence) SetTypingIndicators(ctx context.Context, on bool) (parley.Settings, error) {
	f.n.mu.Lock()
	f.n.typingOff = !on
	f.n.mu.Unlock()
	return f.n.Settings(ctx), nil
}

func (f *fakePresence) SetLastSeen(ctx context.Context, on bool) (parley.Settings, error) {
	f.n.mu.Lock()
	f.n.lastSeenOff = !on
	f.n.mu.Unlock()
	return f.n.Settings(ctx), nil
}
