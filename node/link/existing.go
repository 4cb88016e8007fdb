package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/node/link/pb"
)

// LinkConfig is the existing device's side of one link. Every field but
// Confirm's result is required.
type LinkConfig struct {
	// Host must be able to reach Code.PeerID (connected, or addresses in
	// its peerstore): the caller dials first.
	Host   host.Host
	Code   identity.LinkCode
	Person peer.ID // the person this device is a device of
	// Confirm shows the safety code (and the new device's name) and
	// returns whether the user confirmed that both screens show it.
	Confirm func(safety string, d NewDevice) bool
	// Prepare makes the transfer for the new device once confirmed: the
	// person's keys (rotated if they were this device's own) and the list
	// that adds it.
	Prepare func(d NewDevice) (Transfer, error)
	// Snapshot writes the snapshot of this device's store to w.
	Snapshot func(ctx context.Context, w io.Writer) error
}

// Link runs the existing device's side: it presents the code's secret,
// has the user confirm the safety code, sends the transfer and the
// snapshot, and returns the new device once it said it is linked. The
// new device's refusals are identity.ErrWrongLinkSecret,
// ErrLinkCodeExpired, ErrLinkCodeUsed, ErrNotFresh and *RefusedError; the
// user's is ErrDeclined.
func Link(ctx context.Context, cfg LinkConfig) (NewDevice, error) {
	p := cfg.Code.PeerID
	st, err := cfg.Host.NewStream(ctx, p, ID)
	if err != nil {
		return NewDevice{}, fmt.Errorf("link: opening a stream to the new device %s: %w", p, err)
	}
	// Whatever happens below, a stream not closed cleanly is reset, so the
	// new device learns at once that the link did not happen.
	ok := false
	defer func() {
		if !ok {
			_ = st.Reset()
		}
	}()
	if err := writeFrame(st, &pb.Hello{PersonId: []byte(cfg.Person), Secret: cfg.Code.Secret}); err != nil {
		return NewDevice{}, fmt.Errorf("link: sending to the new device: %w", err)
	}
	r := frame.NewReader(st, MaxHelloReplySize).WithLimits(st, frame.Limits{Idle: helloTimeout, Frame: helloTimeout, End: time.Now().Add(streamTimeout)})
	b, err := r.ReadFrame()
	if err != nil {
		return NewDevice{}, fmt.Errorf("link: reading the new device's answer: %w", eofInFrame(err))
	}
	d, err := decodeHelloReply(b)
	if err != nil {
		return NewDevice{}, err
	}
	d.PeerID = p
	if !cfg.Confirm(identity.LinkSafetyCode(cfg.Host.ID(), p, cfg.Code.Secret), d) {
		_ = st.Close() // the new device reads the end: declined
		ok = true
		return NewDevice{}, ErrDeclined
	}
	t, err := cfg.Prepare(d)
	if err != nil {
		return NewDevice{}, err
	}
	m, err := encodeTransfer(t)
	if err != nil {
		return NewDevice{}, err
	}
	if err := writeFrame(st, m); err != nil {
		return NewDevice{}, fmt.Errorf("link: sending the keys: %w", err)
	}
	cw := &chunkWriter{st: st, buf: make([]byte, 0, MaxChunkData)}
	if err := cfg.Snapshot(ctx, cw); err != nil {
		return NewDevice{}, fmt.Errorf("link: sending the snapshot: %w", err)
	}
	if err := cw.finish(); err != nil {
		return NewDevice{}, fmt.Errorf("link: sending the snapshot: %w", err)
	}
	// The new device stores what it got before it answers.
	r.SetMax(maxDoneSize)
	r.WithLimits(st, frame.Limits{Idle: ConfirmTimeout, Frame: chunkTimeout})
	if b, err = r.ReadFrame(); err != nil {
		return NewDevice{}, fmt.Errorf("link: waiting for the new device to store what it got: %w", eofInFrame(err))
	}
	if err := decodeDone(b); err != nil {
		return NewDevice{}, err
	}
	_ = st.Close()
	ok = true
	return d, nil
}

// eofInFrame: the stream ending where a frame was due is a broken link.
func eofInFrame(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// chunkWriter cuts the snapshot into Chunk frames of MaxChunkData bytes;
// finish sends the rest as the last one.
type chunkWriter struct {
	st  network.Stream
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(c.buf) == cap(c.buf) {
			if err := writeFrame(c.st, &pb.Chunk{Data: c.buf}); err != nil {
				return written, err
			}
			c.buf = c.buf[:0]
		}
	}
	return written, nil
}

func (c *chunkWriter) finish() error { return writeFrame(c.st, &pb.Chunk{Data: c.buf, Last: true}) }
