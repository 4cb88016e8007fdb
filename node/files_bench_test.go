package node_test

// File-transfer throughput: a 1 GiB file between two nodes in this process,
// on TCP and on QUIC, next to a raw go-libp2p stream copy of 1 GiB on the
// same transport, measured in the same run.
//
//	go test -run='^$' -bench=FileTransfer -benchtime=1x ./node/
//
// Metrics: MB/s for Parley and for the raw stream, their ratio, the peak
// Go heap during the transfer above what it was before (both nodes share
// the process), and CPU seconds per GiB (both sides).

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

const benchFileSize = 1 << 30

func BenchmarkFileTransfer(b *testing.B) {
	for _, tr := range []struct{ name, addr string }{
		{"tcp", "/ip4/127.0.0.1/tcp/0"},
		{"quic", "/ip4/127.0.0.1/udp/0/quic-v1"},
	} {
		b.Run(tr.name, func(b *testing.B) {
			src := filepath.Join(b.TempDir(), "big.bin")
			writeRandomFile(b, src, benchFileSize)
			for b.Loop() {
				cpu0 := processCPU()
				raw := rawStreamCopy(b, tr.addr, node.SecurityOptions())
				rawCPU := processCPU() - cpu0
				hashing, parleyTime, heap, cpu := parleyTransfer(b, tr.addr, src)
				mbs := func(d time.Duration) float64 { return benchFileSize / d.Seconds() / 1e6 }
				b.ReportMetric(mbs(parleyTime), "MB/s")
				b.ReportMetric(mbs(parleyTime-hashing), "transfer-MB/s")
				b.ReportMetric(mbs(raw), "raw-MB/s")
				b.ReportMetric(raw.Seconds()/parleyTime.Seconds(), "ratio")
				b.ReportMetric(raw.Seconds()/(parleyTime-hashing).Seconds(), "transfer-ratio")
				b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(cpu.Seconds()/(benchFileSize/(1<<30)), "cpu-s/GiB")
				b.ReportMetric(rawCPU.Seconds()/(benchFileSize/(1<<30)), "raw-cpu-s/GiB")
			}
		})
	}
}

// writeRandomFile writes size bytes of a repeated random megabyte.
func writeRandomFile(b *testing.B, path string, size int64) {
	b.Helper()
	block := make([]byte, 1<<20)
	rand.Read(block)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for written := int64(0); written < size; written += int64(len(block)) {
		// A different first byte per block, so chunks differ.
		block[0]++
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	// On disk before the clock starts: its writeback must not compete
	// with the transfer's.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// rawStreamCopy times one go-libp2p stream carrying benchFileSize bytes
// between two fresh hosts on addr's transport, with go-libp2p's defaults
// changed by opts.
func rawStreamCopy(b *testing.B, addr string, opts ...libp2p.Option) time.Duration {
	b.Helper()
	opts = append([]libp2p.Option{libp2p.ListenAddrStrings(addr), libp2p.DisableMetrics()}, opts...)
	a, err := libp2p.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	z, err := libp2p.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	done := make(chan int64, 1)
	z.SetStreamHandler("/bench/raw", func(s network.Stream) {
		n, _ := io.Copy(io.Discard, s)
		s.Close()
		done <- n
	})
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: z.ID(), Addrs: z.Addrs()}); err != nil {
		b.Fatal(err)
	}
	s, err := a.NewStream(context.Background(), z.ID(), "/bench/raw")
	if err != nil {
		b.Fatal(err)
	}
	block := make([]byte, 1<<20)
	rand.Read(block)
	start := time.Now()
	for sent := 0; sent < benchFileSize; sent += len(block) {
		if _, err := s.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	s.CloseWrite()
	if n := <-done; n != benchFileSize {
		b.Fatalf("raw copy carried %d bytes", n)
	}
	return time.Since(start)
}

// parleyTransfer times a file offer, accepted at once, until the
// recipient holds the verified file, and the part of that spent hashing
// the file before offering it; it also returns the peak heap growth and
// the process's CPU time over the transfer.
func parleyTransfer(b *testing.B, addr, path string) (hashing, total time.Duration, heap uint64, cpu time.Duration) {
	b.Helper()
	alice, bob := startBench(b, "alice", addr), startBench(b, "bob", addr)
	parleytest.Befriend(b, alice, bob)
	ctx := context.Background()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	peak := watchHeap()
	start := time.Now()
	sent, err := alice.Messenger().SendFile(ctx, "bob", path)
	if err != nil {
		b.Fatal(err)
	}
	hashing = time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		f, err := bob.Messenger().File(ctx, sent.ID)
		if err == nil && f.State == parley.FileOffered {
			if _, err := bob.Messenger().AcceptFile(ctx, sent.ID); err != nil {
				b.Fatal(err)
			}
		}
		if err == nil && f.State == parley.FileComplete {
			break
		}
		if err == nil && f.State == parley.FileFailed || time.Now().After(deadline) {
			b.Fatalf("transfer did not finish: %+v, %v", f, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	total = time.Since(start)
	cpu = processCPU() - cpu0
	top := peak()
	alice.Stop()
	bob.Stop()
	if top > before.HeapInuse {
		heap = top - before.HeapInuse
	}
	return hashing, total, heap, cpu
}

// startBench starts a node for a benchmark on addr's transport, with the
// node's own delivery and reconnect timings.
func startBench(b *testing.B, name, addr string) *parleytest.Node {
	b.Helper()
	return parleytest.StartNode(b, name, parleytest.Listen(addr), parleytest.Quiet(), parleytest.DefaultIntervals(),
		func(c *node.Config) { c.RetryMin, c.RetryMax = 0, 0 })
}

// watchHeap samples the heap until the returned function is called, which
// returns the highest HeapInuse seen.
func watchHeap() func() uint64 {
	var (
		mu   sync.Mutex
		top  uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			mu.Lock()
			top = max(top, m.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return top
	}
}

// processCPU is the CPU time this process has used (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
