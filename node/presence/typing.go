package presence

import (
	"sync"
	"time"

	"github.com/parley-im/parley"
)

// Typing timings (PROTOCOL.md §10.1).
const (
	// TypingInterval: a sender says "typing" in a conversation at most
	// this often, however fast the user types.
	TypingInterval = 3 * time.Second
	// DefaultTypingExpiry: a receiver shows someone typing for this long
	// after their last "typing" unless they refresh it: two refreshes may
	// be missed before it goes.
	DefaultTypingExpiry = 6 * time.Second
	// maxTypists bounds who is shown typing at once; past it, new typists
	// are not shown until some stop.
	maxTypists = 256
)

// typist is someone typing in a conversation.
type typist struct {
	conv parley.ConversationID
	peer string
}

// Typists is who is typing where, on the receiving side. Start and Stop
// report changes through the callback; someone who sends no refresh for
// the expiry stops by themselves.
type Typists struct {
	expiry time.Duration
	notify func(conv parley.ConversationID, peer string, active bool)

	mu     sync.Mutex
	timers map[typist]typing // guarded by mu
	gen    uint64            // guarded by mu: numbers each Start that begins a typist
	closed bool              // guarded by mu
}

// typing is a typist's expiry timer; gen tells a stale timer's firing
// (the typist stopped and started again since) from the current one's.
type typing struct {
	timer *time.Timer
	gen   uint64
}

// NewTypists reports changes to notify (called without the lock held, so
// it may publish events); expiry 0 is DefaultTypingExpiry.
func NewTypists(expiry time.Duration, notify func(conv parley.ConversationID, peer string, active bool)) *Typists {
	if expiry <= 0 {
		expiry = DefaultTypingExpiry
	}
	return &Typists{expiry: expiry, notify: notify, timers: make(map[typist]typing)}
}

// Start marks peer typing in conv, or refreshes it.
func (t *Typists) Start(conv parley.ConversationID, peer string) {
	k := typist{conv, peer}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if cur, ok := t.timers[k]; ok {
		// Refreshed: if the timer has fired already, its stop is on its
		// way and the next "typing" starts anew.
		cur.timer.Reset(t.expiry)
		t.mu.Unlock()
		return
	}
	if len(t.timers) >= maxTypists {
		t.mu.Unlock()
		return
	}
	t.gen++
	gen := t.gen
	t.timers[k] = typing{timer: time.AfterFunc(t.expiry, func() { t.expire(k, gen) }), gen: gen}
	t.mu.Unlock()
	t.notify(conv, peer, true)
}

// Stop marks peer no longer typing in conv (they sent, or cleared, or a
// message of theirs arrived).
func (t *Typists) Stop(conv parley.ConversationID, peer string) {
	k := typist{conv, peer}
	t.mu.Lock()
	cur, ok := t.timers[k]
	if ok {
		cur.timer.Stop()
		delete(t.timers, k)
	}
	t.mu.Unlock()
	if ok {
		t.notify(conv, peer, false)
	}
}

// expire stops k if gen is still its timer's (a Stop and a new Start may
// have come in between).
func (t *Typists) expire(k typist, gen uint64) {
	t.mu.Lock()
	cur, ok := t.timers[k]
	if !ok || cur.gen != gen || t.closed {
		t.mu.Unlock()
		return
	}
	delete(t.timers, k)
	t.mu.Unlock()
	t.notify(k.conv, k.peer, false)
}

// Typing lists who is typing in conv now.
func (t *Typists) Typing(conv parley.ConversationID) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k := range t.timers {
		if k.conv == conv {
			out = append(out, k.peer)
		}
	}
	return out
}

// Clear forgets everyone, without reporting (the setting was turned off:
// the GUI hides them itself).
func (t *Typists) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, cur := range t.timers {
		cur.timer.Stop()
		delete(t.timers, k)
	}
}

// Close stops every timer; nothing is reported after it returns, except a
// notify already running.
func (t *Typists) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for k, cur := range t.timers {
		cur.timer.Stop()
		delete(t.timers, k)
	}
}

// Outgoing is the sending side's rate limit: per conversation, when we
// last said "typing", so that a user typing fast sends one every
// TypingInterval, and a "stopped" only after a "typing".
type Outgoing struct {
	mu   sync.Mutex
	last map[parley.ConversationID]time.Time // guarded by mu: when we last said "typing" there
}

// NewOutgoing returns an empty rate limit.
func NewOutgoing() *Outgoing { return &Outgoing{last: make(map[parley.ConversationID]time.Time)} }

// Allow says whether to send active (typing, or stopped) in conv now, and
// records it. A "typing" goes at most once per TypingInterval; a "stopped"
// only if a "typing" went since the last "stopped".
func (o *Outgoing) Allow(conv parley.ConversationID, active bool, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	last, typing := o.last[conv]
	if !active {
		delete(o.last, conv)
		return typing
	}
	if typing && now.Sub(last) < TypingInterval {
		return false
	}
	if len(o.last) >= maxTypists {
		// Many conversations at once: forget the ones gone quiet, at worst
		// sending one "stopped" too few (the receiver's expiry covers it).
		for c, t := range o.last {
			if now.Sub(t) >= DefaultTypingExpiry {
				delete(o.last, c)
			}
		}
		if len(o.last) >= maxTypists {
			return false
		}
	}
	o.last[conv] = now
	return true
}

// Sent forgets that we are typing in conv (a message went: the receiver
// stops showing us on its arrival).
func (o *Outgoing) Sent(conv parley.ConversationID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.last, conv)
}
