package node_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/node/mailbox"
)

// TestMailboxService: a node started with MailboxService answers a mailbox
// client, and its status shows the owners it now serves; a node without
// it does not speak the protocol.
func TestMailboxService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serving := parleytest.StartNode(t, "Mailbox", func(c *node.Config) { c.MailboxService = true })
	plain := parleytest.StartNode(t, "Plain")
	if st := plain.Messenger().Status(); st.MailboxService {
		t.Fatalf("a node started without MailboxService says it serves mailboxes")
	}

	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	if c, err := mailbox.Dial(ctx, h, plain.AddrInfo()); err == nil {
		// The stream opens lazily: the refusal shows at the first request.
		_, err = c.Status(ctx)
		c.Close()
		if err == nil {
			t.Fatalf("a node without the mailbox service answered a mailbox request")
		}
	}

	c, err := mailbox.Dial(ctx, h, serving.AddrInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mb := serving.Host().ID()
	key, err := mailbox.DeriveDepositKey(sk, mb, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	st, err := c.Register(ctx, sk, mailbox.Registration{IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour), DepositKey: key})
	if err != nil {
		t.Fatalf("registering with the node's mailbox: %v", err)
	}
	if st.MaxCount != 10_000 {
		t.Errorf("quota %d envelopes, want the default 10,000", st.MaxCount)
	}
	owner, err := mailbox.OwnerOf(sk.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	capa := mailbox.IssueCapability(key, owner)
	if err := mailbox.DepositOnce(ctx, peer.AddrInfo{ID: mb, Addrs: serving.Host().Addrs()}, owner, &capa, []byte("sealed elsewhere")); err != nil {
		t.Fatalf("deposit: %v", err)
	}
	got := serving.Messenger().Status()
	if !got.MailboxService || got.Mailbox.Owners != 1 || got.Mailbox.Envelopes != 1 || got.Mailbox.Bytes <= 0 {
		t.Fatalf("status: serving %v, load %+v; want serving, 1 owner, 1 envelope", got.MailboxService, got.Mailbox)
	}
}
