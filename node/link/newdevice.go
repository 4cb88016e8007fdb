package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/lifetime"
	"github.com/parley-im/parley/node/link/pb"
)

// Time limits of the new device's side (PROTOCOL.md §11.6).
const (
	// helloTimeout bounds the wait for Hello, and each frame but the
	// Transfer.
	helloTimeout = 10 * time.Second
	// ConfirmTimeout is how long the new device waits for the Transfer
	// after its HelloReply: the user compares the two safety codes and
	// confirms on the existing device meanwhile.
	ConfirmTimeout = 2 * time.Minute
	// chunkTimeout bounds the wait for each further chunk of the snapshot,
	// and the existing device's wait for Done.
	chunkTimeout = 30 * time.Second
	// streamTimeout bounds a link stream in all: a snapshot of
	// MaxSnapshotSize at well under a megabyte a second fits.
	streamTimeout = 30 * time.Minute
	// writeTimeout bounds writing one frame.
	writeTimeout = 30 * time.Second
	// maxStreams is how many dialers are served at once (all strangers),
	// inbound.PerStranger from any one.
	maxStreams = 4
)

// WaitConfig wires a Waiter: the new device's side, for one link code.
// Host, Pending, HPKEKey and Adopt are required.
type WaitConfig struct {
	Host host.Host
	// Pending is the code shown: its secret is checked, and used up, by
	// the first dialer who presents it.
	Pending *identity.PendingLink
	// Now is the clock the code expires by; nil: time.Now.
	Now func() time.Time
	// HPKEKey and DeviceName are this device's, told to the dialer that
	// presents the secret (they go into the list it signs).
	HPKEKey    []byte
	DeviceName string
	// Fresh says whether this device may be linked now: nil, or why not
	// (it holds contacts or messages: answered CODE_NOT_FRESH). Nil:
	// always.
	Fresh func() error
	// Dialed: the existing device presented the code's secret; the user
	// compares safety with what it shows. Optional.
	Dialed func(existing, person peer.ID, safety string)
	// Adopt takes what the existing device sent: it reads the snapshot to
	// its end and stores it and the person's keys durably before
	// returning nil, which the existing device is then told (Done OK).
	// An error is told as a refusal (its text is shown there).
	Adopt func(ctx context.Context, existing peer.ID, t Transfer, snapshot io.Reader) error
	// Failed: the link that took the secret ended without Adopt
	// succeeding (declined, broken, refused). Optional.
	Failed func(existing peer.ID, err error)
	// Linked: Adopt succeeded and the existing device was told (as far as
	// the stream allowed). Called last, as the handler ends. Optional.
	Linked func(existing peer.ID)
	Logger *slog.Logger
}

// Waiter serves /parley/link/1.0.0 for one link code until Close.
type Waiter struct {
	cfg    WaitConfig
	log    *slog.Logger
	life   *lifetime.Protocol
	budget inbound.Budget // guarded by life's lock (Admit's admit and release)
}

// Wait starts serving the protocol for cfg.Pending. Close stops it; the
// owner closes it once the code expired or linked.
func Wait(cfg WaitConfig) (*Waiter, error) {
	if cfg.Host == nil || cfg.Pending == nil || cfg.HPKEKey == nil || cfg.Adopt == nil {
		return nil, errors.New("link: Host, Pending, HPKEKey and Adopt are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Waiter{
		cfg:    cfg,
		log:    cfg.Logger.With("service", "link"),
		life:   lifetime.New(cfg.Host, ID),
		budget: inbound.Budget{Strangers: maxStreams, PerStranger: inbound.PerStranger},
	}
	w.life.Serve(w.handleStream)
	return w, nil
}

// Close stops serving, resets a link under way and waits for its handler.
func (w *Waiter) Close() { w.life.Close() }

// handleStream serves one dialer: the secret, then (if it is the code's)
// the transfer.
func (w *Waiter) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	done, ok := w.life.Admit(st, func(int) bool { return w.budget.Take(remote, false) },
		func() { w.budget.Release(remote, false) })
	if !ok {
		return
	}
	defer done()
	r := frame.NewReader(st, MaxHelloSize).WithLimits(st, frame.Limits{Idle: helloTimeout, Frame: helloTimeout, End: time.Now().Add(streamTimeout)})
	b, err := r.ReadFrame()
	if err != nil {
		w.log.Debug("link: no hello, resetting", "peer", remote, "err", err)
		_ = st.Reset()
		return
	}
	person, secret, err := decodeHello(b)
	if err != nil {
		w.log.Debug("link: bad hello, resetting", "peer", remote, "err", err)
		_ = st.Reset()
		return
	}
	reply := w.check(secret)
	if reply.Code != pb.HelloReply_CODE_OK {
		w.log.Info("link: refused a dialer", "peer", remote, "answer", reply.Code)
		if writeFrame(st, reply) == nil {
			_ = st.Close()
		}
		return
	}
	// The secret is taken: from here on this dialer is the one link.
	safety := identity.LinkSafetyCode(remote, w.cfg.Host.ID(), secret)
	if w.cfg.Dialed != nil {
		w.cfg.Dialed(remote, person, safety)
	}
	if err := w.serveLink(st, r, remote, person, reply); err != nil {
		w.log.Info("link: did not complete", "peer", remote, "err", err)
		if w.cfg.Failed != nil {
			w.cfg.Failed(remote, err)
		}
		return
	}
	// The existing device closes the stream once it has read Done: wait
	// for that (briefly), so that what Linked does next (a restart closes
	// the host) cannot cut the connection before Done reaches it.
	_ = st.CloseWrite()
	r.WithLimits(st, frame.Limits{Idle: helloTimeout, Frame: helloTimeout})
	_, _ = r.ReadFrame()
	_ = st.Close()
	if w.cfg.Linked != nil {
		w.cfg.Linked(remote)
	}
}

// check answers a presented secret: it is checked (and the code used up)
// only while this device may be linked.
func (w *Waiter) check(secret []byte) *pb.HelloReply {
	if w.cfg.Fresh != nil && w.cfg.Fresh() != nil {
		return &pb.HelloReply{Code: pb.HelloReply_CODE_NOT_FRESH}
	}
	switch err := w.cfg.Pending.Check(secret, w.cfg.Now()); {
	case err == nil:
		return &pb.HelloReply{Code: pb.HelloReply_CODE_OK, HpkeKey: w.cfg.HPKEKey, DeviceName: w.cfg.DeviceName}
	case errors.Is(err, identity.ErrLinkCodeUsed):
		return &pb.HelloReply{Code: pb.HelloReply_CODE_USED}
	case errors.Is(err, identity.ErrLinkCodeExpired):
		return &pb.HelloReply{Code: pb.HelloReply_CODE_EXPIRED}
	default:
		return &pb.HelloReply{Code: pb.HelloReply_CODE_WRONG_SECRET}
	}
}

// serveLink answers the secret, waits for the user's confirmation (the
// Transfer), hands the transfer and the snapshot to Adopt and says Done.
// An error means the link did not happen: the stream is reset or refused.
func (w *Waiter) serveLink(st network.Stream, r *frame.Reader, remote, person peer.ID, reply *pb.HelloReply) error {
	if err := writeFrame(st, reply); err != nil {
		_ = st.Reset()
		return err
	}
	end := time.Now().Add(streamTimeout)
	r.SetMax(MaxTransferSize)
	r.WithLimits(st, frame.Limits{Idle: ConfirmTimeout, Frame: chunkTimeout, End: end})
	b, err := r.ReadFrame()
	if errors.Is(err, io.EOF) {
		_ = st.Close()
		return ErrDeclined
	}
	if err != nil {
		_ = st.Reset()
		return fmt.Errorf("waiting for the keys: %w", err)
	}
	t, err := decodeTransfer(b, person, remote, w.cfg.Host.ID())
	if err != nil {
		return w.refuse(st, err)
	}
	r.SetMax(maxChunkSize)
	r.WithLimits(st, frame.Limits{Idle: chunkTimeout, Frame: chunkTimeout, End: end})
	snap := &chunkReader{r: r}
	ctx, cancel := context.WithDeadline(w.life.Context(), end)
	defer cancel()
	if err := w.cfg.Adopt(ctx, remote, t, snap); err != nil {
		if snap.err != nil { // the stream failed, not what it carried
			_ = st.Reset()
			return err
		}
		return w.refuse(st, err)
	}
	if !snap.done {
		return w.refuse(st, errors.New("the snapshot was not read to its end"))
	}
	if err := writeFrame(st, &pb.Done{Code: pb.Done_CODE_OK}); err != nil {
		// Adopted all the same: the existing device may not have heard,
		// and keeps its list without us (PROTOCOL.md §11.6).
		w.log.Warn("link: linked, but the existing device did not get our answer", "peer", remote, "err", err)
	}
	return nil
}

// refuse tells the existing device why its transfer is refused and returns
// that reason.
func (w *Waiter) refuse(st network.Stream, why error) error {
	if writeFrame(st, &pb.Done{Code: pb.Done_CODE_REFUSED, Reason: printable(why.Error())}) == nil {
		_ = st.Close()
	} else {
		_ = st.Reset()
	}
	return fmt.Errorf("refused the transfer: %w", why)
}

// chunkReader is the snapshot as the Chunk frames carry it: it ends (EOF)
// at the chunk marked last, and fails past MaxSnapshotSize.
type chunkReader struct {
	r    *frame.Reader
	buf  []byte
	n    int64 // bytes passed so far
	done bool  // the last chunk has been read
	err  error // the stream's failure, if any
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.done {
			return 0, io.EOF
		}
		if c.err != nil {
			return 0, c.err
		}
		b, err := c.r.ReadFrame()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			c.err = fmt.Errorf("reading the snapshot: %w", err)
			return 0, c.err
		}
		data, last, err := decodeChunk(b)
		if err != nil {
			return 0, err
		}
		if c.n += int64(len(data)); c.n > MaxSnapshotSize {
			return 0, fmt.Errorf("the snapshot is larger than %d bytes", MaxSnapshotSize)
		}
		c.buf, c.done = append(c.buf[:0], data...), last
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// writeFrame writes one length-delimited frame within writeTimeout.
func writeFrame(st network.Stream, m proto.Message) error {
	_ = st.SetWriteDeadline(time.Now().Add(writeTimeout))
	return pbio.NewDelimitedWriter(st).WriteMsg(m)
}
