package dm

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
)

// Deposits at a contact's mailboxes (PROTOCOL.md §9.9). A courier that
// finds its peer unreachable (a failed attempt: the dial failed, or the
// push got no ack within ioTimeout) deposits what the outbox holds for
// that peer and no mailbox holds yet, at every mailbox the peer granted
// us, and keeps it queued for direct delivery: a deposit makes the message
// StatusStored, the peer's ack or receipt makes it delivered.

// depositTimeout bounds one deposit at one mailbox: a one-time host's
// dial and one round trip.
const depositTimeout = 15 * time.Second

// maxDepositRound caps the envelopes one round deposits, so that a long
// outbox does not hold the courier from retrying its peer for long; the
// next failed attempt goes on with the rest.
const maxDepositRound = MaxBatch

// deposit leaves peer's undeposited outbox entries at its mailboxes. It
// reports the first refusal that keeps an envelope queued for now (nil if
// none), for the courier's log.
func (s *Service) deposit(ctx context.Context, p peer.ID) error {
	if s.cfg.Deposit == nil {
		return nil
	}
	// Only for accepted contacts: the grant of someone removed since, or
	// of a fellow group member we send keys to, is not ours to use.
	if c, err := s.cfg.Store.Contact(p.String()); err != nil || c.State != parley.ContactAccepted {
		return nil
	}
	grant, err := s.cfg.Store.MailboxGrantOf(p.String())
	if errors.Is(err, parley.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	mailboxes := usable(grant)
	if len(mailboxes) == 0 {
		return nil
	}
	entries, err := s.cfg.Store.Outbox(p.String(), 0)
	if err != nil {
		return err
	}
	var todo []storage.OutboxEntry
	for _, e := range entries {
		if !e.Deposited {
			todo = append(todo, e)
		}
	}
	if len(todo) > maxDepositRound {
		todo = todo[:maxDepositRound]
	}
	if len(todo) == 0 {
		return nil
	}
	var (
		deposited []parley.EnvelopeID
		busy      error
		down      = make([]bool, len(mailboxes)) // unreachable or refused this round: not tried again
	)
	for _, e := range todo {
		held := false
		for i, mb := range mailboxes {
			if down[i] || ctx.Err() != nil {
				continue
			}
			var err error
			if s.cfg.DepositAttached != nil {
				// First what comes with it (a file's chunks): the envelope
				// is stored only once they all are, so a mailbox full
				// halfway leaves the message queued, nothing shown as sent.
				err = s.cfg.DepositAttached(ctx, p, mb, e.ID)
			}
			if err == nil {
				dctx, cancel := context.WithTimeout(ctx, depositTimeout)
				err = s.cfg.Deposit(dctx, p, mb, e.Envelope)
				cancel()
			}
			switch {
			case err == nil:
				held = true
			case errors.Is(err, ErrGrantRefused):
				s.log.Warn("dm: a contact's mailbox refused their grant; not using it until they send another", "peer", p, "mailbox", mb.PeerID, "err", err)
				down[i] = true
				if err := s.cfg.Store.RefuseGrantedMailbox(p.String(), grant.HLC, mb.PeerID); err != nil {
					return err
				}
			case errors.Is(err, ErrMailboxBusy):
				s.log.Warn("dm: queued: a contact's mailbox refused a deposit for now", "peer", p, "mailbox", mb.PeerID, "err", err)
				down[i] = true
				if busy == nil {
					busy = err
				}
			default:
				s.log.Info("dm: a contact's mailbox is unreachable", "peer", p, "mailbox", mb.PeerID, "err", err)
				down[i] = true
			}
		}
		if held {
			deposited = append(deposited, e.ID)
		}
	}
	if len(deposited) > 0 {
		changed, err := s.cfg.Store.MarkDeposited(p.String(), deposited)
		if err != nil {
			return err
		}
		s.log.Debug("dm: deposited at a contact's mailboxes", "peer", p, "envelopes", len(deposited))
		for i := range changed {
			if changed[i].Kind == parley.KindText || changed[i].Kind == parley.KindFile {
				s.cfg.Notify(parley.Event{Type: parley.EventStatus, Message: &changed[i]})
			}
		}
	}
	if busy != nil {
		s.tellQueued(todo, deposited, busy)
	}
	return busy
}

// tellQueued says, in a status event per message, why the messages of
// todo that no mailbox took stay queued.
func (s *Service) tellQueued(todo []storage.OutboxEntry, deposited []parley.EnvelopeID, busy error) {
	reason := "mailbox busy"
	if b := new(BusyError); errors.As(busy, &b) && b.Reason != "" {
		reason = b.Reason
	}
	for _, e := range todo {
		if slices.Contains(deposited, e.ID) {
			continue
		}
		m, err := s.cfg.Store.Message(e.ID)
		if err != nil || m.Kind != parley.KindText && m.Kind != parley.KindFile || m.Status != parley.StatusQueued {
			continue
		}
		s.cfg.Notify(parley.Event{Type: parley.EventStatus, Message: &m, Reason: reason})
	}
}

// DepositPending deposits, for every peer it cannot reach now, what no
// mailbox holds yet: the node is about to stop, and whatever is left for
// those peers would wait until it runs again. ctx bounds it all; what
// it does not finish stays queued (and is deposited on the next failed
// attempt after a restart).
func (s *Service) DepositPending(ctx context.Context) {
	if s.cfg.Deposit == nil {
		return
	}
	peers, err := s.cfg.Store.OutboxPeers()
	if err != nil {
		s.log.Warn("dm: listing the outbox before stopping", "err", err)
		return
	}
	var away []peer.ID
	for _, ps := range peers {
		p, err := peer.Decode(ps)
		if err != nil {
			continue
		}
		if c := s.cfg.Host.Network().Connectedness(p); c != network.Connected && c != network.Limited {
			away = append(away, p)
		}
	}
	// Network-bound: peers in parallel, a few at a time, all joined here.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, p := range away {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.deposit(ctx, p); err != nil {
				s.log.Info("dm: depositing before stopping", "peer", p, "err", err)
			}
		}()
	}
	wg.Wait()
}
