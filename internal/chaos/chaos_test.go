package chaos

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/netns"
	"github.com/parley-im/parley/internal/parleytest"
)

var (
	flagDuration = flag.Duration("chaos.duration", 0, "run TestChaos and TestChaosFullDisk with this long a chaos phase (0: skip them)")
	flagNodes    = flag.Int("chaos.nodes", 10, "nodes in TestChaos and TestChaosFullDisk")
	flagSeed     = flag.Uint64("chaos.seed", 0, "seed of the random choices (0: from the clock, printed)")
	flagReport   = flag.String("chaos.report", "", "write the figures into this file, between the test's markers (docs/reliability.md)")
)

// config is one chaos run.
type config struct {
	nodes    int
	chaosFor time.Duration
	seed     uint64
	workers  int
	pace     time.Duration // between one worker's sends
	gap      time.Duration // mean time between faults
	hold     time.Duration // mean time a fault lasts
	maxDown  int
	fullDisk bool
	converge time.Duration // deadline for convergence after the heal
}

// calm is every link's weather when the nemesis leaves it alone.
var calm = netns.Impairment{Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond, Loss: 0.01, Duplicate: 0.01, Reorder: 0.05}

// TestChaosShort is the chaos harness in a form short enough for CI:
// six nodes, 45 seconds of faults.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes in network namespaces")
	}
	runChaos(t, config{nodes: 6, chaosFor: 45 * time.Second, seed: *flagSeed, workers: 2, pace: 300 * time.Millisecond,
		gap: 3 * time.Second, hold: 6 * time.Second, maxDown: 2, converge: 3 * time.Minute})
}

// TestChaos is the long form, for docs/reliability.md:
//
//	go test ./internal/chaos -run 'TestChaos$' -v -timeout 30m -chaos.duration=5m -chaos.nodes=10 -chaos.report=../../docs/reliability.md
func TestChaos(t *testing.T) {
	if *flagDuration <= 0 {
		t.Skip("the long form: set -chaos.duration (docs/reliability.md)")
	}
	runChaos(t, config{nodes: *flagNodes, chaosFor: *flagDuration, seed: *flagSeed, workers: 3, pace: 300 * time.Millisecond,
		gap: 4 * time.Second, hold: 10 * time.Second, maxDown: 3, converge: 5 * time.Minute})
}

// TestChaosFullDisk is the long form with one node's data on a small
// tmpfs that the nemesis fills and empties.
func TestChaosFullDisk(t *testing.T) {
	if *flagDuration <= 0 {
		t.Skip("the full-disk variant: set -chaos.duration (docs/reliability.md)")
	}
	runChaos(t, config{nodes: *flagNodes, chaosFor: *flagDuration, seed: *flagSeed, workers: 3, pace: 300 * time.Millisecond,
		gap: 4 * time.Second, hold: 10 * time.Second, maxDown: 3, fullDisk: true, converge: 5 * time.Minute})
}

func runChaos(t *testing.T, cfg config) {
	netns.Require(t)
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos seed %d (-chaos.seed=%d reproduces the faults and the workload)", cfg.seed, cfg.seed)
	parleytest.BuildParley(t)
	smallDisk := -1
	if cfg.fullDisk {
		smallDisk = cfg.nodes - 1
	}
	c := newCluster(t, cfg.nodes, cfg.seed, smallDisk, 128, calm)
	ctx := t.Context()
	c.befriend(ctx)
	t.Logf("%d nodes up, contacts and group set up", cfg.nodes)

	h := newHistory()
	w := &workload{c: c, h: h, tag: fmt.Sprintf("c%x", cfg.seed%0xffffff), fileDir: t.TempDir(), pace: cfg.pace, retryFor: 20 * time.Second}
	n := &nemesis{c: c, h: h, rng: newRand(cfg.seed, 0xc4a05), calm: calm, gap: cfg.gap, hold: cfg.hold, maxDown: cfg.maxDown,
		fullDisk: cfg.fullDisk, logf: func(format string, args ...any) { t.Logf("nemesis: "+format, args...) }}

	runCtx, stop := context.WithCancel(ctx)
	watchCtx, stopWatch := context.WithCancel(ctx)
	loadDone, watchDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(loadDone); w.run(runCtx, cfg.workers, cfg.seed) }()
	go func() { defer close(watchDone); h.watch(watchCtx, c, 500*time.Millisecond) }()
	defer func() { stop(); stopWatch(); <-loadDone; <-watchDone }()

	start := time.Now()
	n.run(start.Add(cfg.chaosFor))
	stop()
	<-loadDone
	healed := time.Now()
	resolved := w.resolveAll(ctx)
	// The checker records what it lists, as the recorder does: one at a
	// time, or an older listing recorded after a newer one would look
	// like a status going backwards.
	stopWatch()
	<-watchDone
	v, _, err := converge(ctx, c, h, cfg.converge)
	if err != nil {
		t.Fatal(err)
	}
	f := gather(c, h, v)
	f.seed, f.nodes, f.chaosFor, f.nemesis, f.fullDisk = cfg.seed, cfg.nodes, healed.Sub(start), n.String(), cfg.fullDisk
	f.converge, f.converged, f.resolvedAfterHeal = time.Since(healed), v.converged(), resolved
	report := f.markdown()
	t.Logf("figures:\n%s", report)
	if *flagReport != "" && t.Name() != "TestChaosShort" {
		if err := writeReport(*flagReport, t.Name(), report); err != nil {
			t.Error(err)
		}
	}
	for what, xs := range map[string][]string{"lost (not held by every recipient)": v.pending, "files wrong": v.files,
		"duplicated": v.duplicated, "invented": v.invented, "findings during the run": f.findings} {
		if len(xs) > 0 {
			t.Errorf("seed %d: %d %s:\n%s", cfg.seed, len(xs), what, firstFew(xs, 15))
		}
	}
	if total := f.accepted[dm] + f.accepted[groupMsg] + f.accepted[file]; total < 20 {
		t.Errorf("only %d sends accepted: the workload hardly ran", total)
	}
}
