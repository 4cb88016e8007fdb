package dm

import (
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
)

// Delivery attempts, for Message info: what each courier last tried and
// how it went. Kept in memory only (a restart forgets them; the reason a
// message waits is persisted by storage.SetQueuedReason): one entry per
// peer the node has had to retry, dropped once a delivery succeeds.
type attempts struct {
	mu sync.Mutex
	by map[peer.ID]parley.Delivery // guarded by mu
}

// failed records a failed attempt over path, with the retry due after
// backoff; the first failure of a run starts OfflineSince.
func (a *attempts) failed(p peer.ID, path string, err error, backoff time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.by == nil {
		a.by = make(map[peer.ID]parley.Delivery)
	}
	now := time.Now()
	d := a.by[p]
	if d.OfflineSince.IsZero() {
		d.OfflineSince = now
	}
	d.LastAttempt, d.Path, d.NextRetry = now, path, now.Add(backoff)
	if err != nil {
		d.LastError = err.Error()
	}
	a.by[p] = d
}

// succeeded forgets p's failures: it is reachable.
func (a *attempts) succeeded(p peer.ID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.by, p)
}

// Delivery is what the courier for p last tried, if it has failed since
// it last delivered.
func (s *Service) Delivery(p peer.ID) (parley.Delivery, bool) {
	s.tries.mu.Lock()
	defer s.tries.mu.Unlock()
	d, ok := s.tries.by[p]
	return d, ok
}

// pathTo is how an attempt to reach p goes: "relay" over a relayed
// (limited) connection, "direct" otherwise (a dial tries direct addresses
// first).
func pathTo(h interface{ Network() network.Network }, p peer.ID) string {
	for _, c := range h.Network().ConnsToPeer(p) {
		if c.Stat().Limited || isCircuit(c.RemoteMultiaddr()) {
			return "relay"
		}
	}
	return "direct"
}

func isCircuit(a ma.Multiaddr) bool {
	return a != nil && strings.Contains(a.String(), "/p2p-circuit")
}
