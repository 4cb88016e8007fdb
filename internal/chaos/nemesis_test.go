package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/netns"
)

// nemesis breaks the cluster at random, from a seed: it kills nodes with
// SIGKILL and restarts them after a pause, cuts the network into two
// partitions and heals it, makes a node's link worse for a while, and
// (with a small disk) fills that disk and empties it again. It runs on the
// test goroutine: starting a node may fail the test.
type nemesis struct {
	c    *cluster
	h    *history
	rng  *rand.Rand
	calm netns.Impairment
	// gap is the mean time between faults; hold the mean time a fault
	// lasts.
	gap, hold time.Duration
	maxDown   int
	fullDisk  bool
	logf      func(format string, args ...any)

	down      map[int]time.Time // node → when it restarts
	impaired  map[int]time.Time // node → when its link calms down
	healAt    time.Time         // zero: no partition
	emptyAt   time.Time         // zero: the small disk is not filled
	ballast   string
	nextFault time.Time

	kills, partitions, impairs, fills, crashes int
}

func (n *nemesis) random(mean time.Duration) time.Duration {
	return mean/2 + time.Duration(n.rng.Int64N(int64(mean)))
}

// run breaks things until end, then heals everything.
func (n *nemesis) run(end time.Time) {
	n.down, n.impaired = make(map[int]time.Time), make(map[int]time.Time)
	n.nextFault = time.Now().Add(n.random(n.gap))
	for time.Now().Before(end) {
		now := time.Now()
		n.checkCrashes()
		for i, at := range n.down {
			if now.After(at) {
				n.restart(i)
			}
		}
		for i, at := range n.impaired {
			if now.After(at) {
				n.c.sw.Impair(i, n.calm)
				delete(n.impaired, i)
				n.logf("link %s calm again", n.c.nodes[i].name)
			}
		}
		if !n.healAt.IsZero() && now.After(n.healAt) {
			n.heal()
		}
		if !n.emptyAt.IsZero() && now.After(n.emptyAt) {
			n.empty()
		}
		if now.After(n.nextFault) {
			n.fault()
			n.nextFault = time.Now().Add(n.random(n.gap))
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.healAll()
}

// healAll ends every fault: the network whole, every link calm, the disk
// emptied, every node running.
func (n *nemesis) healAll() {
	if !n.healAt.IsZero() {
		n.heal()
	}
	for i := range n.impaired {
		n.c.sw.Impair(i, n.calm)
	}
	n.impaired = nil
	if !n.emptyAt.IsZero() {
		n.empty()
	}
	n.checkCrashes()
	for i := range n.down {
		n.restart(i)
	}
	n.logf("all healed")
}

func (n *nemesis) fault() {
	switch r := n.rng.IntN(100); {
	case n.fullDisk && n.emptyAt.IsZero() && r < 25:
		n.fill()
	case r < 45 && len(n.down) < n.maxDown:
		n.kill()
	case r < 75 && n.healAt.IsZero():
		n.partition()
	default:
		n.impair()
	}
}

func (n *nemesis) kill() {
	var up []int
	for i := range n.c.nodes {
		if _, ok := n.down[i]; !ok {
			up = append(up, i)
		}
	}
	i := up[n.rng.IntN(len(up))]
	n.c.nodes[i].proc.Kill9()
	n.down[i] = time.Now().Add(n.random(n.hold / 2))
	n.kills++
	n.logf("kill -9 %s", n.c.nodes[i].name)
}

func (n *nemesis) restart(i int) {
	if i == n.c.smallDisk && !n.emptyAt.IsZero() {
		n.down[i] = n.emptyAt.Add(time.Second) // on a full disk it could not start
		return
	}
	n.c.nodes[i].proc.Start()
	delete(n.down, i)
	n.h.event("restart", time.Now())
	n.logf("restarted %s", n.c.nodes[i].name)
}

// checkCrashes restarts a node that exited on its own: a finding.
func (n *nemesis) checkCrashes() {
	for i, nd := range n.c.nodes {
		if _, ok := n.down[i]; ok || !nd.proc.Crashed() {
			continue
		}
		out := crashReport(nd.proc.Output())
		n.crashes++
		n.h.finding("crash: %s exited on its own:\n%s", nd.name, out)
		n.logf("%s CRASHED:\n%s", nd.name, out)
		nd.proc.Kill9() // reap it
		// With the disk still full it would crash again at once.
		if n.emptyAt.IsZero() || i != n.c.smallDisk {
			n.down[i] = time.Now().Add(time.Second)
		} else {
			n.down[i] = n.emptyAt.Add(time.Second)
		}
	}
}

// crashReport is the part of a crashed node's output that says why: from
// its last panic or fatal error (not the goroutine dump after it), or else
// its last lines.
func crashReport(out string) string {
	i := max(strings.LastIndex(out, "panic: "), strings.LastIndex(out, "fatal error: "), strings.LastIndex(out, "level=ERROR"))
	if i < 0 {
		i = max(0, len(out)-1500)
	}
	return out[i:min(len(out), i+1500)]
}

func (n *nemesis) partition() {
	perm := n.rng.Perm(len(n.c.nodes))
	side := perm[:1+n.rng.IntN(len(perm)/2)]
	slices.Sort(side)
	n.c.sw.Partition(side)
	n.healAt = time.Now().Add(n.random(n.hold))
	n.partitions++
	var names []string
	for _, i := range side {
		names = append(names, n.c.nodes[i].name)
	}
	n.logf("partition: {%s} | the rest", strings.Join(names, " "))
}

func (n *nemesis) heal() {
	n.c.sw.Heal()
	n.healAt = time.Time{}
	n.h.event("heal", time.Now())
	n.logf("partition healed")
}

// rough are the impairments a link gets for a while, on top of none.
var rough = []netns.Impairment{
	{Delay: 80 * time.Millisecond, Jitter: 60 * time.Millisecond, Reorder: 0.25},
	{Loss: 0.15},
	{Duplicate: 0.2, Delay: 10 * time.Millisecond, Jitter: 10 * time.Millisecond},
	{Delay: 150 * time.Millisecond, Jitter: 100 * time.Millisecond, Loss: 0.05, Duplicate: 0.05, Reorder: 0.1},
	{Loss: 0.5},
}

func (n *nemesis) impair() {
	i := n.rng.IntN(len(n.c.nodes))
	im := rough[n.rng.IntN(len(rough))]
	n.c.sw.Impair(i, im)
	n.impaired[i] = time.Now().Add(n.random(n.hold))
	n.impairs++
	n.logf("link %s: %s", n.c.nodes[i].name, im)
}

// fill writes a ballast file on the small disk until it is full.
func (n *nemesis) fill() {
	n.ballast = filepath.Join(n.c.diskDir, "ballast")
	f, err := os.Create(n.ballast)
	if err != nil {
		n.logf("fill: %v", err)
		return
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC: full
		}
	}
	// The last bytes, below a chunk.
	small := make([]byte, 4096)
	for {
		if _, err := f.Write(small); err != nil {
			break
		}
	}
	f.Close()
	n.emptyAt = time.Now().Add(n.random(n.hold))
	n.fills++
	n.logf("disk of %s full", n.c.nodes[n.c.smallDisk].name)
}

func (n *nemesis) empty() {
	os.Remove(n.ballast)
	n.emptyAt = time.Time{}
	n.h.event("disk emptied", time.Now())
	n.logf("disk of %s emptied", n.c.nodes[n.c.smallDisk].name)
}

func (n *nemesis) String() string {
	return fmt.Sprintf("%d kill -9/restart cycles, %d partitions, %d link impairments, %d disk fills, %d crashes",
		n.kills, n.partitions, n.impairs, n.fills, n.crashes)
}
