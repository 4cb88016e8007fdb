package localapi_test

import (
	"context"
	"fmt"

	"github.com/parley-im/parley"
)

// MessageInfo answers for the fake's messages: a DM of ours is delivered,
// with no times known.
func (f *fakeMessages) MessageInfo(ctx context.Context, conv, msg string) (parley.MessageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.msgs {
		if len(msg) >= 4 && len(msg) <= len(m.ID.String()) && m.ID.String()[:len(msg)] == msg {
			to := m.To
			if !m.Outgoing {
				to = selfID
			}
			info := parley.MessageInfo{Message: m, Recipients: []parley.RecipientInfo{{PeerID: to}}}
			if m.Status == parley.StatusQueued {
				info.Recipients[0].Pending = &parley.Delivery{Path: "direct", LastError: m.Reason}
			}
			return info, nil
		}
	}
	return parley.MessageInfo{}, fmt.Errorf("%w: no message %s", parley.ErrNotFound, msg)
}

func (f *fakeNetwork) SetReadReceipts(ctx context.Context, on bool) (parley.Settings, error) {
	f.mu.Lock()
	f.readReceiptsOff = !on
	f.mu.Unlock()
	return f.Settings(ctx), nil
}
