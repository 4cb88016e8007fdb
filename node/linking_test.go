package node_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	linkproto "github.com/parley-im/parley/node/link"
)

// linkEvents collects n's link events.
type linkEvents struct {
	ch <-chan parley.Event
}

func watchLink(t *testing.T, n *parleytest.Node) *linkEvents {
	t.Helper()
	return &linkEvents{ch: n.Messenger().Subscribe(t.Context())}
}

// next waits for the next link event.
func (e *linkEvents) next(t *testing.T) parley.LinkStatus {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-e.ch:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if ev.Type == parley.EventLink {
				return *ev.Link
			}
		case <-deadline:
			t.Fatal("no link event within 30 s")
		}
	}
}

func deviceIDs(t *testing.T, n *parleytest.Node) []string {
	t.Helper()
	ds, err := n.Messenger().Devices(context.Background())
	if err != nil {
		t.Fatalf("%s: Devices: %v", n.Name, err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.PeerID)
	}
	slices.Sort(ids)
	return ids
}

// TestLinkDevice: a fresh node linked by an existing one shows the same
// safety code on both sides, restarts in place on the person, lists both
// devices, and holds the existing device's contacts and a DM's history;
// the existing device lists both too, and all of it survives a restart.
func TestLinkDevice(t *testing.T) {
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	sent, err := alice.Messenger().Send(context.Background(), bob.PeerID(), "before the phone", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob to get alice's message", func() bool {
		return slices.ContainsFunc(bob.Messages(alice.PeerID()), func(m parley.Message) bool { return m.ID == sent.ID })
	})

	g := parleytest.CreateGroup(t, "family", alice, bob)

	phone := parleytest.StartNode(t, "phone")
	events := watchLink(t, phone)
	st, err := phone.Messenger().StartLink(context.Background())
	if err != nil || st.State != parley.LinkWaiting || st.Code == "" {
		t.Fatalf("StartLink = %+v, %v", st, err)
	}
	if again, err := phone.Messenger().StartLink(context.Background()); err != nil || again.Code != st.Code {
		t.Errorf("StartLink again = %+v, %v; want the same code", again, err)
	}
	var shown string
	dev, err := alice.Messenger().AcceptLink(context.Background(), st.Code, func(safety string) bool { shown = safety; return true })
	if err != nil {
		t.Fatalf("AcceptLink: %v", err)
	}
	if dev.PeerID != phone.PeerID() {
		t.Errorf("linked %+v, want the phone %s", dev, phone.PeerID())
	}
	dialed := events.next(t)
	if dialed.State != parley.LinkDialed || dialed.Safety != shown || dialed.Device != alice.PeerID() || dialed.Person != alice.PeerID() {
		t.Errorf("dialed event %+v; want alice, safety %q", dialed, shown)
	}
	if linked := events.next(t); linked.State != parley.LinkLinked || linked.Person != alice.PeerID() {
		t.Errorf("linked event %+v", linked)
	}

	both := []string{alice.PeerID(), phone.PeerID()}
	slices.Sort(both)
	check := func() {
		t.Helper()
		parleytest.Eventually(t, "the phone to restart on alice's person", func() bool {
			return slices.Equal(deviceIDs(t, phone), both)
		})
		if got := deviceIDs(t, alice); !slices.Equal(got, both) {
			t.Errorf("alice's devices %v, want %v", got, both)
		}
		contacts, err := phone.Messenger().Contacts(context.Background())
		if err != nil || len(contacts) != 1 || contacts[0].PeerID != bob.PeerID() {
			t.Fatalf("the phone's contacts %+v (%v), want bob alone", contacts, err)
		}
		if !slices.ContainsFunc(phone.Messages(bob.PeerID()), func(m parley.Message) bool { return m.ID == sent.ID && m.Text == "before the phone" }) {
			t.Errorf("the phone does not hold alice's message to bob: %+v", phone.Messages(bob.PeerID()))
		}
		if name := phone.Messenger().Self().Name; name != "alice" {
			t.Errorf("the phone is called %q, want alice's name", name)
		}
		// Writing from a linked device is not built: refused, and nothing
		// stored (it would reach bob as a stranger's, and the group would
		// refuse it). The first device writes as before.
		ctx := context.Background()
		if _, err := phone.Messenger().Send(ctx, bob.PeerID(), "from the phone", parley.ClientID{}); !errors.Is(err, parley.ErrLinkedDeviceWrite) {
			t.Errorf("the phone sending to bob: %v, want ErrLinkedDeviceWrite", err)
		}
		if _, err := phone.Messenger().SendToGroup(ctx, g.String(), "from the phone", parley.ClientID{}); !errors.Is(err, parley.ErrLinkedDeviceWrite) {
			t.Errorf("the phone writing to the group: %v, want ErrLinkedDeviceWrite", err)
		}
		if slices.ContainsFunc(phone.Messages(bob.PeerID()), func(m parley.Message) bool { return m.Text == "from the phone" }) {
			t.Error("the phone stored the DM it refused")
		}
		if _, err := alice.Messenger().SendToGroup(ctx, g.String(), "from alice's first device", parley.ClientID{}); err != nil {
			t.Errorf("alice writing to the group: %v", err)
		}
	}
	check()
	phone.Name, alice.Name = "", ""
	phone.Restart()
	alice.Restart()
	check()
}

// TestLinkRefused: a wrong secret is refused and the code still links
// afterwards; an expired code is refused; a node with contacts cannot be
// linked; a declined link ends the code.
func TestLinkRefused(t *testing.T) {
	t.Run("wrong secret, then the right code", func(t *testing.T) {
		alice, phone := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "phone")
		st, err := phone.Messenger().StartLink(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		lc, err := identity.ParseLinkCode(st.Code)
		if err != nil {
			t.Fatal(err)
		}
		lc.Secret[0] ^= 1
		wrong, err := identity.EncodeLinkCode(phoneKey(t, phone), lc.Secret, lc.Hint)
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.Messenger().AcceptLink(context.Background(), wrong, func(string) bool { return true })
		if !errors.Is(err, parley.ErrLinkRefused) || !errors.Is(err, identity.ErrWrongLinkSecret) {
			t.Fatalf("a wrong secret: %v", err)
		}
		if st := phone.Messenger().LinkStatus(context.Background()); st.State != parley.LinkWaiting {
			t.Fatalf("after a wrong secret the code is %q, want still waiting", st.State)
		}
		if _, err := alice.Messenger().AcceptLink(context.Background(), st.Code, func(string) bool { return true }); err != nil {
			t.Fatalf("the right code after a wrong one: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		var ahead atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		alice := parleytest.StartNode(t, "alice")
		phone := parleytest.StartNode(t, "phone", func(c *node.Config) { c.LinkClock = clock })
		st, err := phone.Messenger().StartLink(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ahead.Store(int64(identity.LinkCodeLifetime))
		_, err = alice.Messenger().AcceptLink(context.Background(), st.Code, func(string) bool { return true })
		if !errors.Is(err, parley.ErrLinkRefused) || !errors.Is(err, identity.ErrLinkCodeExpired) {
			t.Fatalf("an expired code: %v", err)
		}
		if got := deviceIDs(t, alice); len(got) != 1 {
			t.Errorf("alice lists %v after a refused link", got)
		}
	})
	t.Run("not fresh", func(t *testing.T) {
		alice, phone, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "phone"), parleytest.StartNode(t, "carol")
		st, err := phone.Messenger().StartLink(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		parleytest.Befriend(t, phone, carol)
		_, err = alice.Messenger().AcceptLink(context.Background(), st.Code, func(string) bool { return true })
		if !errors.Is(err, parley.ErrLinkRefused) || !errors.Is(err, linkproto.ErrNotFresh) {
			t.Fatalf("linking a node with contacts: %v", err)
		}
		if _, err := phone.Messenger().StartLink(context.Background()); !errors.Is(err, parley.ErrLinkRefused) {
			t.Errorf("StartLink on a node with contacts = %v, want ErrLinkRefused", err)
		}
	})
	t.Run("declined", func(t *testing.T) {
		alice, phone := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "phone")
		events := watchLink(t, phone)
		st, err := phone.Messenger().StartLink(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.Messenger().AcceptLink(context.Background(), st.Code, func(string) bool { return false })
		if !errors.Is(err, parley.ErrLinkRefused) {
			t.Fatalf("declined: %v", err)
		}
		if ev := events.next(t); ev.State != parley.LinkDialed {
			t.Errorf("first event %+v, want dialed", ev)
		}
		if ev := events.next(t); ev.State != parley.LinkRefused || ev.Error == "" {
			t.Errorf("second event %+v, want refused with a reason", ev)
		}
		if got := deviceIDs(t, alice); len(got) != 1 {
			t.Errorf("alice lists %v after a declined link", got)
		}
	})
}

// phoneKey is n's public key, which its link codes carry.
func phoneKey(t *testing.T, n *parleytest.Node) crypto.PubKey {
	t.Helper()
	p, err := peer.Decode(n.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	k, err := p.ExtractPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
