package node

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Group receipts (PROTOCOL.md §10.3). Each member tells the group which of
// its messages it got and read, in GroupReceipt envelopes sealed under the
// group key, stored, gossiped, synced and left at mailboxes like any
// other; the store indexes them per message and member
// (storage/group_receipts.go), so every member sees "read by 3 of 5" and
// who.
//
// Cost: one receipt per message per member would make a group of n
// members exchange n² envelopes per n messages. So receipts are batched:
// what a member got or read waits up to Config.ReceiptDelay, then goes in
// one envelope per group (up to identity.MaxReceiptIDs IDs, the rest in
// the next round), so each member writes at most one receipt envelope per
// group per ReceiptDelay however busy the group is, and in a group of more
// than receiptGroupUnit members less often (receiptSpacing): a group of 50
// where everyone is active costs each member about 10 small envelopes per
// ReceiptDelay (about 200 bytes plus 32 per ID, before padding). Messages
// older than receiptMaxAge (a member back from a long absence, or one
// joining a group with shared history) are not receipted.

// DefaultReceiptDelay is how long receipts wait to be batched.
const DefaultReceiptDelay = 2 * time.Second

// receiptGroupUnit: in a group of more members than this, each member's
// receipts for it go out at most once per ReceiptDelay × ⌈members /
// receiptGroupUnit⌉, so that a group's receipt envelopes stay at about
// receiptGroupUnit per ReceiptDelay however many members write them. Each
// is stored (synced) and indexed by every member: at one per member per
// ReceiptDelay, a group of 30 in which something was said every couple of
// seconds cost each member 15 synced writes a second for receipts alone,
// and twelve times the CPU per message of the same group without them
// (BenchmarkGroupLatency). Receipts in a large group show that much later.
const receiptGroupUnit = 10

// receiptSpacing is how often a member sends receipts to a group of the
// given size.
func receiptSpacing(delay time.Duration, members int) time.Duration {
	return delay * time.Duration(max(1, (members+receiptGroupUnit-1)/receiptGroupUnit))
}

// receiptMaxAge: older messages get no receipts.
const receiptMaxAge = 7 * 24 * time.Hour

// receiptUpdates caps the messages a receipt arriving announces as updated
// (EventUpdate): a catch-up's receipts name thousands, which the GUI reads
// when it lists them anyway.
const receiptUpdates = 64

// receiptBatcher holds the receipts waiting to be sent, per group.
// Node.receiptLoop sends them; the node owns it and stops it on Close.
type receiptBatcher struct {
	delay   time.Duration
	readOff atomic.Bool   // Settings.ReadReceipts is off
	kick    chan struct{} // capacity 1
	// spacing is the least time between two receipt envelopes to a
	// group (nil: delay).
	spacing func(parley.ConversationID) time.Duration

	mu      sync.Mutex
	pending map[parley.ConversationID]*receiptBatch // guarded by mu
	sent    map[parley.ConversationID]time.Time     // guarded by mu: the last envelope taken, per group
}

type receiptBatch struct {
	delivered, read map[parley.EnvelopeID]bool
}

func newReceiptBatcher(delay time.Duration, readOff bool) *receiptBatcher {
	if delay <= 0 {
		delay = DefaultReceiptDelay
	}
	b := &receiptBatcher{delay: delay, kick: make(chan struct{}, 1), pending: make(map[parley.ConversationID]*receiptBatch),
		sent: make(map[parley.ConversationID]time.Time)}
	b.readOff.Store(readOff)
	return b
}

// add queues receipts for messages of conv: delivered, or read (which
// says delivered too).
func (b *receiptBatcher) add(conv parley.ConversationID, ids []parley.EnvelopeID, read bool) {
	if len(ids) == 0 || read && b.readOff.Load() {
		return
	}
	b.mu.Lock()
	p := b.pending[conv]
	if p == nil {
		p = &receiptBatch{delivered: make(map[parley.EnvelopeID]bool), read: make(map[parley.EnvelopeID]bool)}
		b.pending[conv] = p
	}
	for _, id := range ids {
		if read {
			p.read[id] = true
			delete(p.delivered, id)
		} else if !p.read[id] {
			p.delivered[id] = true
		}
	}
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// take removes and returns, for each group, one envelope's worth of
// receipts: read first. Unless all, a group whose last envelope was taken
// less than its spacing before now waits.
func (b *receiptBatcher) take(now time.Time, all bool) map[parley.ConversationID][2][]parley.EnvelopeID {
	last := make(map[parley.ConversationID]time.Time) // of the groups waiting
	b.mu.Lock()
	for conv := range b.pending {
		last[conv] = b.sent[conv]
	}
	b.mu.Unlock()
	due := slices.Collect(maps.Keys(last))
	if !all && b.spacing != nil {
		// Spacing looks the group up: not under mu, which add takes on
		// the receive path.
		due = slices.DeleteFunc(due, func(conv parley.ConversationID) bool {
			return now.Before(last[conv].Add(b.spacing(conv)))
		})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[parley.ConversationID][2][]parley.EnvelopeID)
	for _, conv := range due {
		p := b.pending[conv]
		if p == nil {
			continue
		}
		if len(b.sent) >= maxReceiptGroups && b.sent[conv].IsZero() {
			clear(b.sent) // bounded: at worst a group sends one round early
		}
		b.sent[conv] = now
		var read, delivered []parley.EnvelopeID
		for id := range p.read {
			if len(read) == identity.MaxReceiptIDs {
				break
			}
			read = append(read, id)
			delete(p.read, id)
		}
		for id := range p.delivered {
			if len(read)+len(delivered) == identity.MaxReceiptIDs {
				break
			}
			delivered = append(delivered, id)
			delete(p.delivered, id)
		}
		if len(p.read)+len(p.delivered) == 0 {
			delete(b.pending, conv)
		}
		sortIDs(read)
		sortIDs(delivered)
		out[conv] = [2][]parley.EnvelopeID{delivered, read}
	}
	return out
}

// more reports whether receipts still wait.
func (b *receiptBatcher) more() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending) > 0
}

func sortIDs(ids []parley.EnvelopeID) {
	slices.SortFunc(ids, func(a, b parley.EnvelopeID) int { return slices.Compare(a[:], b[:]) })
}

// receiptLoop sends batched group receipts until the node closes: after a
// kick it waits the delay, sends one envelope per group, and goes on while
// receipts wait.
func (n *Node) receiptLoop() {
	defer n.wg.Done()
	b := n.receipts
	timer := time.NewTimer(b.delay)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-b.kick:
		}
		timer.Reset(b.delay)
		select {
		case <-n.ctx.Done():
			return
		case <-timer.C:
		}
		n.sendReceipts(false)
		if b.more() {
			select {
			case b.kick <- struct{}{}:
			default:
			}
		}
	}
}

// maxReceiptGroups bounds the groups whose last receipt time is kept.
const maxReceiptGroups = 4096

// sendReceipts sends one envelope's worth of waiting receipts per group
// that is due one (all: every group, as the node stops).
func (n *Node) sendReceipts(all bool) {
	n.receipts.send(time.Now(), all, func(conv parley.ConversationID, delivered, read []parley.EnvelopeID) error {
		_, err := n.groups.SendReceipt(conv, delivered, read)
		if err != nil {
			n.log.Debug("group receipts: not sent", "group", conv, "err", err)
		}
		return err
	})
}

// send takes what is due (see take) and sends it, one envelope per group.
// What fails to go for a reason that may pass (a full disk, a rekey on its
// way) waits for the group's next round: dropped, the author would never
// learn that we got or read those messages. Stopping (all) retries
// nothing, so that it ends.
func (b *receiptBatcher) send(now time.Time, all bool, send func(conv parley.ConversationID, delivered, read []parley.EnvelopeID) error) {
	for conv, ids := range b.take(now, all) {
		if err := send(conv, ids[0], ids[1]); err != nil && !all && receiptMayGoLater(err) {
			b.add(conv, ids[1], true)
			b.add(conv, ids[0], false)
		}
	}
}

// receiptMayGoLater: a receipt that failed to go with err may go later;
// not once we are out of the group, or it is gone, or the node stops.
func receiptMayGoLater(err error) bool {
	return !errors.Is(err, parley.ErrNotMember) && !errors.Is(err, parley.ErrUnknownGroup) &&
		!errors.Is(err, context.Canceled)
}

// flushReceipts sends every receipt waiting, as the node stops.
func (n *Node) flushReceipts() {
	for n.receipts.more() {
		n.sendReceipts(true)
	}
}

// onGroupStored queues a delivery receipt for a group message from
// another member (one we wrote needs none), and announces what a receipt
// arriving changed.
func (n *Node) onGroupStored(e parley.Event) {
	if e.Type != parley.EventMessage || e.Message == nil {
		return
	}
	m := e.Message
	if !m.Outgoing && shown(*m) && time.Since(m.SentAt()) < receiptMaxAge {
		n.receipts.add(m.Conversation, []parley.EnvelopeID{m.ID}, false)
	}
}

// receiptArrived announces, as updates, the messages of ours a group
// receipt names (up to receiptUpdates): the GUI shows "read by" on those.
func (n *Node) receiptArrived(m parley.Message) {
	if m.Receipted == nil || m.Outgoing {
		return
	}
	ids := slices.Concat(m.Receipted.Read, m.Receipted.Delivered)
	sortIDs(ids)
	ids = slices.Compact(ids)
	// In one read, and the updates folded together: a receipt names every
	// message its member got since its last, most of them not ours.
	held, err := n.store.MessagesByID(ids)
	if err != nil {
		n.log.Warn("reading the messages a group receipt names", "err", err)
		return
	}
	var ours []parley.Message
	for _, id := range ids {
		if len(ours) == receiptUpdates {
			break
		}
		if t, ok := held[id]; ok && t.Conversation == m.Conversation && t.Outgoing {
			ours = append(ours, t)
		}
	}
	msgs, err := n.decorate(ours)
	if err != nil {
		n.log.Warn("reading messages a group receipt updated", "err", err)
		return
	}
	for i := range msgs {
		n.hub.publish(parley.Event{Type: parley.EventUpdate, Message: &msgs[i]})
	}
}

// readGroup queues read receipts for messages of conv the user was shown.
func (n *Node) readGroup(conv parley.ConversationID, msgs []parley.Message, ids []parley.EnvelopeID) {
	recent := make(map[parley.EnvelopeID]bool)
	for _, m := range msgs {
		if time.Since(m.SentAt()) < receiptMaxAge {
			recent[m.ID] = true
		}
	}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id parley.EnvelopeID) bool { return !recent[id] })
	n.receipts.add(conv, ids, true)
}

// noteDMReceipts records when a DM of ours reached its recipient or was
// read (for Message info), and when we got and read theirs: the DM's
// status says how far, not when.
func (n *Node) noteDMReceipts(e parley.Event) {
	m := e.Message
	if m == nil {
		return
	}
	now := parley.NewHLC(time.Now(), 0)
	var member string
	var delivered, read []parley.EnvelopeID
	switch {
	case e.Type == parley.EventStatus && m.Outgoing && m.To != "" && (m.Status == parley.StatusDelivered || m.Status == parley.StatusRead):
		member = m.To
		if m.Status == parley.StatusRead {
			read = []parley.EnvelopeID{m.ID}
		} else {
			delivered = []parley.EnvelopeID{m.ID}
		}
	default:
		// An incoming DM's own receipt is noted with its record (the dm
		// service sets storage.Record.ReceivedBy), a group's with its
		// receipts.
		return
	}
	// After the cheap tests: it reads the store.
	if _, err := n.groups.State(m.Conversation); err == nil {
		return // a group's receipts are envelopes, indexed as they are stored
	}
	if len(read) == 0 {
		// The store notes a delivery with the ack's settle: then nothing
		// is left to write, and the event waits for no sync.
		if noted, err := n.store.DeliveryNoted(m.Conversation, m.ID, member); err == nil && noted {
			return
		}
	}
	if err := n.store.NoteReceipts(m.Conversation, member, delivered, read, now); err != nil {
		n.log.Debug("noting a DM receipt", "id", m.ID, "err", err)
	}
}

// SetReadReceipts turns sending read receipts on or off, now and after
// restarts. Off, contacts and group members learn only that the user's
// node got their messages.
func (m *Messenger) SetReadReceipts(ctx context.Context, on bool) (parley.Settings, error) {
	n := m.node()
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return parley.Settings{}, err
	}
	s.ReadReceipts = &on
	if err := saveSettings(n.dataDir, s); err != nil {
		return parley.Settings{}, err
	}
	n.receipts.readOff.Store(!on)
	return m.Settings(ctx), nil
}
