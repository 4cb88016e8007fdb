package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/files"
	"github.com/parley-im/parley/node/mailbox"
	"github.com/parley-im/parley/storage"
)

// Small files through mailboxes (PROTOCOL.md §9.11): a DM file offer of at
// most Config.MailboxFileLimit bytes goes to the recipient's mailboxes
// with its chunks, each sealed under a key derived from the file's key
// (node/files), so the file completes at the recipient while we are
// offline.

const (
	// mailChunkBatch is how many chunk items one one-time identity
	// deposits: within a mailbox's burst of requests per connection, and
	// a megabyte a stranger's stream carries well within its minute.
	mailChunkBatch = 16
	// mailChunkBatchTimeout bounds one batch: a one-time host's dial and
	// mailChunkBatch round trips of 64 KiB.
	mailChunkBatchTimeout = time.Minute
	// fileRecordWait bounds the wait for SendFile to record the file of an
	// offer it sent (a store write).
	fileRecordWait = 2 * time.Second
)

// mailFileLimit resolves Config.MailboxFileLimit.
func mailFileLimit(limit int64) int64 {
	switch {
	case limit == 0:
		return files.DefaultMailFile
	case limit < 0:
		return -1
	}
	return min(limit, files.MaxMailFile)
}

// depositChunksAt deposits, at one mailbox a contact granted us, the chunks
// of the file msg offers, if it is a file small enough
// (dm.Config.DepositAttached). The chunks go first and the offer after
// them (the courier's next step), so that a mailbox holding the offer
// holds the whole file. Errors are as depositAt's: a full mailbox is a
// dm.BusyError that leaves the offer queued, saying so.
func (n *Node) depositChunksAt(ctx context.Context, to peer.ID, mb storage.GrantedMailbox, msg parley.EnvelopeID) error {
	if n.mailFileLimit < 0 {
		return nil
	}
	m, err := n.store.Message(msg)
	if errors.Is(err, parley.ErrNotFound) || err == nil && (m.Kind != parley.KindFile || m.FileID == "") {
		return nil
	}
	if err != nil {
		return err
	}
	chunks, err := n.files.OpenMailChunks(m.FileID, n.mailFileLimit)
	// SendFile records the file just after its offer is sent: the courier
	// or the group's deposit may be quicker. Not the offer alone.
	for wait := time.Now().Add(fileRecordWait); errors.Is(err, parley.ErrNotFound) && time.Now().Before(wait); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		chunks, err = n.files.OpenMailChunks(m.FileID, n.mailFileLimit)
	}
	if errors.Is(err, parley.ErrNotFound) {
		return fmt.Errorf("the file of offer %s is not recorded yet", msg)
	}
	if err != nil || chunks == nil {
		if err != nil {
			// Not deposited with its chunks, the offer still goes: the
			// file waits for us, as a large one does.
			n.log.Warn("depositing a file offer without its chunks", "file", m.FileID, "err", err)
		}
		return nil
	}
	defer chunks.Close()
	info, owner, cp, err := n.grantedTarget(to, mb)
	if err != nil {
		return err
	}
	opts := n.depositOptions()
	total := chunks.Len()
	// A mailbox that filled up halfway is not sent again, on each retry,
	// the chunks it took: they wait there for their offer.
	held := mbFileKey{file: m.FileID, owner: to, mailbox: mb.PeerID}
	n.mailFilesMu.Lock()
	start := n.mailFilesHeld[held]
	n.mailFilesMu.Unlock()
	for ; start < total; start += mailChunkBatch {
		k := min(mailChunkBatch, total-start)
		bctx, cancel := context.WithTimeout(ctx, mailChunkBatchTimeout)
		err := mailbox.DepositManyOnce(bctx, info, owner, cp, k, func(i int) ([]byte, error) { return chunks.Item(start + i) }, opts...)
		cancel()
		if err != nil {
			return depositErr(err)
		}
		n.mailFilesMu.Lock()
		n.mailFilesHeld[held] = start + k
		n.mailFilesMu.Unlock()
	}
	n.mailFilesMu.Lock()
	delete(n.mailFilesHeld, held) // the offer follows, and is deposited once
	n.mailFilesMu.Unlock()
	n.log.Debug("deposited a file's chunks at a contact's mailbox", "peer", to, "file", m.FileID, "chunks", total)
	return nil
}

// mbFileKey names a file's deposit at one mailbox for one owner.
type mbFileKey struct {
	file    string
	owner   peer.ID
	mailbox string
}

// mailChunks follows the file chunk items of one fetch round.
type mailChunks struct {
	// left: items no file here took (their offer comes later in the
	// round, say); offers: file offers stored this pass (and group
	// messages, which may be).
	left, offers int
	secondPass   bool // a second pass was made
}

// offered counts a DM stored this pass of kind k.
func (c *mailChunks) offered(k parley.Kind) {
	if k == parley.KindFile {
		c.offers++
	}
}

// groupStored counts a group message stored this pass: it may be a file
// offer (the group's ingest does not say).
func (c *mailChunks) groupStored() { c.offers++ }

// take hands a page's chunk items to the files service and returns the
// IDs the mailbox may delete.
func (c *mailChunks) take(n *Node, items []files.MailItem) ([]parley.EnvelopeID, error) {
	if len(items) == 0 {
		return nil, nil
	}
	take, err := n.files.TakeMailChunks(items)
	c.left += len(items) - len(take)
	return take, err
}

// again says whether to fetch the round's mail once more: a file's chunks
// come before its offer (§9.11), so chunks left on a pass that then
// stored an offer may be taken now. Once a round.
func (c *mailChunks) again() bool {
	if c.secondPass || c.left == 0 || c.offers == 0 {
		return false
	}
	c.secondPass, c.left, c.offers = true, 0, 0
	return true
}
