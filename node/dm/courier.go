package dm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/node/dm/pb"
	"github.com/parley-im/parley/storage"
)

// courier drains one peer's outbox. One goroutine per peer with queued
// envelopes; it is owned by the Service and stops when the Service closes,
// or retires once it has had nothing to deliver for Config.CourierIdle.
type courier struct {
	svc  *Service
	peer peer.ID
	wake chan struct{} // capacity 1: kicks coalesce
	// st is kept open between drains, so that the next message does not
	// pay for a new stream; it is closed after streamIdle without traffic.
	// Owned by the courier's goroutine.
	st network.Stream
}

// streamIdle is how long a courier keeps an unused stream open; the
// receiver's idleTimeout is longer, so it is the sender that hangs up.
const streamIdle = 30 * time.Second

func newCourier(s *Service, p peer.ID) *courier {
	return &courier{svc: s, peer: p, wake: make(chan struct{}, 1)}
}

func (c *courier) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run delivers until ctx ends or the courier retires: after a kick, and
// while the peer is unreachable, again after an exponential back-off.
// Once a drain empties the outbox the courier is idle: it hangs up its
// stream after streamIdle and retires after CourierIdle, both counted from
// the end of that drain.
func (c *courier) run(ctx context.Context) {
	backoff := time.Duration(0)
	idleSince := time.Now()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	defer c.closeStream()
	for {
		var retry, idle <-chan time.Time
		if backoff > 0 {
			timer.Reset(backoff)
			retry = timer.C
		} else {
			wait := c.svc.cfg.CourierIdle
			if c.st != nil {
				wait = min(wait, streamIdle)
			}
			timer.Reset(time.Until(idleSince.Add(wait)))
			idle = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-retry:
		case <-idle:
			c.closeStream()
			if time.Since(idleSince) < c.svc.cfg.CourierIdle {
				continue // only the stream's time was up
			}
			if c.svc.retiring != nil {
				c.svc.retiring()
			}
			if c.svc.retire(c) {
				return
			}
			// Kicked while retiring: deliver.
		}
		timer.Stop()
		path := pathTo(c.svc.cfg.Host, c.peer)
		err := c.drain(ctx)
		switch {
		case err == nil:
			backoff = 0
			idleSince = time.Now()
			c.svc.tries.succeeded(c.peer)
		case ctx.Err() != nil:
			return
		default:
			backoff = min(max(2*backoff, c.svc.cfg.RetryMin), c.svc.cfg.RetryMax)
			c.svc.log.Debug("dm: delivery failed, will retry", "peer", c.peer, "in", backoff, "err", err)
			// The peer is unreachable (the dial failed, or no ack came
			// within ioTimeout): leave what waits for it at its
			// mailboxes, unless the failure was our own store's.
			c.svc.tries.failed(c.peer, path, err, backoff)
			if !errors.Is(err, errSettle) && c.svc.cfg.Store.SpaceErr() == nil {
				reason := queuedReason(err)
				if err := c.svc.deposit(ctx, c.peer); err != nil && ctx.Err() == nil {
					c.svc.log.Info("dm: depositing at a contact's mailboxes", "peer", c.peer, "err", err)
					c.svc.tries.failed(c.peer, "mailbox", err, backoff)
					if b := new(BusyError); errors.As(err, &b) && b.Reason != "" {
						reason = b.Reason
					}
				}
				if ctx.Err() == nil {
					if err := c.svc.cfg.Store.SetQueuedReason(c.peer.String(), reason); err != nil {
						c.svc.log.Info("dm: recording why messages wait", "peer", c.peer, "err", err)
					}
				}
			}
		}
	}
}

// drain pushes the outbox to the peer, batch by batch, until it is empty.
func (c *courier) drain(ctx context.Context) error {
	store := c.svc.cfg.Store
	reused := c.st != nil
	for {
		// On a full disk the peer's answer could not be recorded: wait
		// (the node kicks couriers once space is back).
		if err := store.SpaceErr(); err != nil {
			return err
		}
		entries, err := store.Outbox(c.peer.String(), MaxBatch)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		entries = capBytes(entries, maxPushBytes)
		if c.st == nil {
			if c.st, err = c.open(ctx); err != nil {
				return err
			}
		}
		ack, err := c.exchange(ctx, c.st, entries)
		if err == nil {
			err = c.settle(entries, ack)
		}
		if errors.Is(err, errSettle) {
			return err
		}
		if err != nil {
			_ = c.st.Reset()
			c.st = nil
			if reused {
				// The kept stream may have died while idle (the peer
				// restarted, the connection dropped): one fresh try.
				reused = false
				continue
			}
			return err
		}
		reused = false
	}
}

func (c *courier) closeStream() {
	if c.st != nil {
		_ = c.st.Close()
		c.st = nil
	}
}

func (c *courier) open(ctx context.Context) (network.Stream, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	// A relayed connection will do: direct messages may cross a relay.
	if conn := c.svc.cfg.Host.Network().Connectedness(c.peer); conn != network.Connected && conn != network.Limited {
		if err := c.svc.cfg.Connect(cctx, c.peer); err != nil {
			return nil, fmt.Errorf("%w: %w", errConnect, err)
		}
	}
	st, err := c.svc.cfg.Host.NewStream(cctx, c.peer, ID)
	if err != nil {
		return nil, fmt.Errorf("opening stream: %w", err)
	}
	return st, nil
}

// exchange writes one Push and reads its Ack.
func (c *courier) exchange(ctx context.Context, st network.Stream, entries []storage.OutboxEntry) (*pb.Ack, error) {
	// Close must not wait for a slow peer's answer: cancelling resets the
	// stream, which ends the read below.
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	push := &pb.Push{Envelopes: make([][]byte, len(entries))}
	for i, e := range entries {
		push.Envelopes[i] = e.Envelope
	}
	_ = st.SetDeadline(time.Now().Add(exchangeTimeout(entries)))
	if err := pbio.NewDelimitedWriter(st).WriteMsg(push); err != nil {
		return nil, fmt.Errorf("writing push: %w", err)
	}
	ack := new(pb.Ack)
	if err := frame.NewReader(st, MaxFrameSize).ReadMsg(ack); err != nil {
		return nil, fmt.Errorf("reading ack: %w", err)
	}
	if len(ack.Results) != len(entries) {
		return nil, fmt.Errorf("%w: ack has %d results for %d envelopes", parley.ErrMalformed, len(ack.Results), len(entries))
	}
	return ack, nil
}

// settle removes what the peer stored (delivered) or refused (failed) from
// the outbox, and learns whether our current key reached the peer. A crash
// before the store's next commit puts those envelopes back in the outbox,
// to be pushed again; the peer stores each once and acks it again.
func (c *courier) settle(entries []storage.OutboxEntry, ack *pb.Ack) error {
	var stored, refused []parley.EnvelopeID
	for i, r := range ack.Results {
		e := entries[i]
		if string(r.EnvelopeId) != string(e.ID[:]) {
			return fmt.Errorf("%w: ack result %d names another envelope", parley.ErrMalformed, i)
		}
		if r.Code == pb.Result_CODE_STORED {
			stored = append(stored, e.ID)
			// Until the peer holds our current key, look for it in what
			// was stored; after that, parsing each envelope is wasted.
			if !c.svc.sessions.acked(c.peer) {
				if env, err := identity.ParseEnvelope(e.Envelope); err == nil && len(env.KeyEncap) > 0 {
					c.svc.sessions.markAcked(c.peer, env.KeyId)
				}
			}
			continue
		}
		if r.Code == pb.Result_CODE_UNKNOWN_KEY {
			// The peer lost the key (a restored or new store): seal what
			// comes next under a new key it can open.
			c.svc.sessions.reset(c.peer)
		}
		c.svc.log.Warn("dm: peer refused a message", "peer", c.peer, "id", e.ID, "reason", r.Reason)
		refused = append(refused, e.ID)
	}
	for _, batch := range []struct {
		ids    []parley.EnvelopeID
		status parley.Status
	}{{stored, parley.StatusDelivered}, {refused, parley.StatusFailed}} {
		if len(batch.ids) == 0 {
			continue
		}
		// Recorded in the store's next group commit, not waited for: the
		// status shows at once, in events and reads alike (storage's
		// SettleOutbox), and the next push need not wait for a sync.
		changed, err := c.svc.cfg.Store.SettleOutbox(c.peer.String(), batch.ids, batch.status, func() { c.svc.Kick(c.peer) })
		if err != nil {
			return fmt.Errorf("%w: %w", errSettle, err)
		}
		for i := range changed {
			if changed[i].Kind == parley.KindText || changed[i].Kind == parley.KindFile || changed[i].Kind == parley.KindMailboxOffer {
				c.svc.cfg.Notify(parley.Event{Type: parley.EventStatus, Message: &changed[i]})
			}
		}
	}
	return nil
}

// exchangeTimeout allows ioTimeout plus a second per 64 KiB pushed: a full
// 1 MiB push still goes through on a link of 64 KiB/s.
func exchangeTimeout(entries []storage.OutboxEntry) time.Duration {
	n := 0
	for _, e := range entries {
		n += len(e.Envelope)
	}
	return ioTimeout + time.Duration(n/(64<<10))*time.Second
}

// errConnect: the peer could not be reached at all.
var errConnect = errors.New("connecting")

// queuedReason is what the user is told of a failed delivery attempt: why
// the messages still wait (storage.SetQueuedReason).
func queuedReason(err error) string {
	switch {
	case errors.Is(err, errConnect):
		return "recipient offline"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer from the recipient"
	}
	return "delivery failed: " + err.Error()
}

// errSettle marks a local store failure after a good exchange: the stream
// is fine, the outbox entries stay and are pushed again later.
var errSettle = errors.New("recording the peer's answer")

// capBytes keeps a prefix of entries whose envelopes fit in limit bytes
// (always at least one).
func capBytes(entries []storage.OutboxEntry, limit int) []storage.OutboxEntry {
	total := 0
	for i, e := range entries {
		total += len(e.Envelope)
		if total > limit && i > 0 {
			return entries[:i]
		}
	}
	return entries
}
