package main

// Start-up and idle-memory benchmarks of the real binary, next to a baseline
// process (this test binary re-executed) that starts a bare go-libp2p host
// and opens an encrypted badger store with the same settings, and nothing
// else.
//
//	go test -run='^$' -bench=Startup -benchtime=5x ./cmd/parley/

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

const baselineEnv = "PARLEY_BENCH_BASELINE"

// TestBaselineProcess is the baseline of BenchmarkStartup; it does nothing
// unless started by it.
func TestBaselineProcess(t *testing.T) {
	if os.Getenv(baselineEnv) == "" {
		t.Skip("runs only as the baseline process of a benchmark")
	}
	key := make([]byte, 32)
	rand.Read(key)
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithSyncWrites(true).WithEncryptionKey(key).
		WithMemTableSize(8 << 20).WithNumMemtables(2).WithBlockCacheSize(8 << 20).WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(32 << 20).WithLogger(nil).WithMetricsEnabled(false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
}

// rssMiB reads a process's resident set size.
func rssMiB(b *testing.B, pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

const idleSettle = 3 * time.Second // let start-up work and GC finish before reading RSS

func BenchmarkStartup(b *testing.B) {
	bin := parleytest.BuildParley(b)
	var ready, readyBase []time.Duration
	var rss, rssBase []float64
	for range b.N {
		// Parley: process start → the API answers with the node's identity.
		dir := b.TempDir()
		start := time.Now()
		cmd := exec.Command(bin, "run", "--data", dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if c, err := client.Open(dir); err == nil {
				_, err = c.Self(context.Background())
				c.Close()
				if err == nil {
					break
				}
			}
			if time.Now().After(deadline) {
				b.Fatal("API not ready")
			}
			time.Sleep(2 * time.Millisecond)
		}
		ready = append(ready, time.Since(start))
		time.Sleep(idleSettle)
		rss = append(rss, rssMiB(b, cmd.Process.Pid))
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()

		// Baseline: a bare host and store, start → READY.
		start = time.Now()
		base := exec.Command(os.Args[0], "-test.run=^TestBaselineProcess$", "-test.count=1")
		base.Env = append(os.Environ(), baselineEnv+"=1")
		stdin, _ := base.StdinPipe()
		stdout, _ := base.StdoutPipe()
		if err := base.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && sc.Text() != "READY" {
		}
		readyBase = append(readyBase, time.Since(start))
		go io.Copy(io.Discard, stdout)
		time.Sleep(idleSettle)
		rssBase = append(rssBase, rssMiB(b, base.Process.Pid))
		stdin.Close()
		base.Wait()
	}
	med := func(ds []time.Duration) time.Duration { s := slices.Clone(ds); slices.Sort(s); return s[len(s)/2] }
	medf := func(fs []float64) float64 { s := slices.Clone(fs); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(float64(med(ready).Milliseconds()), "ready-ms")
	b.ReportMetric(float64(med(readyBase).Milliseconds()), "base-ready-ms")
	b.ReportMetric(medf(rss), "rss-MiB")
	b.ReportMetric(medf(rssBase), "base-rss-MiB")
	b.ReportMetric(medf(rss)/medf(rssBase), "rss-ratio")
}
