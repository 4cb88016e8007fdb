package node_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/node/catchup"
	"github.com/parley-im/parley/node/dm"
	"github.com/parley-im/parley/node/files"
)

// stalledStreams is a sybil attack on a node: throwaway identities, each
// with a stream on every Parley protocol, each stream announcing the
// largest frame the protocol allows, sending one byte of it, and no more.
type stalledStreams struct {
	hosts []host.Host
	// reset counts, per protocol, the streams the victim refused or cut.
	mu    sync.Mutex
	reset map[protocol.ID]int
	wg    sync.WaitGroup
}

// announced is the frame length each attack stream claims.
var announced = map[protocol.ID]uint64{dm.ID: dm.MaxFrameSize, files.ID: 4 << 10, catchup.ID: 4 << 20}

func attack(t *testing.T, victim *parleytest.Node, n int) *stalledStreams {
	t.Helper()
	a := &stalledStreams{reset: make(map[protocol.ID]int)}
	for range n {
		h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics())
		if err != nil {
			t.Fatal(err)
		}
		a.hosts = append(a.hosts, h)
		if err := h.Connect(context.Background(), victim.AddrInfo()); err != nil {
			t.Fatal(err)
		}
		for proto, length := range announced {
			st, err := h.NewStream(context.Background(), victim.Host().ID(), proto)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Write(append(binary.AppendUvarint(nil, length), 1)); err != nil {
				t.Fatal(err)
			}
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				// Blocks until the victim resets the stream (or we stop).
				_, _ = st.Read(make([]byte, 1))
				a.mu.Lock()
				a.reset[proto]++
				a.mu.Unlock()
			}()
		}
	}
	return a
}

// held is how many of the attack's streams on proto the victim still serves.
func (a *stalledStreams) held(victim *parleytest.Node, proto protocol.ID) int {
	var open int
	_ = victim.Host().Network().ResourceManager().ViewProtocol(proto, func(s network.ProtocolScope) error {
		open = s.Stat().NumStreamsInbound
		return nil
	})
	return open
}

func (a *stalledStreams) resets(proto protocol.ID) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reset[proto]
}

func (a *stalledStreams) stop() {
	for _, h := range a.hosts {
		h.Close()
	}
	a.hosts = nil // closed hosts still hold their memory: let it go
	a.wg.Wait()
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Issue 12, failure 3: forty throwaway identities stall streams on every
// protocol of a node. A contact's message and file still go through while
// every stalled stream is held; a stranger's request goes through once
// they time out; the stalled streams hold next to no memory, and once the
// attackers leave, memory and goroutines go back to where they were.
func TestSybilSlowloris(t *testing.T) {
	const (
		attackers = 40
		// Long enough that setting forty hosts up under -race on a busy
		// machine ends well before the first stalled streams time out (at
		// 6 s, 7 of 12 had ended once in CI before the contact was
		// checked); short enough for the stranger's part to finish soon.
		strangerTimeout = 20 * time.Second
	)
	ctx := context.Background()
	victim := parleytest.StartNode(t, "victim", func(c *node.Config) { c.StrangerTimeout = strangerTimeout })
	friend := parleytest.StartNode(t, "friend")
	stranger := parleytest.StartNode(t, "stranger")
	parleytest.Befriend(t, victim, friend)
	parleytest.Connect(t, victim, friend)
	parleytest.Connect(t, victim, stranger) // its connection's goroutines count in the baseline
	path, _ := parleytest.RandomFile(t, t.TempDir(), "notes.bin", 256<<10)
	heapBefore, goroutinesBefore := heapInUse(), runtime.NumGoroutine()

	a := attack(t, victim, attackers)
	defer a.stop()
	var attackerIDs []peer.ID
	for _, h := range a.hosts {
		attackerIDs = append(attackerIDs, h.ID())
	}
	// Every attack stream is either held or refused.
	for proto := range announced {
		parleytest.Eventually(t, "the victim taking or refusing every stalled stream on "+string(proto), func() bool {
			return a.held(victim, proto)+a.resets(proto) >= attackers
		})
	}
	held := map[protocol.ID]int{}
	for proto := range announced {
		held[proto] = a.held(victim, proto)
		t.Logf("%s: %d stalled streams held, %d refused", proto, held[proto], a.resets(proto))
	}
	heapDuring := heapInUse()
	t.Logf("goroutines: %d before the attack, %d during", goroutinesBefore, runtime.NumGoroutine())

	attacked := time.Now()
	msg, err := friend.Messenger().Send(ctx, "victim", "still there?", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	offer, err := victim.Messenger().SendFile(ctx, "friend", path)
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "the friend's message delivered", func() bool {
		return friend.StatusOf("victim", msg.ID) == parley.StatusDelivered
	})
	friend.WaitComplete(offer.ID)
	took := time.Since(attacked)
	for proto, n := range held {
		// Most, not all: under -race on a busy machine, setting forty
		// hosts up takes seconds, and the first streams held may reach
		// their timeout meanwhile. Before the fix, the contact waited for
		// nearly all of them.
		if still := a.held(victim, proto); still < n/2 {
			t.Fatalf("the contact got through only after %d of %d stalled %s streams ended (%v)", n-still, n, proto, took)
		}
	}
	t.Logf("contact's message and file through in %v, stalled streams still held", took)

	// A stranger's request, sent now, is delivered once the stalled
	// streams time out: a frame begun must end within strangerTimeout.
	if _, _, err := stranger.Messenger().AddContact(ctx, victim.Messenger().Self().InviteLong, "victim"); err != nil {
		t.Fatal(err)
	}
	req, err := stranger.Messenger().Send(ctx, "victim", "hello, may I?", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.EventuallyWithin(t, strangerTimeout+5*time.Second, "the stranger's request delivered", func() bool {
		return stranger.StatusOf("victim", req.ID) == parley.StatusDelivered
	})
	t.Logf("stranger's request through %v after the attack began", time.Since(attacked))

	// Stalled streams hold what they were sent, not what they announced
	// (2 MiB on dm, 4 MiB on sync): with pbio's reader the held streams
	// alone took 2 MiB + 4 MiB each.
	grew := int64(heapDuring) - int64(heapBefore)
	t.Logf("heap: %d MiB before, %d MiB with %d attackers' stalled streams", heapBefore>>20, heapDuring>>20, attackers)
	if limit := int64(64 << 20); grew > limit {
		t.Errorf("the attack took %d MiB of heap, want under %d MiB", grew>>20, limit>>20)
	}

	a.stop()
	// Forty hosts and their connections ran over a thousand goroutines
	// here; the slack is for the nodes' own coming and going (a courier,
	// a sync session).
	parleytest.Eventually(t, "the attackers' goroutines gone", func() bool {
		return runtime.NumGoroutine() <= goroutinesBefore+40
	})
	// Generous: the nodes stored a message, a request and a file since;
	// the peerstore keeps what it learnt of the attackers for a while.
	parleytest.Eventually(t, "the heap back near where it was", func() bool {
		return int64(heapInUse())-int64(heapBefore) < 16<<20
	})
	t.Logf("heap after the attack: %d MiB", heapInUse()>>20)
	// The victim learns of a closed connection when its reader sees EOF:
	// soon after the attackers stop, not at once.
	parleytest.Eventually(t, "no connection left to any attacker", func() bool {
		for _, id := range attackerIDs {
			if len(victim.Host().Network().ConnsToPeer(id)) != 0 {
				return false
			}
		}
		return true
	})
}
