package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/storage"
)

// Strangers can fill a node's disk only up to its quota (issue 12, failure
// 1): each stranger's messages past their own quota, or past the total for
// all strangers, are refused on the wire and fail at the sender, never
// retried; a contact is never limited, and accepting a stranger lets their
// messages in again and frees room for the others.
func TestStrangersStayWithinTheirQuota(t *testing.T) {
	ctx := context.Background()
	quota := storage.Quota{PeerCount: 5, PeerBytes: 100 << 10, TotalCount: 8, TotalBytes: 1 << 20}
	bob := parleytest.StartNode(t, "bob", func(c *node.Config) { c.StrangerQuota = quota })
	alice := parleytest.StartNode(t, "alice")
	parleytest.Befriend(t, alice, bob)
	// Strangers: they know bob, bob does not know them.
	stranger := func(name string) *parleytest.Node {
		n := parleytest.StartNode(t, name)
		if _, _, err := n.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "bob"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// send writes texts to bob and waits until each is delivered or
	// failed; it returns the delivered ones, in order, and how many failed.
	send := func(from *parleytest.Node, texts ...string) (delivered []parley.Message, failed int) {
		t.Helper()
		var sent []parley.Message
		for _, text := range texts {
			m, err := from.Messenger().Send(ctx, "bob", text, parley.ClientID{})
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, m)
		}
		parleytest.Eventually(t, from.Name+"'s messages answered", func() bool {
			for _, m := range sent {
				if s := from.StatusOf("bob", m.ID); s != parley.StatusDelivered && s != parley.StatusFailed {
					return false
				}
			}
			return true
		})
		for _, m := range sent {
			if from.StatusOf("bob", m.ID) == parley.StatusFailed {
				failed++
			} else {
				delivered = append(delivered, m)
			}
		}
		return delivered, failed
	}
	short := func(who string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s #%d", who, i))
		}
		return out
	}
	holds := func(from *parleytest.Node, want []parley.Message) {
		t.Helper()
		got := bob.Messages(from.PeerID())
		if !slices.EqualFunc(got, want, func(a, b parley.Message) bool { return a.ID == b.ID }) {
			t.Fatalf("bob holds %d messages from %s, want the %d delivered", len(got), from.Name, len(want))
		}
	}

	// Mallory is held to 5 messages.
	mallory := stranger("mallory")
	malloryIn, failed := send(mallory, short("mallory", 7)...)
	if len(malloryIn) != 5 || failed != 2 {
		t.Fatalf("mallory: %d delivered and %d failed, want 5 and 2", len(malloryIn), failed)
	}
	holds(mallory, malloryIn)

	// Eve's long messages are held to 100 KiB: one fits.
	eve := stranger("eve")
	long := strings.Repeat("x", parley.MaxTextBytes-1)
	eveIn, failed := send(eve, long, long+"!", long+"?")
	if len(eveIn) != 1 || failed != 2 {
		t.Fatalf("eve: %d delivered and %d failed, want 1 and 2", len(eveIn), failed)
	}
	holds(eve, eveIn)

	// Trudy has her own quota, but only 2 remain of the total of 8.
	trudy := stranger("trudy")
	trudyIn, failed := send(trudy, short("trudy", 4)...)
	if len(trudyIn) != 2 || failed != 2 {
		t.Fatalf("trudy: %d delivered and %d failed, want 2 and 2", len(trudyIn), failed)
	}
	holds(trudy, trudyIn)
	own, total, err := bob.StrangerUsage(eve.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if total.Count != 8 || total.Bytes > quota.TotalBytes || own.Bytes > quota.PeerBytes {
		t.Fatalf("strangers take %+v in all (eve %+v), quota %+v", total, own, quota)
	}

	// A contact is not limited, even with the strangers' room full.
	if in, failed := send(alice, short("alice", 10)...); len(in) != 10 || failed != 0 {
		t.Fatalf("alice (a contact): %d delivered and %d failed", len(in), failed)
	}

	// Accepting mallory lets her in, and frees her room for trudy.
	if _, err := bob.Messenger().Accept(ctx, mallory.PeerID()); err != nil {
		t.Fatal(err)
	}
	if in, failed := send(mallory, short("mallory again", 3)...); len(in) != 3 || failed != 0 {
		t.Fatalf("mallory accepted: %d delivered and %d failed", len(in), failed)
	}
	more, failed := send(trudy, "trudy, once there is room")
	if len(more) != 1 || failed != 0 {
		t.Fatalf("trudy after mallory was accepted: %d delivered and %d failed", len(more), failed)
	}
	holds(trudy, append(trudyIn, more...))
}
