package node_test

// Delivery benchmarks: Parley against the floor for a durable ack, measured
// in the same run. The receiver runs in a second process (this test binary,
// re-executed as TestBenchPeer), so the two sides do not share a scheduler or
// a garbage collector.
//
//	go test -run='^$' -bench=DM -benchtime=1x ./node/
//
// Reported metrics: p50-ms and p99-ms (send → delivered), the raw echo's
// (base-) and the durable-on-both-sides floor's (both-), and Parley's
// ratios to them; msgs/s for a burst of 10,000 and its ratio to badger's
// synced WriteBatch of the same records; cpu-µs/msg over both processes.
// PARLEY_BENCH_PEER_CPUPROFILE=file profiles the receiving process too.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node"
)

const (
	benchRoleEnv = "PARLEY_BENCH_ROLE"
	// benchPeerProfileEnv names a file for the receiving process's CPU
	// profile (go test's -cpuprofile covers the sending one only).
	benchPeerProfileEnv = "PARLEY_BENCH_PEER_CPUPROFILE"
	benchEcho           = "/parley-bench/echo/1.0.0"
	latencyRounds       = 300
	burstMessages       = 10_000
	burstSenders        = 64
	benchTextBytes      = 100
)

// TestBenchPeer is the receiving process of the benchmarks; it does nothing
// unless started by one of them.
func TestBenchPeer(t *testing.T) {
	role := os.Getenv(benchRoleEnv)
	if role == "" {
		t.Skip("runs only as the receiving process of a benchmark")
	}
	if path := os.Getenv(benchPeerProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	in := bufio.NewReader(os.Stdin)
	dir := t.TempDir()
	switch role {
	case "parley":
		n, err := node.New(context.Background(), node.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Name: "receiver", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		invite, _ := in.ReadString('\n')
		if _, _, err := n.Messenger().AddContact(context.Background(), strings.TrimSpace(invite), "sender"); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("READY %s\n", n.Messenger().Self().InviteLong)
	case "mailbox": // a node serving mailboxes (mailbox_bench_test.go), on the data dir named, or a fresh one
		line, _ := in.ReadString('\n')
		if d := strings.TrimSpace(line); d != "" {
			dir = d
		}
		n, err := node.New(context.Background(), node.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, MailboxService: true, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		fmt.Printf("READY %s/p2p/%s\n", n.Host().Addrs()[0], n.Host().ID())
	case "baseline":
		db, err := badger.Open(baselineBadgerOptions(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		h.SetStreamHandler(benchEcho, func(s network.Stream) { echoDurably(db, s) })
		fmt.Printf("READY %s/p2p/%s\n", h.Addrs()[0], h.ID())
	default:
		t.Fatalf("unknown role %q", role)
	}
	io.Copy(io.Discard, in) // run until the benchmark closes our stdin
}

// baselineBadgerOptions match the store's: encrypted, synced, small tables.
func baselineBadgerOptions(dir string) badger.Options {
	key := make([]byte, 32)
	rand.Read(key)
	return badger.DefaultOptions(dir).WithSyncWrites(true).WithEncryptionKey(key).
		WithMemTableSize(8 << 20).WithNumMemtables(2).WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).WithValueLogFileSize(32 << 20).WithLogger(nil).WithMetricsEnabled(false)
}

// echoDurably is the baseline receiver: each frame is written to badger with
// a synced commit, then its hash goes back as the ack.
func echoDurably(db *badger.DB, s network.Stream) {
	defer s.Close()
	rw := msgio.NewReadWriter(s)
	for {
		frame, err := rw.ReadMsg()
		if err != nil {
			return
		}
		id := sha256.Sum256(frame)
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(id[:], frame) }); err != nil {
			s.Reset()
			return
		}
		rw.ReleaseMsg(frame)
		if err := rw.WriteMsg(id[:]); err != nil {
			return
		}
	}
}

// peerProcess is a running TestBenchPeer.
type peerProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready string // what it printed after READY
}

func startPeer(b *testing.B, role, firstLine string) *peerProcess {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchPeer$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchRoleEnv+"="+role)
	cmd.Stderr = io.Discard
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &peerProcess{cmd: cmd, stdin: stdin}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	fmt.Fprintln(stdin, firstLine)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			p.ready = rest
			go io.Copy(io.Discard, stdout)
			return p
		}
	}
	b.Fatalf("%s peer exited before it was ready", role)
	return nil
}

// cpuTime is user+system CPU of a process (self when pid is 0).
func cpuTime(b *testing.B, pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}

// benchSender is a Parley node with the receiver as its contact.
func benchSender(b *testing.B) (*node.Node, *peerProcess, parley.Contact) {
	b.Helper()
	n, err := node.New(context.Background(), node.Config{DataDir: b.TempDir(), Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Name: "sender", Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	p := startPeer(b, "parley", n.Messenger().Self().InviteLong)
	c, _, err := n.Messenger().AddContact(context.Background(), p.ready, "receiver")
	if err != nil {
		b.Fatal(err)
	}
	return n, p, c
}

// awaitDelivered returns a function that blocks until every listed ID was
// reported delivered on events.
func deliveredWatcher(b *testing.B, events <-chan parley.Event) (expect func(parley.EnvelopeID), wait func()) {
	var mu sync.Mutex
	want := map[parley.EnvelopeID]bool{}
	done := map[parley.EnvelopeID]bool{}
	cond := sync.NewCond(&mu)
	go func() {
		for e := range events {
			if e.Type == parley.EventStatus && e.Message.Status >= parley.StatusDelivered {
				mu.Lock()
				done[e.Message.ID] = true
				cond.Broadcast()
				mu.Unlock()
			}
		}
		mu.Lock()
		done[parley.EnvelopeID{}] = true // channel closed: wake waiters
		cond.Broadcast()
		mu.Unlock()
	}()
	expect = func(id parley.EnvelopeID) { mu.Lock(); want[id] = true; mu.Unlock() }
	wait = func() {
		mu.Lock()
		defer mu.Unlock()
		for {
			all := true
			for id := range want {
				if !done[id] {
					all = false
					break
				}
			}
			if all {
				clear(want)
				return
			}
			if done[parley.EnvelopeID{}] {
				b.Fatal("event stream closed: the benchmark fell behind")
			}
			cond.Wait()
		}
	}
	return expect, wait
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkDMLatency interleaves, message by message, Parley with its two
// baselines (the same stream echo without and with the sender's own synced
// write first), so that all three meet the same load on a shared machine.
func BenchmarkDMLatency(b *testing.B) {
	text := strings.Repeat("x", benchTextBytes)
	for range b.N {
		// Baseline: raw stream, synced badger write, ack.
		bp := startPeer(b, "baseline", "")
		h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics())
		if err != nil {
			b.Fatal(err)
		}
		ai, _ := peer.AddrInfoFromString(bp.ready)
		if err := h.Connect(context.Background(), *ai); err != nil {
			b.Fatal(err)
		}
		s, err := h.NewStream(context.Background(), ai.ID, benchEcho)
		if err != nil {
			b.Fatal(err)
		}
		rw := msgio.NewReadWriter(s)
		payload := make([]byte, 330) // the size of a Parley envelope with this text
		// The same echo, with the sender first writing the payload to its own
		// store, synced: the floor for "durable on both sides", which is what
		// Parley promises (Send returns only once the message is on disk).
		local, err := badger.Open(baselineBadgerOptions(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		echo := func(bothSides bool) time.Duration {
			rand.Read(payload)
			start := time.Now()
			if bothSides {
				id := sha256.Sum256(payload)
				if err := local.Update(func(txn *badger.Txn) error { return txn.Set(id[:], payload) }); err != nil {
					b.Fatal(err)
				}
			}
			rw.WriteMsg(payload)
			if _, err := rw.ReadMsg(); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}

		// Parley: Send → the receiver's ack marks it delivered.
		n, _, _ := benchSender(b)
		ctx, cancel := context.WithCancel(context.Background())
		expect, wait := deliveredWatcher(b, n.Messenger().Subscribe(ctx))
		send := func() time.Duration {
			start := time.Now()
			m, err := n.Messenger().Send(context.Background(), "receiver", text, parley.ClientID{})
			if err != nil {
				b.Fatal(err)
			}
			expect(m.ID)
			wait()
			return time.Since(start)
		}
		var base, both, lat []time.Duration
		for i := range latencyRounds + 20 {
			tb, tf, tp := echo(false), echo(true), send()
			if i >= 20 { // warm-up: connections, keys, caches
				base, both, lat = append(base, tb), append(both, tf), append(lat, tp)
			}
		}
		cancel()
		local.Close()
		s.Close()
		h.Close()
		p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
		b50, b99 := percentile(base, 0.5), percentile(base, 0.99)
		f50, f99 := percentile(both, 0.5), percentile(both, 0.99)
		b.ReportMetric(ms(p50), "p50-ms")
		b.ReportMetric(ms(p99), "p99-ms")
		b.ReportMetric(ms(b50), "base-p50-ms")
		b.ReportMetric(ms(b99), "base-p99-ms")
		b.ReportMetric(ms(f50), "both-p50-ms")
		b.ReportMetric(ms(f99), "both-p99-ms")
		b.ReportMetric(float64(p99)/float64(b99), "p99-ratio")
		b.ReportMetric(float64(p99)/float64(f99), "p99-ratio-both")
		b.ReportMetric(float64(p50)/float64(f50), "p50-ratio-both")
	}
}

func BenchmarkDMBurst(b *testing.B) {
	text := strings.Repeat("x", benchTextBytes)
	for range b.N {
		// Baseline: badger's synced WriteBatch of the same number of records.
		db, err := badger.Open(baselineBadgerOptions(filepath.Join(b.TempDir(), "baseline")))
		if err != nil {
			b.Fatal(err)
		}
		rec := make([]byte, 330)
		start := time.Now()
		wb := db.NewWriteBatch()
		for i := range burstMessages {
			rand.Read(rec)
			key := sha256.Sum256(append(rec, byte(i)))
			if err := wb.Set(key[:], slices.Clone(rec)); err != nil {
				b.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := db.Sync(); err != nil {
			b.Fatal(err)
		}
		baseRate := burstMessages / time.Since(start).Seconds()
		db.Close()

		n, p, _ := benchSender(b)
		ctx, cancel := context.WithCancel(context.Background())
		expect, wait := deliveredWatcher(b, n.Messenger().Subscribe(ctx))
		cpu0, peer0 := cpuTime(b, 0), cpuTime(b, p.cmd.Process.Pid)
		start = time.Now()
		var wg sync.WaitGroup
		ids := make(chan parley.EnvelopeID, burstMessages)
		for w := range burstSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < burstMessages; i += burstSenders {
					m, err := n.Messenger().Send(context.Background(), "receiver", text, parley.ClientID{})
					if err != nil {
						b.Error(err)
						return
					}
					ids <- m.ID
				}
			}()
		}
		wg.Wait()
		close(ids)
		for id := range ids {
			expect(id)
		}
		wait()
		elapsed := time.Since(start)
		cpu := cpuTime(b, 0) - cpu0 + cpuTime(b, p.cmd.Process.Pid) - peer0
		cancel()
		rate := burstMessages / elapsed.Seconds()
		b.ReportMetric(rate, "msgs/s")
		b.ReportMetric(baseRate, "base-msgs/s")
		b.ReportMetric(rate/baseRate, "rate-ratio")
		b.ReportMetric(float64(cpu.Microseconds())/burstMessages, "cpu-µs/msg")
	}
}
