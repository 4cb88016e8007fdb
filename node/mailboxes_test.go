package node_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
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

// p2pAddr is n's first address with /p2p/ID, as a user would paste it.
func p2pAddr(t *testing.T, n *parleytest.Node) string {
	t.Helper()
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.Host().ID(), Addrs: n.Host().Addrs()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	return addrs[0].String()
}

// textsFrom is the texts of the messages in bob's conversation with peer.
func textsFrom(t *testing.T, bob *parleytest.Node, peer string) []string {
	t.Helper()
	msgs, err := bob.Messenger().Messages(context.Background(), peer, parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Kind == parley.KindText {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestMailboxDelivery: Bob chooses Alice's node as his mailbox; while Bob
// is offline, a message Carol wrote him is deposited there; Carol goes
// offline too, and Bob, starting, fetches it from the mailbox, shows it
// once, and the mailbox holds nothing after. When Carol comes back and
// delivers the same envelope directly, Bob still shows it once.
func TestMailboxDelivery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice := parleytest.StartNode(t, "Alice", func(c *node.Config) { c.MailboxService = true })
	// Only start and connecting fetch in this test, not the timer.
	bob := parleytest.StartNode(t, "Bob", func(c *node.Config) { c.MailboxFetchInterval = time.Hour })
	carol := parleytest.StartNode(t, "Carol")
	parleytest.Befriend(t, bob, carol)

	if _, err := bob.Messenger().AddMailbox(ctx, p2pAddr(t, carol)); !errors.Is(err, parley.ErrMailboxUnavailable) || !strings.Contains(err.Error(), "does not hold mail for others") {
		t.Fatalf("adding a node that serves no mailbox: %v, want it to say so", err)
	}
	if _, err := bob.Messenger().AddMailbox(ctx, "/ip4/127.0.0.1/tcp/1"); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("adding an address without /p2p/: %v, want ErrMalformed", err)
	}
	mb, err := bob.Messenger().AddMailbox(ctx, p2pAddr(t, alice))
	if err != nil {
		t.Fatalf("adding Alice's node as Bob's mailbox: %v", err)
	}
	if list, err := bob.Messenger().Mailboxes(ctx); err != nil || len(list) != 1 || list[0].PeerID != alice.PeerID() || mb.PeerID != alice.PeerID() {
		t.Fatalf("Bob's mailboxes: %+v, %v; want Alice's node", list, err)
	}
	if l := alice.Messenger().Status().Mailbox; l.Owners != 1 {
		t.Fatalf("the mailbox serves %d owners, want Bob", l.Owners)
	}
	capa, owner, err := bob.MailboxCapability(alice.Host().ID())
	if err != nil {
		t.Fatal(err)
	}

	bob.Stop()
	const text = "left at the mailbox"
	if _, err := carol.Messenger().Send(ctx, bob.PeerID(), text, parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	queued, err := carol.Outbox(bob.PeerID())
	if err != nil || len(queued) != 1 {
		t.Fatalf("Carol's outbox for Bob: %d entries, %v; want 1", len(queued), err)
	}
	if err := mailbox.DepositOnce(ctx, alice.AddrInfo(), owner, &capa, queued[0].Envelope); err != nil {
		t.Fatalf("depositing Carol's envelope: %v", err)
	}
	if l := alice.Messenger().Status().Mailbox; l.Envelopes != 1 {
		t.Fatalf("the mailbox holds %d envelopes, want 1", l.Envelopes)
	}
	carol.Stop() // so the message can reach Bob only through the mailbox

	bob.Start()
	parleytest.Eventually(t, "Bob shows Carol's message from the mailbox", func() bool {
		return len(textsFrom(t, bob, carol.PeerID())) > 0
	})
	if got := textsFrom(t, bob, carol.PeerID()); !slices.Equal(got, []string{text}) {
		t.Fatalf("Bob shows %q, want %q once", got, text)
	}
	parleytest.Eventually(t, "the mailbox empty after Bob's ack", func() bool {
		return alice.Messenger().Status().Mailbox.Envelopes == 0
	})

	carol.Start()
	parleytest.Eventually(t, "Carol's direct delivery acknowledged", func() bool {
		q, err := carol.Outbox(bob.PeerID())
		return err == nil && len(q) == 0
	})
	if got := textsFrom(t, bob, carol.PeerID()); !slices.Equal(got, []string{text}) {
		t.Fatalf("after the direct delivery too, Bob shows %q, want %q once", got, text)
	}
}

// TestMailboxDropsWhatNeverOpens: mail that is no envelope, or is not from
// a contact, is refused for good: the owner acknowledges it (the mailbox
// lets it go) and shows nothing.
func TestMailboxDropsWhatNeverOpens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := parleytest.StartNode(t, "Alice", func(c *node.Config) { c.MailboxService = true })
	bob := parleytest.StartNode(t, "Bob", func(c *node.Config) { c.MailboxFetchInterval = time.Hour })
	stranger := parleytest.StartNode(t, "Stranger")
	if _, err := bob.Messenger().AddMailbox(ctx, p2pAddr(t, alice)); err != nil {
		t.Fatal(err)
	}
	capa, owner, err := bob.MailboxCapability(alice.Host().ID())
	if err != nil {
		t.Fatal(err)
	}
	// A stranger's real envelope for Bob: Bob never accepted them.
	if _, _, err := stranger.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "Bob"); err != nil {
		t.Fatal(err)
	}
	bob.Stop()
	if _, err := stranger.Messenger().Send(ctx, bob.PeerID(), "buy now", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	queued, err := stranger.Outbox(bob.PeerID())
	if err != nil || len(queued) != 1 {
		t.Fatalf("the stranger's outbox: %d, %v", len(queued), err)
	}
	stranger.Stop()
	for _, env := range [][]byte{[]byte("not an envelope"), queued[0].Envelope} {
		if err := mailbox.DepositOnce(ctx, alice.AddrInfo(), owner, &capa, env); err != nil {
			t.Fatal(err)
		}
	}
	bob.Start()
	parleytest.Eventually(t, "the mailbox empty after Bob's ack", func() bool {
		return alice.Messenger().Status().Mailbox.Envelopes == 0
	})
	if convs, err := bob.Messenger().Conversations(ctx); err != nil || len(convs) != 0 {
		t.Fatalf("Bob's conversations: %+v, %v; want none", convs, err)
	}
	if reqs, err := bob.Messenger().Requests(ctx); err != nil || len(reqs) != 0 {
		t.Fatalf("Bob's requests: %+v, %v; want none", reqs, err)
	}
}

// TestMailboxFetchOnConnect: the owner fetches when it connects to one of
// its mailboxes, not only on start and on the timer (an hour here).
func TestMailboxFetchOnConnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := parleytest.StartNode(t, "Alice", func(c *node.Config) { c.MailboxService = true })
	bob := parleytest.StartNode(t, "Bob", func(c *node.Config) { c.MailboxFetchInterval = time.Hour })
	if _, err := bob.Messenger().AddMailbox(ctx, p2pAddr(t, alice)); err != nil {
		t.Fatal(err)
	}
	capa, owner, err := bob.MailboxCapability(alice.Host().ID())
	if err != nil {
		t.Fatal(err)
	}
	// Bob may still be connected to his mailbox from adding it, and the
	// fetch that connection started may not have run yet: then it takes
	// this deposit, which is a fetch on connecting too. Otherwise the mail
	// stays (his timer is an hour) until the connection opened below.
	if err := mailbox.DepositOnce(ctx, alice.AddrInfo(), owner, &capa, []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	if err := bob.Host().Network().ClosePeer(alice.Host().ID()); err != nil {
		t.Fatal(err)
	}
	parleytest.Connect(t, bob, alice)
	parleytest.Eventually(t, "Bob fetching (and dropping) the mail on connecting", func() bool {
		return alice.Messenger().Status().Mailbox.Envelopes == 0
	})
}

// TestMailboxFetchOnTimer: mail deposited while the owner is online and
// connected to its mailbox arrives on the next periodic round.
func TestMailboxFetchOnTimer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := parleytest.StartNode(t, "Alice", func(c *node.Config) { c.MailboxService = true })
	bob := parleytest.StartNode(t, "Bob", func(c *node.Config) { c.MailboxFetchInterval = 100 * time.Millisecond })
	if _, err := bob.Messenger().AddMailbox(ctx, p2pAddr(t, alice)); err != nil {
		t.Fatal(err)
	}
	capa, owner, err := bob.MailboxCapability(alice.Host().ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := mailbox.DepositOnce(ctx, alice.AddrInfo(), owner, &capa, []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "Bob fetching (and dropping) the mail on the timer", func() bool {
		return alice.Messenger().Status().Mailbox.Envelopes == 0
	})
}
