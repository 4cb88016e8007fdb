package catchup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup/pb"
)

// memLog is an in-memory Log. Its test envelopes are
// HLC (8 bytes) || key ID (16) || random payload; Accept parses them back,
// refuses those under keys it does not hold, and those reject matches.
type memLog struct {
	mu        sync.Mutex
	keys      [][16]byte
	items     []Item // sorted by (HLC, ID)
	envs      map[parley.EnvelopeID][]byte
	reject    func(env []byte) bool // guarded by mu; nil: accept all
	acceptErr error                 // guarded by mu; set: Accept fails
	accepted  int                   // guarded by mu; Accept calls
}

func newMemLog(keys ...[16]byte) *memLog {
	return &memLog{keys: keys, envs: make(map[parley.EnvelopeID][]byte)}
}

func testEnvelope(rng *rand.Rand, hlc parley.HLC, key [16]byte, size int) []byte {
	env := make([]byte, 24, max(size, 24))
	binary.BigEndian.PutUint64(env, uint64(hlc))
	copy(env[8:], key[:])
	for len(env) < cap(env) {
		env = append(env, byte(rng.Uint32()))
	}
	return env
}

func parseEnvelope(env []byte) (Item, error) {
	if len(env) < 24 {
		return Item{}, errors.New("short envelope")
	}
	return Item{HLC: parley.HLC(binary.BigEndian.Uint64(env)), ID: sha256.Sum256(env), KeyID: [16]byte(env[8:24])}, nil
}

func compareItems(a, b Item) int {
	if a.HLC != b.HLC {
		if a.HLC < b.HLC {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// add stores envelopes without checks (test setup).
func (l *memLog) add(envs ...[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range envs {
		it, err := parseEnvelope(e)
		if err != nil {
			panic(err)
		}
		if _, ok := l.envs[it.ID]; !ok {
			l.envs[it.ID] = e
			l.items = append(l.items, it)
		}
	}
	slices.SortFunc(l.items, compareItems)
}

func (l *memLog) KeyIDs() ([][16]byte, error) { return l.keys, nil }

func (l *memLog) Synced([][16]byte) {}

func (l *memLog) Scan(lo, hi parley.HLC, fn func(Item) bool) error {
	l.mu.Lock()
	items := l.items
	l.mu.Unlock()
	i := sort.Search(len(items), func(i int) bool { return items[i].HLC >= lo })
	for ; i < len(items) && (hi == 0 || items[i].HLC < hi); i++ {
		if !fn(items[i]) {
			break
		}
	}
	return nil
}

func (l *memLog) Envelope(id parley.EnvelopeID) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.envs[id]
	if !ok {
		return nil, parley.ErrNotFound
	}
	return e, nil
}

func (l *memLog) Accept(_ peer.ID, envs [][]byte) (added, rejected int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepted++
	if l.acceptErr != nil {
		return 0, 0, l.acceptErr
	}
	for _, e := range envs {
		it, err := parseEnvelope(e)
		if err != nil || !slices.Contains(l.keys, it.KeyID) || (l.reject != nil && l.reject(e)) {
			rejected++
			continue
		}
		if _, ok := l.envs[it.ID]; ok {
			continue
		}
		l.envs[it.ID] = bytes.Clone(e)
		l.items = append(l.items, it)
		added++
	}
	// A fresh slice: a Scan in progress keeps iterating the old one.
	l.items = slices.Clone(l.items)
	slices.SortFunc(l.items, compareItems)
	return added, rejected, nil
}

// ids lists the log's envelope IDs under key (all keys if nil), sorted.
func (l *memLog) ids(key *[16]byte) []parley.EnvelopeID {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []parley.EnvelopeID
	for _, it := range l.items {
		if key == nil || it.KeyID == *key {
			out = append(out, it.ID)
		}
	}
	slices.SortFunc(out, func(a, b parley.EnvelopeID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

func (l *memLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

var (
	key1 = [16]byte{1}
	key2 = [16]byte{2}
	key3 = [16]byte{3}
	conv = parley.ConversationID{0xc0}
	// base is an HLC in 2027; items are spread a millisecond apart.
	base = parley.NewHLC(time.Unix(1_800_000_000, 0), 0)
)

// gen makes n envelopes under key with HLCs from hlc(i).
func gen(rng *rand.Rand, n int, key [16]byte, size int, hlc func(i int) parley.HLC) [][]byte {
	envs := make([][]byte, n)
	for i := range envs {
		envs[i] = testEnvelope(rng, hlc(i), key, size)
	}
	return envs
}

// spread places item i of a batch at base + start + i milliseconds.
func spread(start int) func(int) parley.HLC {
	return func(i int) parley.HLC { return base + parley.HLC(start+i)<<16 }
}

// testPeer is a loopback host running a Service whose Open serves logs.
type testPeer struct {
	t   testing.TB
	h   host.Host
	svc *Service

	mu        sync.Mutex
	logs      map[parley.ConversationID]*memLog // guarded by mu
	deny      error                             // guarded by mu; set: Open refuses
	max       int                               // guarded by mu; biggest frame written
	maxRanges int                               // guarded by mu; most ranges in a frame written
}

func newTestPeer(t testing.TB) *testPeer {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	p := &testPeer{t: t, h: h, logs: make(map[parley.ConversationID]*memLog)}
	p.svc, err = New(Config{
		Host:   h,
		Open:   p.open,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.svc.traceFrame = func(m *pb.Message, size int) {
		p.mu.Lock()
		p.max = max(p.max, size)
		p.maxRanges = max(p.maxRanges, len(m.Ranges))
		p.mu.Unlock()
	}
	p.svc.Start()
	t.Cleanup(func() {
		p.svc.Close()
		h.Close()
	})
	return p
}

func (p *testPeer) open(c parley.ConversationID, _ peer.ID) (Log, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deny != nil {
		return nil, p.deny
	}
	l, ok := p.logs[c]
	if !ok {
		return nil, fmt.Errorf("%w: no conversation %s", parley.ErrNotMember, c)
	}
	return l, nil
}

func (p *testPeer) setLog(c parley.ConversationID, l *memLog) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logs[c] = l
}

func (p *testPeer) maxFrame() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// pair starts two connected peers, each with a log for conv.
func pair(t testing.TB, a, b *memLog) (*testPeer, *testPeer) {
	t.Helper()
	pa, pb := newTestPeer(t), newTestPeer(t)
	pa.setLog(conv, a)
	pb.setLog(conv, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pa.h.Connect(ctx, peer.AddrInfo{ID: pb.h.ID(), Addrs: pb.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return pa, pb
}

// sync runs a session from a to b with a test deadline.
func (p *testPeer) sync(to *testPeer) (Stats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return p.svc.Sync(ctx, to.h.ID(), conv)
}
