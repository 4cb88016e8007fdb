package dm

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/identity"
)

// Rotation bounds how much one sending key protects, so a leaked key reveals
// a bounded window of traffic.
const (
	KeyRotateMessages = 1000
	KeyRotateAge      = 24 * time.Hour
)

// session is our current sending key to one peer.
type session struct {
	key     *identity.SendKey
	created time.Time
	used    int
	// acked: the peer stored an envelope carrying this key's encapsulation,
	// so later envelopes may leave it (and our card) out.
	acked bool
}

// sessions holds one sending key per peer.
type sessions struct {
	mu sync.Mutex
	m  map[peer.ID]*session // guarded by mu
}

// next returns the key to seal one more envelope to p with, rotating it
// first when due, and whether the envelope must carry the key's
// encapsulation. Sealing itself happens outside the lock, so concurrent
// sends to one peer sign in parallel.
func (s *sessions) next(p peer.ID, newKey func() (*identity.SendKey, error), now time.Time) (key *identity.SendKey, acked bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[peer.ID]*session)
	}
	cur := s.m[p]
	if cur == nil || cur.used >= KeyRotateMessages || now.Sub(cur.created) >= KeyRotateAge {
		k, err := newKey()
		if err != nil {
			return nil, false, err
		}
		cur = &session{key: k, created: now}
		s.m[p] = cur
	}
	cur.used++
	return cur.key, cur.acked, nil
}

// acked reports whether p holds our current key to it (true when there is
// none: nothing to learn).
func (s *sessions) acked(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.m[p]
	return cur == nil || cur.acked
}

// markAcked records that p acknowledged an envelope sealed under keyID.
func (s *sessions) markAcked(p peer.ID, keyID []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.m[p]; cur != nil && string(cur.key.ID[:]) == string(keyID) {
		cur.acked = true
	}
}

// reset drops the session with p, so the next envelope starts a new key.
func (s *sessions) reset(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, p)
}
