package localapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley"
)

// fakeLinkCode is the only code fakeLinker links; "wrong:…" codes are
// refused by the new device, anything else does not parse.
const fakeLinkCode = "parley:link"

const fakeSafety = "11111 22222 33333 44444"

// fakeLinker links devices as far as the API can tell.
type fakeLinker struct {
	mu     sync.Mutex
	status parley.LinkStatus // guarded by mu
}

func (f *fakeLinker) StartLink(ctx context.Context) (parley.LinkStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = parley.LinkStatus{State: parley.LinkWaiting, Code: fakeLinkCode, Expires: time.Date(2026, 12, 1, 10, 10, 0, 0, time.UTC)}
	return f.status, nil
}

func (f *fakeLinker) LinkStatus(ctx context.Context) parley.LinkStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeLinker) AcceptLink(ctx context.Context, code string, confirm func(safety string) bool) (parley.Device, error) {
	switch {
	case strings.HasPrefix(code, "wrong:"):
		return parley.Device{}, fmt.Errorf("%w: wrong link secret", parley.ErrLinkRefused)
	case code != fakeLinkCode:
		return parley.Device{}, fmt.Errorf("%w: not a link code", parley.ErrInvalidLinkCode)
	}
	if !confirm(fakeSafety) {
		return parley.Device{}, fmt.Errorf("%w: declined", parley.ErrLinkRefused)
	}
	return parley.Device{PeerID: bobID, Name: "phone", LinkedAt: time.Date(2026, 12, 1, 10, 1, 0, 0, time.UTC)}, nil
}
