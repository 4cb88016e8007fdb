package parley

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// HLC is a hybrid logical clock timestamp: milliseconds since the Unix epoch
// in the high 48 bits, a counter in the low 16. It orders events across peers
// whose wall clocks disagree while staying close to real time, and it sorts
// correctly as a big-endian uint64. Display order is (HLC, envelope ID).
type HLC uint64

const hlcCounterBits = 16

// NewHLC builds a timestamp from a wall-clock time and a counter.
func NewHLC(t time.Time, counter uint16) HLC {
	return HLC(uint64(t.UnixMilli())<<hlcCounterBits | uint64(counter))
}

// Time is the wall-clock part.
func (h HLC) Time() time.Time { return time.UnixMilli(int64(h >> hlcCounterBits)) }

// Clock issues HLC timestamps that never go backwards, even when the wall
// clock does, and that stay ahead of every timestamp it has observed.
type Clock struct {
	now func() time.Time

	mu   sync.Mutex
	last HLC // guarded by mu
}

// NewClock returns a clock reading now; nil means time.Now.
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a timestamp greater than every one issued or observed before.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := NewHLC(c.now(), 0)
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a timestamp seen on a message from a peer, so
// a reply is always ordered after what it answers. Timestamps too far in the
// future are ignored rather than dragging the clock along.
func (c *Clock) Observe(h HLC) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.Time().After(c.now().Add(MaxClockSkew)) {
		return
	}
	if h > c.last {
		c.last = h
	}
}

// MaxClockSkew bounds how far ahead of our clock a peer's timestamp may be
// before we stop following it.
const MaxClockSkew = 24 * time.Hour

// MarshalText writes the timestamp as a decimal string: it does not fit a
// JavaScript number (2^53), and the GUI must order messages exactly.
func (h HLC) MarshalText() ([]byte, error) { return strconv.AppendUint(nil, uint64(h), 10), nil }

// UnmarshalText reads the decimal form.
func (h *HLC) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrMalformed, b)
	}
	*h = HLC(v)
	return nil
}
