package frame

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-msgio/pbio"
	"github.com/multiformats/go-varint"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// frames writes msgs as pbio does.
func frames(t testing.TB, msgs ...string) []byte {
	var b bytes.Buffer
	w := pbio.NewDelimitedWriter(&b)
	for _, m := range msgs {
		if err := w.WriteMsg(wrapperspb.String(m)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestReadsWhatPbioWrites(t *testing.T) {
	big := string(bytes.Repeat([]byte("x"), 300<<10)) // grows past firstChunk and keepBuffer
	want := []string{"", "hello", big, "after the big one"}
	r := NewReader(bytes.NewReader(frames(t, want...)), 1<<20)
	for _, w := range want {
		var got wrapperspb.StringValue
		if err := r.ReadMsg(&got); err != nil {
			t.Fatal(err)
		}
		if got.Value != w {
			t.Fatalf("read %d bytes, want %d", len(got.Value), len(w))
		}
	}
	if cap(r.buf) > keepBuffer {
		t.Errorf("kept a %d-byte buffer after small frames", cap(r.buf))
	}
	if err := r.ReadMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}

func TestRefusesBadFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"over the maximum", varint.ToUvarint(101), ErrTooLarge},
		{"cut inside the length", []byte{0x80}, io.ErrUnexpectedEOF},
		{"cut inside the frame", append(varint.ToUvarint(10), "abc"...), io.ErrUnexpectedEOF},
		{"length not minimal", []byte{0x81, 0x00}, varint.ErrNotMinimal},
		{"length overflows", bytes.Repeat([]byte{0xff}, 10), varint.ErrOverflow},
		{"does not decode", append(varint.ToUvarint(2), 0xff, 0xff), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewReader(bytes.NewReader(tc.in), 100).ReadMsg(new(wrapperspb.StringValue))
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// stalled gives its bytes, then blocks until closed: a peer that
// announced a frame and sent no more of it.
type stalled struct {
	b       []byte
	blocked chan<- struct{} // told once, when all of b was read
	stop    chan struct{}
}

func (s *stalled) Read(p []byte) (int, error) {
	if len(s.b) > 0 {
		n := copy(p, s.b)
		s.b = s.b[n:]
		return n, nil
	}
	if s.blocked != nil {
		s.blocked <- struct{}{}
		s.blocked = nil
	}
	<-s.stop
	return 0, io.ErrClosedPipe
}

// heapWhileStalled is how much the heap grew while n readers wait in
// frames that announced 4 MiB and sent 10 bytes.
func heapWhileStalled(t testing.TB, n int, read func(io.Reader) error) uint64 {
	stop := make(chan struct{})
	done := make(chan error, n)
	blocked := make(chan struct{}, n)
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		s := &stalled{b: append(varint.ToUvarint(4<<20), make([]byte, 10)...), blocked: blocked, stop: stop}
		go func() { done <- read(s) }()
	}
	for range n { // every reader has taken all it was given
		<-blocked
	}
	runtime.GC()
	runtime.ReadMemStats(&during)
	close(stop)
	for range n {
		<-done
	}
	if during.HeapInuse < before.HeapInuse {
		return 0
	}
	return during.HeapInuse - before.HeapInuse
}

// The regression: pbio allocates what a frame announces before it reads
// it; Reader holds only what arrived.
func TestStalledFrameHoldsWhatArrived(t *testing.T) {
	const n = 40
	grew := heapWhileStalled(t, n, func(r io.Reader) error { return NewReader(r, 4<<20).ReadMsg(new(wrapperspb.StringValue)) })
	if limit := uint64(n * 64 << 10); grew > limit {
		t.Errorf("%d stalled frames announcing 4 MiB took %d KiB of heap, want under %d KiB", n, grew>>10, limit>>10)
	}
}

// BenchmarkStalledStreams reports the heap 40 stalled streams hold, each
// having announced a 4 MiB frame: with pbio's reader and with this one.
func BenchmarkStalledStreams(b *testing.B) {
	const n = 40
	for _, tc := range []struct {
		name string
		read func(io.Reader) error
	}{
		{"pbio", func(r io.Reader) error { return pbio.NewDelimitedReader(r, 4<<20).ReadMsg(new(wrapperspb.StringValue)) }},
		{"frame", func(r io.Reader) error { return NewReader(r, 4<<20).ReadMsg(new(wrapperspb.StringValue)) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var grew uint64
			for b.Loop() {
				grew = heapWhileStalled(b, n, tc.read)
			}
			b.ReportMetric(float64(grew)/n/1024, "KiB/stream")
		})
	}
}

func TestDeadlines(t *testing.T) {
	const (
		idle  = 150 * time.Millisecond
		frame = 300 * time.Millisecond
	)
	for _, tc := range []struct {
		name   string
		lim    Limits
		endIn  time.Duration // sets lim.End this long after the read starts
		write  func(w net.Conn)
		within time.Duration // the read must fail after about this long
	}{
		{"idle: nothing sent", Limits{Idle: idle, Frame: frame}, 0, func(net.Conn) {}, idle},
		{"slowloris: a byte every 50 ms", Limits{Idle: idle, Frame: frame}, 0, func(w net.Conn) {
			_, _ = w.Write(varint.ToUvarint(1000))
			for range 100 {
				time.Sleep(50 * time.Millisecond)
				if _, err := w.Write([]byte{1}); err != nil {
					return
				}
			}
		}, frame},
		{"the stream's end comes first", Limits{Idle: time.Minute, Frame: time.Minute}, idle, func(net.Conn) {}, idle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go tc.write(b)
			start := time.Now()
			lim := tc.lim
			if tc.endIn > 0 {
				lim.End = start.Add(tc.endIn)
			}
			err := NewReader(a, 1<<20).WithLimits(a, lim).ReadMsg(new(wrapperspb.StringValue))
			took := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want a deadline error", err)
			}
			if took < tc.within-20*time.Millisecond || took > tc.within+2*time.Second {
				t.Errorf("cut off after %v, want about %v", took, tc.within)
			}
		})
	}
}

// A frame that keeps arriving within Frame is read whole, however long the
// wait for it was within Idle.
func TestDeadlinesLetAFrameThrough(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	msg := frames(t, "a frame sent in two halves")
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = b.Write(msg[:5])
		time.Sleep(50 * time.Millisecond)
		_, _ = b.Write(msg[5:])
	}()
	var got wrapperspb.StringValue
	if err := NewReader(a, 1<<20).WithLimits(a, Limits{Idle: 5 * time.Second, Frame: 5 * time.Second}).ReadMsg(&got); err != nil {
		t.Fatal(err)
	}
	if got.Value != "a frame sent in two halves" {
		t.Errorf("got %q", got.Value)
	}
}
