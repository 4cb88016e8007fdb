package node_test

// Mailbox benchmarks (issue 13). The mailbox is a node in a second process
// (TestBenchPeer, role "mailbox"); depositors and the owner are go-libp2p
// hosts in this one, speaking node/mailbox's client as a node does.
//
//	go test -run='^$' -bench=Mailbox -benchtime=1x -count=5 ./node/
//
// BenchmarkMailboxLatency: deposit → fetched by the owner, p50 and p99,
// against direct-message latency (BenchmarkDMLatency's send → delivered)
// measured in the same run. BenchmarkMailboxCapacity: one mailbox holding
// 100,000 envelopes for 1,000 owners: its process's RSS, its data dir on
// disk, and the time one owner takes to fetch (and acknowledge) its 1,000.

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/node/mailbox"
	"github.com/parley-im/parley/storage"
)

// mailboxEnvelopeBytes is about a sealed 100-byte DM with its key's
// encapsulation left out: what most deposits carry.
const mailboxEnvelopeBytes = 330

// benchOwner is a mailbox owner: an identity key, and a host on it that
// it replaces to start a new connection.
type benchOwner struct {
	key   crypto.PrivKey
	owner mailbox.OwnerID
	host  host.Host
	c     *mailbox.Client
}

func newBenchOwner(b *testing.B) *benchOwner {
	b.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	o := &benchOwner{key: sk}
	if o.owner, err = mailbox.OwnerOf(sk.GetPublic()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(o.close)
	return o
}

// connect opens a new connection to the mailbox, authenticated. A
// mailbox answers 50 requests on a connection at once, then 10 a second:
// an owner takes a few to fetch its mail, a benchmark's thousand would be
// refused, so the benchmark reconnects every few rounds.
func (o *benchOwner) connect(b *testing.B, mb peer.AddrInfo) {
	b.Helper()
	o.dial(b, mb)
	if err := o.c.Authenticate(context.Background(), o.key); err != nil {
		b.Fatal(err)
	}
}

// dial opens a new connection to the mailbox.
func (o *benchOwner) dial(b *testing.B, mb peer.AddrInfo) {
	b.Helper()
	o.close()
	h, err := libp2p.New(libp2p.Identity(o.key), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		b.Fatal(err)
	}
	o.host = h
	if o.c, err = mailbox.Dial(context.Background(), h, mb); err != nil {
		b.Fatal(err)
	}
}

func (o *benchOwner) close() {
	if o.c != nil {
		o.c.Close()
		o.c = nil
	}
	if o.host != nil {
		o.host.Close()
		o.host = nil
	}
}

// startMailbox runs a mailbox node in a second process, on dir ("" for a
// fresh one).
func startMailbox(b *testing.B, dir string) (*peerProcess, peer.AddrInfo) {
	b.Helper()
	p := startPeer(b, "mailbox", dir)
	ai, err := peer.AddrInfoFromString(p.ready)
	if err != nil {
		b.Fatal(err)
	}
	return p, *ai
}

func BenchmarkMailboxLatency(b *testing.B) {
	text := strings.Repeat("x", benchTextBytes)
	ctx := context.Background()
	for range b.N {
		// Direct messages, as BenchmarkDMLatency measures them.
		n, _, _ := benchSender(b)
		sub, cancel := context.WithCancel(ctx)
		expect, wait := deliveredWatcher(b, n.Messenger().Subscribe(sub))
		var dm []time.Duration
		for i := range latencyRounds + 20 {
			start := time.Now()
			m, err := n.Messenger().Send(ctx, "receiver", text, parley.ClientID{})
			if err != nil {
				b.Fatal(err)
			}
			expect(m.ID)
			wait()
			if i >= 20 {
				dm = append(dm, time.Since(start))
			}
		}
		cancel()

		// Through a mailbox: a deposit from a one-time identity, as a
		// sender makes it, then the owner's fetch and ack on its open
		// connection, as its node makes them once told of new mail.
		_, mb := startMailbox(b, "")
		o := newBenchOwner(b)
		o.dial(b, mb)
		depositKey, err := mailbox.DeriveDepositKey(o.key, mb.ID, 0)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		if _, err := o.c.Register(ctx, o.key, mailbox.Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour), DepositKey: depositKey}); err != nil {
			b.Fatal(err)
		}
		capa := mailbox.IssueCapability(depositKey, o.owner)
		var deposited, fetched, acked []time.Duration
		var cursor []byte
		env := make([]byte, mailboxEnvelopeBytes)
		for i := range latencyRounds + 20 {
			if i%20 == 0 {
				o.connect(b, mb)
			}
			rand.Read(env)
			start := time.Now()
			if err := mailbox.DepositOnce(ctx, mb, o.owner, &capa, env); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			page, err := o.c.Fetch(ctx, cursor, 0)
			if err != nil {
				b.Fatal(err)
			}
			f := time.Since(start)
			if len(page.Mail) != 1 || page.Mail[0].ID != parley.NewEnvelopeID(env) {
				b.Fatalf("fetched %d envelopes, want the one deposited", len(page.Mail))
			}
			cursor = page.Next
			if _, err := o.c.Ack(ctx, []parley.EnvelopeID{page.Mail[0].ID}); err != nil {
				b.Fatal(err)
			}
			if i >= 20 {
				deposited, fetched, acked = append(deposited, d), append(fetched, f), append(acked, time.Since(start))
			}
		}
		b.ReportMetric(ms(percentile(dm, 0.5)), "dm-p50-ms")
		b.ReportMetric(ms(percentile(dm, 0.99)), "dm-p99-ms")
		b.ReportMetric(ms(percentile(deposited, 0.5)), "deposit-p50-ms")
		b.ReportMetric(ms(percentile(deposited, 0.99)), "deposit-p99-ms")
		b.ReportMetric(ms(percentile(fetched, 0.5)), "fetched-p50-ms")
		b.ReportMetric(ms(percentile(fetched, 0.99)), "fetched-p99-ms")
		b.ReportMetric(ms(percentile(acked, 0.5)), "acked-p50-ms")
		b.ReportMetric(ms(percentile(acked, 0.99)), "acked-p99-ms")
		b.ReportMetric(float64(percentile(fetched, 0.5))/float64(percentile(dm, 0.5)), "p50-ratio")
		b.ReportMetric(float64(percentile(fetched, 0.99))/float64(percentile(dm, 0.99)), "p99-ratio")
	}
}

const (
	capacityOwners    = 1000
	capacityPerOwner  = 100
	capacityFetchMail = 1000 // the one owner fetched has this many
	capacityFillers   = 64   // concurrent deposits while filling: the store commits them together
)

// fillMailbox writes, through the mailbox node's own store and keys, what
// a year of deposits would: capacityOwners registered owners, each with
// capacityPerOwner envelopes, except the first, which gets
// capacityFetchMail in all. It returns the first owner.
func fillMailbox(b *testing.B, dir string, mbID peer.ID) *benchOwner {
	b.Helper()
	id, _, err := identity.LoadOrCreate(dir, identity.KeystoreOptions{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	store, err := storage.Open(storage.Options{Dir: filepath.Join(dir, "db"), EncryptionKey: id.StoreKey, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	first := newBenchOwner(b)
	owners := make([]mailbox.OwnerID, capacityOwners)
	now := time.Now()
	for i := range owners {
		key := first.key
		if i > 0 {
			if key, _, err = crypto.GenerateEd25519Key(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
		pub, err := crypto.MarshalPublicKey(key.GetPublic())
		if err != nil {
			b.Fatal(err)
		}
		if owners[i], err = mailbox.OwnerOf(key.GetPublic()); err != nil {
			b.Fatal(err)
		}
		dk, err := mailbox.DeriveDepositKey(key, mbID, 0)
		if err != nil {
			b.Fatal(err)
		}
		a := storage.MailboxAccount{Owner: storage.MailboxOwner(owners[i]), OwnerKey: pub, IssuedAt: now.Truncate(time.Second),
			ExpiresAt: now.Add(24 * time.Hour).Truncate(time.Second), DepositKey: dk}
		if _, err := store.RegisterMailbox(a, capacityOwners); err != nil {
			b.Fatal(err)
		}
	}
	work := make(chan storage.MailboxOwner)
	var wg sync.WaitGroup
	quota := storage.MailboxQuota{Count: 10_000, Bytes: 100 << 20}
	for range capacityFillers {
		wg.Go(func() {
			env := make([]byte, mailboxEnvelopeBytes)
			for o := range work {
				rand.Read(env)
				if _, err := store.DepositMail(o, env, time.Now(), quota, func(storage.MailboxAccount) error { return nil }); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i, o := range owners {
		n := capacityPerOwner
		if i == 0 {
			n = capacityFetchMail
		} else if i <= (capacityFetchMail-capacityPerOwner)/capacityPerOwner {
			continue // the first owner's extra mail takes these owners' share: 100,000 in all
		}
		for range n {
			work <- storage.MailboxOwner(o)
		}
	}
	close(work)
	wg.Wait()
	l, err := store.MailboxLoad()
	if err != nil {
		b.Fatal(err)
	}
	if l.Owners != capacityOwners || l.Count != capacityOwners*capacityPerOwner {
		b.Fatalf("filled %+v, want %d owners and %d envelopes", l, capacityOwners, capacityOwners*capacityPerOwner)
	}
	return first
}

// procStatus reads a field of /proc/PID/status, in KiB.
func procStatus(b *testing.B, pid int, field string) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// diskUsage is the bytes the files under dir take on disk (allocated
// blocks, so that sparse files count what they hold).
func diskUsage(b *testing.B, dir string) int64 {
	b.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Sys().(*syscall.Stat_t).Blocks * 512
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}

// waitRSS lets the process settle after start: RSS read twice, a second
// apart, to within 1 MiB; at most ten seconds.
func waitRSS(b *testing.B, pid int) int64 {
	last := procStatus(b, pid, "VmRSS")
	for range 10 {
		time.Sleep(time.Second)
		now := procStatus(b, pid, "VmRSS")
		if now-last < 1024 && last-now < 1024 {
			return now
		}
		last = now
	}
	return last
}

func BenchmarkMailboxCapacity(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		// The same node, empty: the baseline for its memory.
		empty, _ := startMailbox(b, "")
		emptyRSS := waitRSS(b, empty.cmd.Process.Pid)
		empty.stdin.Close()
		empty.cmd.Wait()

		// A node's data dir, made by starting it once, then filled.
		dir := b.TempDir()
		n, err := node.New(ctx, node.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, MailboxService: true, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		mbID := n.Host().ID()
		n.Close()
		start := time.Now()
		o := fillMailbox(b, dir, mbID)
		fill := time.Since(start)
		disk := diskUsage(b, dir)

		p, mb := startMailbox(b, dir)
		pid := p.cmd.Process.Pid
		rss := waitRSS(b, pid)
		start = time.Now()
		o.connect(b, mb)
		var ids []parley.EnvelopeID
		var cursor []byte
		for more := true; more; {
			page, err := o.c.Fetch(ctx, cursor, 0)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range page.Mail {
				ids = append(ids, m.ID)
			}
			cursor, more = page.Next, page.More
		}
		fetch := time.Since(start)
		if len(ids) != capacityFetchMail {
			b.Fatalf("the owner fetched %d envelopes, want %d", len(ids), capacityFetchMail)
		}
		for len(ids) > 0 {
			k := min(len(ids), mailbox.MaxAck)
			if _, err := o.c.Ack(ctx, ids[:k]); err != nil {
				b.Fatal(err)
			}
			ids = ids[k:]
		}
		fetchAck := time.Since(start)
		rssAfter := procStatus(b, pid, "VmRSS")
		hwm := procStatus(b, pid, "VmHWM")
		o.close()
		p.stdin.Close()
		p.cmd.Wait()

		b.ReportMetric(fill.Seconds(), "fill-s")
		b.ReportMetric(float64(capacityOwners*capacityPerOwner)/fill.Seconds(), "fill-envelopes/s")
		b.ReportMetric(float64(disk)/(1<<20), "disk-MiB")
		b.ReportMetric(float64(emptyRSS)/1024, "empty-rss-MiB")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(rssAfter)/1024, "rss-after-fetch-MiB")
		b.ReportMetric(float64(hwm)/1024, "peak-rss-MiB")
		b.ReportMetric(float64(rss)/float64(emptyRSS), "rss-ratio")
		b.ReportMetric(ms(fetch), "fetch-1000-ms")
		b.ReportMetric(ms(fetchAck), "fetch-ack-1000-ms")
	}
}
