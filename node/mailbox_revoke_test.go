package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node/mailbox"
	mailboxpb "github.com/parley-im/parley/node/mailbox/pb"
	"github.com/parley-im/parley/storage"
)

// Tests of taking back deposit capabilities (PROTOCOL.md §9.7): revoking
// one contact, and resetting a mailbox's deposit key.

// probe deposits a throwaway envelope for owner at the mailbox of a grant,
// with the grant's capability, as the grant's holder would: nil if the
// mailbox took it.
func probe(t *testing.T, owner *parleytest.Node, g storage.GrantedMailbox) error {
	t.Helper()
	p, err := peer.Decode(owner.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := p.ExtractPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := mailbox.OwnerOf(pub)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := peer.Decode(g.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	info := peer.AddrInfo{ID: mb}
	for _, s := range g.Addrs {
		info.Addrs = append(info.Addrs, ma.StringCast(s))
	}
	var c mailbox.Capability
	copy(c.Nonce[:], g.Nonce)
	copy(c.Token[:], g.Token)
	env := append([]byte("sealed elsewhere "), rand.Text()...) // a new envelope ID each time
	return mailbox.DepositOnce(context.Background(), info, id, &c, env)
}

// wantRefused fails unless err is the mailbox refusing the capability.
func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if code, ok := mailbox.RefusalCode(err); !ok || code != mailboxpb.Code_CODE_BAD_CAPABILITY {
		t.Fatalf("%s: %v, want BAD_CAPABILITY", what, err)
	}
}

// grantAt is holder's grant from owner at its one mailbox, once it differs
// from old (nil: any).
func grantAt(t *testing.T, holder, owner *parleytest.Node, old *storage.GrantedMailbox) storage.GrantedMailbox {
	t.Helper()
	var got storage.GrantedMailbox
	parleytest.Eventually(t, holder.Name+" holding a new grant from "+owner.Name, func() bool {
		g, err := holder.MailboxGrantOf(owner.PeerID())
		if err != nil || len(g.Mailboxes) != 1 || g.Mailboxes[0].Refused {
			return false
		}
		got = g.Mailboxes[0]
		return old == nil || !bytes.Equal(got.Token, old.Token)
	})
	return got
}

// TestMailboxRevokeContact: Bob revokes Alice's capability. His mailbox
// refuses her deposits from then on, and Alice gets an empty grant, so
// her message to offline Bob stays queued, saying why, and reaches Bob
// directly once he is back, once. Undoing it makes her capability good
// again and gives it back to her: her next message to offline Bob is
// stored at the mailbox.
func TestMailboxRevokeContact(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	g := grantAt(t, alice, bob, nil)
	awaitSettled(t, alice, bob)
	if err := probe(t, bob, g); err != nil {
		t.Fatalf("depositing with Alice's capability before: %v", err)
	}

	ctx := context.Background()
	c, err := bob.Messenger().RevokeMailboxCapability(ctx, "alice", true)
	if err != nil || !c.MailboxRevoked || c.PeerID != alice.PeerID() {
		t.Fatalf("revoking Alice: %+v, %v", c, err)
	}
	wantRefused(t, "depositing with Alice's revoked capability", probe(t, bob, g))
	awaitGrant(t, alice, bob) // empty: she stops depositing
	list, err := bob.Messenger().Mailboxes(ctx)
	if err != nil || len(list) != 1 || !slices.Equal(list[0].Revoked, []string{alice.PeerID()}) {
		t.Fatalf("Bob's mailboxes: %+v, %v; want Alice listed revoked", list, err)
	}
	if cs, err := bob.Messenger().Contacts(ctx); err != nil || len(cs) != 1 || !cs[0].MailboxRevoked {
		t.Fatalf("Bob's contacts: %+v, %v; want Alice marked revoked", cs, err)
	}
	// Kept over a restart, with the mailbox told again.
	bob.Restart()
	wantRefused(t, "depositing with Alice's revoked capability after Bob restarted", probe(t, bob, g))
	parleytest.Eventually(t, "Bob fetching the probe the mailbox took", func() bool {
		return m.Messenger().Status().Mailbox.Envelopes == 0
	})

	bob.Stop()
	sent := sendTexts(t, alice, bob.PeerID(), "while revoked")
	parleytest.Eventually(t, "Alice's message queued, saying why", func() bool {
		return reasonsOf(t, alice, bob.PeerID())[sent[0].ID] == "recipient offline"
	})
	if q, err := alice.Outbox(bob.PeerID()); err != nil || len(q) != 1 || q[0].Deposited {
		t.Fatalf("Alice's outbox for Bob: %+v, %v; want her message, in no mailbox", q, err)
	}
	if load := m.Messenger().Status().Mailbox; load.Envelopes != 0 {
		t.Fatalf("the mailbox holds %d envelopes, want none", load.Envelopes)
	}
	bob.Start()
	parleytest.Eventually(t, "Alice's message delivered directly", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusDelivered)
	})
	if got := textsFrom(t, bob, alice.PeerID()); !slices.Equal(got, []string{"while revoked"}) {
		t.Fatalf("Bob shows %q, want it once", got)
	}
	if r := reasonsOf(t, alice, bob.PeerID())[sent[0].ID]; r != "" {
		t.Fatalf("the delivered message's reason: %q, want none", r)
	}

	c, err = bob.Messenger().RevokeMailboxCapability(ctx, alice.PeerID(), false)
	if err != nil || c.MailboxRevoked {
		t.Fatalf("undoing: %+v, %v", c, err)
	}
	if got := grantAt(t, alice, bob, nil); !bytes.Equal(got.Token, g.Token) {
		t.Fatal("Alice's grant after the undo is not her capability")
	}
	if err := probe(t, bob, g); err != nil {
		t.Fatalf("depositing with Alice's capability after the undo: %v", err)
	}
	awaitSettled(t, alice, bob)
	bob.Stop()
	again := sendTexts(t, alice, bob.PeerID(), "after the undo")
	parleytest.Eventually(t, "Alice's message stored at Bob's mailbox", func() bool {
		return allStatus(t, alice, bob.PeerID(), again, parley.StatusStored)
	})
}

// setGeneration writes a mailbox's generation into a stopped node's
// settings, as a crash right after ResetMailbox kept it would leave them.
func setGeneration(t *testing.T, n *parleytest.Node, generation int) {
	t.Helper()
	path := filepath.Join(n.Dir, "settings.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	s["mailboxes"].([]any)[0].(map[string]any)["generation"] = generation
	if b, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMailboxReset: resetting Bob's mailbox refuses every capability
// issued there before, and Alice gets a new one that works, also after
// Bob restarts. A crash after the new generation was kept and before the
// mailbox was told is finished on the next start: Bob registers the new
// key and sends the new grants then. Alice's message to offline Bob goes
// through the newest grant.
func TestMailboxReset(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	g0 := grantAt(t, alice, bob, nil)
	awaitSettled(t, alice, bob)

	ctx := context.Background()
	list, err := bob.Messenger().ResetMailbox(ctx, "")
	if err != nil || len(list) != 1 || list[0].Generation != 1 {
		t.Fatalf("resetting: %+v, %v; want the mailbox at generation 1", list, err)
	}
	wantRefused(t, "depositing with the capability from before the reset", probe(t, bob, g0))
	g1 := grantAt(t, alice, bob, &g0)
	if err := probe(t, bob, g1); err != nil {
		t.Fatalf("depositing with the new capability: %v", err)
	}

	bob.Restart()
	if list, err := bob.Messenger().Mailboxes(ctx); err != nil || list[0].Generation != 1 {
		t.Fatalf("Bob's mailboxes after a restart: %+v, %v; want generation 1", list, err)
	}
	wantRefused(t, "the old capability after Bob restarted", probe(t, bob, g0))
	if err := probe(t, bob, g1); err != nil {
		t.Fatalf("the new capability after Bob restarted: %v", err)
	}

	awaitSettled(t, alice, bob)
	bob.Stop()
	setGeneration(t, bob, 2)
	bob.Start()
	g2 := grantAt(t, alice, bob, &g1)
	wantRefused(t, "generation 1's capability once Bob started at generation 2", probe(t, bob, g1))
	if err := probe(t, bob, g2); err != nil {
		t.Fatalf("generation 2's capability: %v", err)
	}
	if _, err := bob.Messenger().ResetMailbox(ctx, "12D3KooWnotamailbox"); err == nil {
		t.Fatal("resetting a mailbox that is not Bob's: no error")
	}

	awaitSettled(t, alice, bob)
	bob.Stop()
	sent := sendTexts(t, alice, bob.PeerID(), "through the new key")
	parleytest.Eventually(t, "Alice's message stored at Bob's mailbox", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusStored)
	})
	alice.Stop()
	bob.Start()
	parleytest.Eventually(t, "Bob showing Alice's message", func() bool {
		return len(textsFrom(t, bob, alice.PeerID())) == 1
	})
}

// TestMailboxReAddedKeepsRevocations: a mailbox the user removes and adds
// again takes a new deposit key, so a capability from before the removal
// (and so from before a reset) does not work there again; the contact's
// new grant does.
func TestMailboxReAddedKeepsRevocations(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	g0 := grantAt(t, alice, bob, nil)
	awaitSettled(t, alice, bob)

	ctx := context.Background()
	if err := bob.Messenger().RemoveMailbox(ctx, m.PeerID()); err != nil {
		t.Fatal(err)
	}
	bob.Restart() // what is kept of the removed mailbox is on disk
	addMailbox(t, bob, m)
	if list, err := bob.Messenger().Mailboxes(ctx); err != nil || len(list) != 1 || list[0].Generation != 1 {
		t.Fatalf("Bob's mailboxes once added again: %+v, %v; want it at generation 1", list, err)
	}
	wantRefused(t, "the capability from before the removal", probe(t, bob, g0))
	g1 := grantAt(t, alice, bob, &g0)
	if err := probe(t, bob, g1); err != nil {
		t.Fatalf("the capability granted once it was added again: %v", err)
	}
}
