package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// kind is what a send carried.
type kind int

const (
	dm kind = iota
	groupMsg
	file
)

func (k kind) String() string { return [...]string{"dm", "group", "file"}[k] }

// send is one message the workload sent and the API accepted (or, for a
// file, may have: maybe).
type send struct {
	kind     kind
	from, to int    // to is -1 for the group
	text     string // unique in the run: the message's text, or the file's name
	clientID string
	id       string // the envelope ID the API answered (for a file, the file ID)
	hash     string // a file's content hash
	at       time.Time
	maybe    bool // a file offer whose answer was lost: it may exist, at most once
}

// recipients are the nodes that must hold s.
func (s *send) recipients(n int) []int {
	if s.kind == groupMsg {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	return []int{s.from, s.to}
}

type seenKey struct {
	node int
	text string
}

// history is what the run did and what the nodes were seen to hold: the
// record the checker reads. Safe for concurrent use.
type history struct {
	mu       sync.Mutex
	sends    []*send                     // guarded by mu
	byText   map[string]*send            // guarded by mu
	refused  map[string]int              // guarded by mu; sends the API refused or no node took, by reason
	seen     map[seenKey]time.Time       // guarded by mu; first time a node was seen holding a message
	statuses map[string]parley.Status    // guarded by mu; the sender's view of each outgoing message, by ID
	statusAt map[string]time.Time        // guarded by mu
	findings []string                    // guarded by mu; invariants broken while the run went on
	events   map[string][]time.Time      // guarded by mu; nemesis events by kind: "heal", "restart"
	idsByTxt map[seenKey]map[string]bool // guarded by mu; IDs a node held a text under
}

func newHistory() *history {
	return &history{byText: make(map[string]*send), refused: make(map[string]int), seen: make(map[seenKey]time.Time),
		statuses: make(map[string]parley.Status), statusAt: make(map[string]time.Time),
		events: make(map[string][]time.Time), idsByTxt: make(map[seenKey]map[string]bool)}
}

func (h *history) accepted(s *send) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sends = append(h.sends, s)
	h.byText[s.text] = s
}

func (h *history) refuse(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refused[reason]++
}

func (h *history) event(what string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events[what] = append(h.events[what], at)
}

func (h *history) finding(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.findings) < 200 {
		h.findings = append(h.findings, fmt.Sprintf(format, args...))
	}
}

// statusRank orders the statuses an outgoing message goes through;
// failed is an end of its own.
func statusRank(s parley.Status) int {
	if s == parley.StatusFailed {
		return 100
	}
	return int(s)
}

// observe records one listing of node i's conversation: first sightings,
// the sender's statuses (which must never go backwards), and duplicates.
func (h *history) observe(i int, at time.Time, ms []apitype.MessageView) {
	h.mu.Lock()
	defer h.mu.Unlock()
	inListing := make(map[string]string, len(ms)) // text → ID
	for _, m := range ms {
		id := m.ID.String()
		text := m.Text
		if prev, ok := inListing[text]; ok {
			h.findingLocked("duplicate: node %d lists %q twice (IDs %s and %s)", i, text, short(prev), short(id))
		}
		inListing[text] = id
		k := seenKey{i, text}
		if _, ok := h.seen[k]; !ok {
			h.seen[k] = at
		}
		ids := h.idsByTxt[k]
		if ids == nil {
			ids = make(map[string]bool)
			h.idsByTxt[k] = ids
		}
		if !ids[id] {
			ids[id] = true
			if len(ids) > 1 {
				h.findingLocked("duplicate: node %d has held %q under %d IDs", i, text, len(ids))
			}
		}
		if !m.Outgoing {
			continue
		}
		key := fmt.Sprintf("%d/%s", i, id)
		if old, ok := h.statuses[key]; ok && statusRank(m.Status) < statusRank(old) {
			h.findingLocked("status went backwards: node %d's %q from %s (seen %s) to %s (seen %s)",
				i, text, old, h.statusAt[key].Format("15:04:05.000"), m.Status, at.Format("15:04:05.000"))
		}
		if m.Status == parley.StatusFailed && h.statuses[key] != parley.StatusFailed {
			h.findingLocked("failed: node %d's %q has status failed", i, text)
		}
		h.statuses[key], h.statusAt[key] = m.Status, at
	}
}

func (h *history) findingLocked(format string, args ...any) {
	if len(h.findings) < 200 {
		h.findings = append(h.findings, fmt.Sprintf(format, args...))
	}
}

func short(id string) string { return id[:min(8, len(id))] }

// poll lists every running node's conversations once.
func (h *history) poll(ctx context.Context, c *cluster) {
	for _, nd := range c.nodes {
		for _, other := range c.nodes {
			if other == nd {
				continue
			}
			ms, err := nd.api.messages(ctx, other.name)
			if err != nil {
				continue // down, or restarting: next round
			}
			h.observe(nd.i, time.Now(), ms)
		}
		ms, err := nd.api.groupMessages(ctx, groupName)
		if err == nil {
			h.observe(nd.i, time.Now(), ms)
		}
	}
}

// watch polls every interval until ctx ends.
func (h *history) watch(ctx context.Context, c *cluster, interval time.Duration) {
	for ctx.Err() == nil {
		h.poll(ctx, c)
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}
