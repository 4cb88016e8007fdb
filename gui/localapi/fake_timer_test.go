package localapi_test

import (
	"context"
	"time"

	"github.com/parley-im/parley"
)

// Timer answers as a node whose conversations have no timer set.
func (f *fakeMessages) Timer(ctx context.Context, conversation string) (parley.ConversationTimer, error) {
	c, err := f.Resolve(ctx, conversation)
	if err != nil {
		return parley.ConversationTimer{}, err
	}
	return parley.ConversationTimer{Conversation: parley.DMConversationID(selfID, c.PeerID)}, nil
}

// SetTimer checks d as the node does and answers the timer as set by us.
func (f *fakeMessages) SetTimer(ctx context.Context, conversation string, d time.Duration) (parley.ConversationTimer, error) {
	if err := parley.CheckTimer(d); err != nil {
		return parley.ConversationTimer{}, err
	}
	t, err := f.Timer(ctx, conversation)
	if err != nil {
		return t, err
	}
	t.Seconds, t.SetBy, t.HLC = uint32(d/time.Second), selfID, f.clock.Now()
	return t, nil
}
