// Package frame reads the frames every Parley protocol uses: a protobuf
// message prefixed by its length as an unsigned varint (minimally encoded,
// as go-msgio's pbio and go-varint write it). The wire format is pbio's;
// what differs is how the reader spends memory and time on a peer:
//
//   - pbio allocates the announced length before reading a byte of the
//     frame, so a peer that announces the maximum and sends nothing holds
//     that much of our memory for as long as its stream lives. Reader grows
//     its buffer only as bytes arrive (doubling from 4 KiB), so a stalled
//     frame costs what was actually sent, and it drops a buffer past
//     keepBuffer once the frame is read.
//   - With Limits set, Reader sets the stream's read deadlines itself: Idle
//     to wait for a frame's first byte, Frame for the rest of it once it
//     has begun, and no deadline past End (the stream's total budget). A
//     peer that trickles a byte at a time (slowloris) is cut off Frame
//     after its frame began, however steadily it trickles.
//
// It does not write: pbio's writer already writes exactly what it says.
package frame

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/multiformats/go-varint"
	"google.golang.org/protobuf/proto"
)

// ErrTooLarge: a frame announced more bytes than the reader's maximum.
// The stream is out of step from then on: reset it.
var ErrTooLarge = errors.New("frame too large")

// ErrMalformed: a frame's bytes do not decode as the expected message.
var ErrMalformed = errors.New("frame does not decode")

const (
	// firstChunk is the buffer a frame starts with; it doubles as the
	// frame's bytes arrive, up to the announced length.
	firstChunk = 4 << 10
	// keepBuffer is the largest buffer kept between frames: an idle
	// stream holds no more than that, whatever its last frame was.
	keepBuffer = 64 << 10
)

// ReadDeadliner is what Reader needs of a stream to enforce Limits
// (network.Stream has it).
type ReadDeadliner interface {
	SetReadDeadline(time.Time) error
}

// Limits bound the time one stream may take. Zero fields are no limit.
type Limits struct {
	// Idle is how long to wait for the first byte of the next frame.
	Idle time.Duration
	// Frame is how long the rest of a frame may take once its first byte
	// has arrived.
	Frame time.Duration
	// End is when the stream's time is up, whatever the two above allow.
	End time.Time
}

// deadline is now+d, but never past end (zero d or end: no bound from it).
func deadline(now time.Time, d time.Duration, end time.Time) time.Time {
	var t time.Time
	if d > 0 {
		t = now.Add(d)
	}
	if !end.IsZero() && (t.IsZero() || end.Before(t)) {
		t = end
	}
	return t
}

// Reader reads length-prefixed frames from one stream. It is not safe for
// concurrent use.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte // reused between frames while small

	st  ReadDeadliner // nil: no deadlines are set
	lim Limits
}

// NewReader reads frames of at most max bytes from r. It reads ahead into
// a small buffer (bufio's 4 KiB), like pbio, so r must not be read by
// anything else afterwards.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReader(r), max: max}
}

// WithLimits makes the Reader set st's read deadline before each frame
// and again once the frame has begun, from lim. It returns r.
func (r *Reader) WithLimits(st ReadDeadliner, lim Limits) *Reader {
	r.st, r.lim = st, lim
	return r
}

// SetMax changes the largest frame accepted from now on: a protocol may
// allow less before a peer has shown who it is.
func (r *Reader) SetMax(max int) { r.max = max }

// ReadFrame returns the next frame's bytes, valid until the next call.
// io.EOF means the stream ended cleanly between frames;
// io.ErrUnexpectedEOF, that it ended inside one.
func (r *Reader) ReadFrame() ([]byte, error) {
	if r.st != nil {
		_ = r.st.SetReadDeadline(deadline(time.Now(), r.lim.Idle, r.lim.End))
	}
	// The first byte decides between a clean end and one inside a frame,
	// and starts the frame's clock.
	if _, err := r.r.Peek(1); err != nil {
		return nil, err
	}
	if r.st != nil {
		_ = r.st.SetReadDeadline(deadline(time.Now(), r.lim.Frame, r.lim.End))
	}
	length, err := varint.ReadUvarint(r.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if length > uint64(r.max) {
		return nil, fmt.Errorf("%w: %d bytes announced, at most %d", ErrTooLarge, length, r.max)
	}
	n := int(length)
	if cap(r.buf) > keepBuffer {
		r.buf = nil
	}
	buf := r.buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			// Grow only once what we have is full: memory follows what the
			// peer sent, not what it announced.
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), firstChunk)))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			r.buf = nil
			return nil, err
		}
	}
	r.buf = buf
	return buf, nil
}

// ReadMsg reads the next frame into m. Errors as ReadFrame's, and
// ErrMalformed for bytes that do not decode.
func (r *Reader) ReadMsg(m proto.Message) error {
	b, err := r.ReadFrame()
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
