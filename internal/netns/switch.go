package netns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Switch is an Ethernet switch in the test process: each host namespace
// gets a TAP device as its eth0, and the switch forwards frames between
// them, impairing each link as tc's netem would (delay, jitter, loss,
// duplication, reordering) and cutting the network into partitions.
//
// It stands in for a bridge with netem qdiscs because the kernels tests
// run on do not all have sch_netem (the CI machine's has none, nor
// modules to load), and because a partition or a change of impairment is
// then one assignment, not a command, and its random choices come from a
// seed.
type Switch struct {
	t      testing.TB
	prefix string

	mu       sync.Mutex
	ports    []*port            // guarded by mu; index = host number
	macs     map[[6]byte]int    // guarded by mu; learnt: source address → port
	sides    []int              // guarded by mu; partition side of each port
	rng      *rand.Rand         // guarded by mu
	impaired map[int]Impairment // guarded by mu; by port

	wg      sync.WaitGroup // the ports' readers
	closing atomic.Bool

	// Counters, for the report.
	Forwarded, Lost, Duplicated, Blocked atomic.Int64
}

// Impairment is what a link does to the frames that cross it, either way,
// with netem's meanings: each frame waits Delay plus up to ±Jitter
// (uniform), unless it is one of the Reorder share, which goes at once
// (overtaking the frames before it); Loss of them vanish, Duplicate of
// them arrive twice. Shares are between 0 and 1.
type Impairment struct {
	Delay, Jitter            time.Duration
	Loss, Duplicate, Reorder float64
}

func (im Impairment) String() string {
	return fmt.Sprintf("delay %v±%v loss %.0f%% duplicate %.0f%% reorder %.0f%%",
		im.Delay, im.Jitter, 100*im.Loss, 100*im.Duplicate, 100*im.Reorder)
}

type port struct {
	tap *os.File
}

// NewSwitch makes an empty switch whose random choices follow seed; it
// closes its ports when the test ends, after the namespaces' processes
// have stopped (register it before them).
func NewSwitch(t testing.TB, prefix string, seed uint64) *Switch {
	s := &Switch{t: t, prefix: prefix, macs: make(map[[6]byte]int), impaired: make(map[int]Impairment),
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	t.Cleanup(s.close)
	return s
}

// Plug gives namespace ns a TAP device on the switch as eth0, with the
// address addr (CIDR), and returns the port's number.
func (s *Switch) Plug(ns, addr string) int {
	s.t.Helper()
	s.mu.Lock()
	i := len(s.ports)
	s.mu.Unlock()
	name := fmt.Sprintf("%st%d", s.prefix, i)
	tap, err := openTAP(name)
	if err != nil {
		s.t.Fatal(err)
	}
	p := &port{tap: tap}
	s.mu.Lock()
	s.ports = append(s.ports, p)
	s.sides = append(s.sides, 0)
	s.mu.Unlock()
	IP(s.t, "link", "set", name, "netns", ns)
	IP(s.t, "-n", ns, "link", "set", name, "name", "eth0")
	IP(s.t, "-n", ns, "addr", "add", addr, "dev", "eth0")
	IP(s.t, "-n", ns, "link", "set", "eth0", "up")
	s.wg.Add(1)
	go s.read(i, p)
	return i
}

// openTAP makes a TAP device (no packet information header) and returns
// its file, non-blocking so that Close ends a pending Read.
func openTAP(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("make TAP device %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// Impair sets what host i's link does to frames; the zero Impairment is a
// clean link.
func (s *Switch) Impair(i int, im Impairment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if im == (Impairment{}) {
		delete(s.impaired, i)
	} else {
		s.impaired[i] = im
	}
}

// Partition cuts the network in two: the hosts in side reach only each
// other, the rest only each other. Heal joins it again.
func (s *Switch) Partition(side []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.sides {
		s.sides[i] = 0
	}
	for _, i := range side {
		s.sides[i] = 1
	}
}

// Heal ends the partition.
func (s *Switch) Heal() { s.Partition(nil) }

// read forwards the frames host i sends until its TAP device closes.
func (s *Switch) read(i int, p *port) {
	defer s.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, err := p.tap.Read(buf)
		if err != nil {
			// EBADFD: the namespace holding the device was deleted.
			if !s.closing.Load() && !errors.Is(err, os.ErrClosed) && !errors.Is(err, unix.EBADFD) {
				s.t.Logf("switch: port %d: %v", i, err)
			}
			return
		}
		if n < 14 {
			continue
		}
		s.forward(i, buf[:n])
	}
}

// forward sends a frame from port from to where its destination is, or
// to every other port when that is unknown or many.
func (s *Switch) forward(from int, frame []byte) {
	var dst, src [6]byte
	copy(dst[:], frame[0:6])
	copy(src[:], frame[6:12])
	s.mu.Lock()
	defer s.mu.Unlock()
	if src[0]&1 == 0 {
		s.macs[src] = from
	}
	if to, ok := s.macs[dst]; ok && dst[0]&1 == 0 {
		s.deliverLocked(from, to, frame)
		return
	}
	for to := range s.ports {
		if to != from {
			s.deliverLocked(from, to, frame)
		}
	}
}

// deliverLocked applies the partition and both links' impairments to one
// frame from port from to port to.
func (s *Switch) deliverLocked(from, to int, frame []byte) {
	if s.sides[from] != s.sides[to] {
		s.Blocked.Add(1)
		return
	}
	a, b := s.impaired[from], s.impaired[to]
	if s.rng.Float64() < a.Loss || s.rng.Float64() < b.Loss {
		s.Lost.Add(1)
		return
	}
	copies := 1
	if s.rng.Float64() < a.Duplicate || s.rng.Float64() < b.Duplicate {
		copies = 2
		s.Duplicated.Add(1)
	}
	out := s.ports[to].tap
	for range copies {
		wait := s.waitLocked(a) + s.waitLocked(b)
		f := append([]byte(nil), frame...)
		s.Forwarded.Add(1)
		if wait <= 0 {
			out.Write(f) // a closed or vanished port: the frame is lost, as on a wire
			continue
		}
		time.AfterFunc(wait, func() {
			if !s.closing.Load() {
				out.Write(f)
			}
		})
	}
}

// waitLocked is how long a frame waits on a link with im.
func (s *Switch) waitLocked(im Impairment) time.Duration {
	if im.Delay == 0 && im.Jitter == 0 || s.rng.Float64() < im.Reorder {
		return 0
	}
	d := im.Delay
	if im.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(2*im.Jitter))) - im.Jitter
	}
	return max(d, 0)
}

func (s *Switch) close() {
	s.closing.Store(true)
	s.mu.Lock()
	for _, p := range s.ports {
		p.tap.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
