package node_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// scaleMembers is the group size of BenchmarkGroupScale: 200, or
// PARLEY_SCALE_MEMBERS.
func scaleMembers(b *testing.B) int {
	if s := os.Getenv("PARLEY_SCALE_MEMBERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			b.Fatalf("PARLEY_SCALE_MEMBERS=%q: want a number >= 10", s)
		}
		return n
	}
	return 200
}

// scaleSeen counts, per message number, the members holding it.
type scaleSeen struct {
	mu    sync.Mutex
	have  map[int]int       // guarded by mu
	first map[int]time.Time // guarded by mu: when the last member got it
	done  chan int          // a message number, once every member has it
	want  int
	wg    sync.WaitGroup
}

func (s *scaleSeen) watch(ctx context.Context, n *parleytest.Node, g parley.ConversationID) {
	events := n.Messenger().Subscribe(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for e := range events {
			if e.Type != parley.EventMessage || e.Message.Conversation != g {
				continue
			}
			k, err := strconv.Atoi(strings.TrimPrefix(e.Message.Text, "scale "))
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.have[k]++
			if s.have[k] == s.want {
				s.first[k] = time.Now()
				s.done <- k
			}
			s.mu.Unlock()
		}
	}()
}

// scaleReceiptDelay is the members' ReceiptDelay: the default, or
// PARLEY_SCALE_RECEIPT_DELAY (e.g. 1h: no receipts during the run, to
// measure the messages alone).
func scaleReceiptDelay(b *testing.B) time.Duration {
	if s := os.Getenv("PARLEY_SCALE_RECEIPT_DELAY"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	return node.DefaultReceiptDelay
}

// BenchmarkGroupScale measures one group of 200 members (real nodes in
// this process, loopback TCP, each with its own synced store, default
// intervals and GroupPeers): connections per member, time to the last
// member, CPU, bytes on the wire and memory per message and member.
// The DHT is three nodes outside the group, as the world would be.
//
//	go test -run='^$' -bench=GroupScale -benchtime=1x -timeout=60m ./node/
func BenchmarkGroupScale(b *testing.B) {
	size := scaleMembers(b)
	const subs, rounds = 10, 40
	delay := scaleReceiptDelay(b)
	for b.Loop() {
		var world []string
		for i := range 3 {
			w := parleytest.StartNode(b, fmt.Sprintf("dht%d", i), parleytest.Listen("/ip4/127.0.0.1/tcp/0"), parleytest.DefaultIntervals(), parleytest.Quiet())
			for _, a := range w.Host().Addrs() {
				world = append(world, a.String()+"/p2p/"+w.PeerID())
			}
		}
		bw := metrics.NewBandwidthCounter()
		setupStart := time.Now()
		nodes := make([]*parleytest.Node, size)
		for i := range nodes {
			nodes[i] = parleytest.StartNode(b, fmt.Sprintf("m%03d", i), parleytest.Listen("/ip4/127.0.0.1/tcp/0"),
				parleytest.DefaultIntervals(), parleytest.Quiet(), parleytest.DHTClient(), parleytest.Bootstrap(world...),
				parleytest.Bandwidth(bw), func(c *node.Config) { c.ReceiptDelay = delay })
		}
		g := scaleGroup(b, nodes, subs)
		b.Logf("members=%d: set up in %v", size, time.Since(setupStart).Round(time.Second))

		ctx, cancel := context.WithCancel(context.Background())
		seen := &scaleSeen{have: map[int]int{}, first: map[int]time.Time{}, done: make(chan int, rounds+10), want: size}
		for _, n := range nodes {
			seen.watch(ctx, n, g)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		send := func(k int) time.Duration {
			start := time.Now()
			n := nodes[rng.IntN(size)]
			if _, err := n.Messenger().SendToGroup(context.Background(), g.String(), fmt.Sprintf("scale %d", k), parley.ClientID{}); err != nil {
				b.Fatal(err)
			}
			select {
			case <-seen.done:
			case <-time.After(2 * time.Minute):
				seen.mu.Lock()
				have := seen.have[k]
				seen.mu.Unlock()
				b.Fatalf("message %d: %d of %d members have it after 2 min", k, have, size)
			}
			return time.Since(start)
		}
		for k := range 5 { // warm-up: GossipSub meshes form in a few heartbeats
			send(-1 - k)
		}
		runtime.GC()
		var ms0 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		rss0 := procStatus(b, os.Getpid(), "VmRSS")
		bytes0 := bw.GetBandwidthTotals().TotalOut
		cpu0, wall0 := cpuTime(b, 0), time.Now()
		var lat []time.Duration
		for k := range rounds {
			lat = append(lat, send(k))
		}
		cpu, wall := cpuTime(b, 0)-cpu0, time.Since(wall0)
		bytesOut := bw.GetBandwidthTotals().TotalOut - bytes0

		var conns, maxConns, totalConns int
		for _, n := range nodes {
			c := memberConns(b, n, nodes)
			conns += c
			maxConns = max(maxConns, c)
			totalConns += len(n.Host().Network().Peers())
		}
		cancel()
		seen.wg.Wait()
		runtime.GC()
		var mem runtime.MemStats
		runtime.ReadMemStats(&mem)
		rss := procStatus(b, os.Getpid(), "VmRSS")

		b.ReportMetric(float64(size), "members")
		b.ReportMetric(delay.Seconds(), "receipt-delay-s")
		b.ReportMetric(float64(conns)/float64(size), "member-conns/member")
		b.ReportMetric(float64(maxConns), "max-member-conns")
		b.ReportMetric(float64(totalConns)/float64(size), "conns/member")
		b.ReportMetric(ms(percentile(lat, 0.5)), "p50-ms")
		b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
		b.ReportMetric(float64(cpu)/float64(time.Millisecond)/rounds, "cpu-ms/msg")
		b.ReportMetric(float64(cpu)/float64(time.Microsecond)/rounds/float64(size), "cpu-µs/msg/member")
		b.ReportMetric(float64(cpu)/float64(wall), "cores")
		b.ReportMetric(float64(bytesOut)/rounds/float64(size), "bytes-out/msg/member")
		b.ReportMetric(float64(mem.HeapInuse)/float64(size)/(1<<20), "heap-MiB/member")
		b.ReportMetric(float64(rss)/1024/float64(size), "rss-MiB/member")
		b.Logf("members=%d: heap %d→%d MiB, RSS %d→%d MiB during the measured rounds; %d bytes sent", size,
			ms0.HeapInuse>>20, mem.HeapInuse>>20, rss0>>10, rss>>10, bytesOut)
	}
}

// BenchmarkIdleHundredGroups is one `parley run` process in 100 groups
// (each with the same three in-process members), idle: its RSS, and its
// CPU over a minute (two group-sync rounds), against the same process
// idle before it joined any group.
//
//	go test -run='^$' -bench=IdleHundredGroups -benchtime=1x ./node/
func BenchmarkIdleHundredGroups(b *testing.B) {
	const groups, members, idle = 100, 3, time.Minute
	bin := filepath.Join(b.TempDir(), "parley")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/parley-im/parley/cmd/parley").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for b.Loop() {
		hub := startHub(b, bin)
		ms := make([]*parleytest.Node, members)
		for i := range ms {
			ms[i] = parleytest.StartNode(b, fmt.Sprintf("member%d", i), parleytest.Listen("/ip4/127.0.0.1/tcp/0"), parleytest.DefaultIntervals(), parleytest.Quiet())
			if _, _, err := ms[i].Messenger().AddContact(context.Background(), hub.invite, "hub"); err != nil {
				b.Fatal(err)
			}
			hub.cli("contact", "add", ms[i].Messenger().Self().InviteLong, "--name", ms[i].Name)
		}
		rss0, cpu0 := hub.idle(idle)
		for k := range groups {
			name := fmt.Sprintf("g%03d", k)
			hub.cli("group", "create", name)
			for _, m := range ms {
				hub.cli("group", "invite", name, m.Name)
			}
		}
		for _, m := range ms {
			parleytest.EventuallyWithin(b, 5*time.Minute, m.Name+" seeing every invite", func() bool {
				inv, err := m.Messenger().GroupInvites(context.Background())
				return err == nil && len(inv) == groups
			})
			inv, _ := m.Messenger().GroupInvites(context.Background())
			for _, g := range inv {
				if _, err := m.Messenger().AcceptGroup(context.Background(), g.ID.String()); err != nil {
					b.Fatal(err)
				}
			}
		}
		// Settle: the accepts' ops and first syncs.
		time.Sleep(10 * time.Second)
		rss, cpu := hub.idle(idle)
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(100*cpu, "cpu-%core")
		b.ReportMetric(float64(rss0)/1024, "base-rss-MiB")
		b.ReportMetric(100*cpu0, "base-cpu-%core")
		hub.stop()
	}
}

// hub is a `parley run` process driven through its CLI.
type hub struct {
	b      *testing.B
	bin    string
	dir    string
	cmd    *exec.Cmd
	invite string
}

func startHub(b *testing.B, bin string) *hub {
	b.Helper()
	h := &hub{b: b, bin: bin, dir: b.TempDir()}
	h.cmd = exec.Command(bin, "run", "--data", h.dir, "--no-mdns", "--name", "hub", "--listen", "/ip4/127.0.0.1/tcp/0")
	out := &parleytest.SyncBuffer{}
	h.cmd.Stdout, h.cmd.Stderr = out, out
	if err := h.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.stop)
	parleytest.EventuallyWithin(b, time.Minute, "the hub serving its API", func() bool { return strings.Contains(out.String(), "Peer ID: ") })
	h.invite = strings.TrimSpace(h.cli("invite", "--long"))
	return h
}

func (h *hub) cli(args ...string) string {
	h.b.Helper()
	cmd := exec.Command(h.bin, append([]string{"--data", h.dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.b.Fatalf("parley %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// idle waits d and returns the hub's RSS (KiB) at the end and its CPU
// over d, as a share of one core.
func (h *hub) idle(d time.Duration) (rssKiB int64, cores float64) {
	pid := h.cmd.Process.Pid
	cpu0 := cpuTime(h.b, pid)
	time.Sleep(d)
	return procStatus(h.b, pid, "VmRSS"), float64(cpuTime(h.b, pid)-cpu0) / float64(d)
}

func (h *hub) stop() {
	if h.cmd == nil || h.cmd.Process == nil || h.cmd.ProcessState != nil {
		return
	}
	h.cmd.Process.Signal(os.Interrupt)
	h.cmd.Wait()
}
