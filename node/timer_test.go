package node_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// testClock is the expiry clock of a test's nodes: real time plus an
// offset the test moves forward, so that a five-minute timer runs out at
// once.
type testClock struct{ ahead atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

func (c *testClock) advance(d time.Duration) { c.ahead.Add(int64(d)) }

func (c *testClock) option() parleytest.Option {
	return func(cfg *node.Config) { cfg.ExpiryClock = c.now }
}

func setTimer(t *testing.T, n *parleytest.Node, conv string, d time.Duration) parley.ConversationTimer {
	t.Helper()
	tm, err := n.Messenger().SetTimer(context.Background(), conv, d)
	if err != nil {
		t.Fatalf("%s: timer %s %s: %v", n.Name, conv, d, err)
	}
	return tm
}

func timerOn(t *testing.T, n *parleytest.Node, conv string) parley.ConversationTimer {
	t.Helper()
	tm, err := n.Messenger().Timer(context.Background(), conv)
	if err != nil {
		t.Fatalf("%s: timer of %s: %v", n.Name, conv, err)
	}
	return tm
}

// holdsNone waits until n's open store holds none of needles, in any key
// or value, any version; then has it compact and collect its value log,
// and looks again.
func holdsNone(t *testing.T, n *parleytest.Node, needles ...string) {
	t.Helper()
	for _, c := range needles {
		parleytest.Eventually(t, n.Name+" holding no trace of "+c, func() bool {
			held, err := n.StoreHolds(c)
			return err == nil && !held
		})
	}
	if err := n.ReclaimStore(); err != nil {
		t.Fatalf("%s: reclaim: %v", n.Name, err)
	}
	for _, c := range needles {
		if held, err := n.StoreHolds(c); err != nil || held {
			t.Errorf("%s holds %q after value-log GC (err %v)", n.Name, c, err)
		}
	}
}

func listed(msgs []parley.Message, id parley.EnvelopeID) (parley.Message, bool) {
	i := slices.IndexFunc(msgs, func(m parley.Message) bool { return m.ID == id })
	if i < 0 {
		return parley.Message{}, false
	}
	return msgs[i], true
}

// TestDisappearingDM: either side of a DM sets the timer, shown to both as
// an event; a timer out of range is refused; concurrent changes converge.
// A text (edited) and a file sent while it is on carry the same expiry on
// both sides; when it runs out, the sender purges them, and the
// recipient, down at the time, purges them as it starts: no store holds
// the texts or the file's name, the file's record and download are gone,
// and neither lists the messages. A text sent after the timer is off
// stays.
func TestDisappearingDM(t *testing.T) {
	ctx := context.Background()
	var clock testClock
	alice, bob := parleytest.StartNode(t, "alice", clock.option()), parleytest.StartNode(t, "bob", clock.option())
	parleytest.Befriend(t, alice, bob)

	for _, d := range []time.Duration{10 * time.Second, 366 * 24 * time.Hour, 90*time.Second + time.Millisecond, -time.Minute} {
		if _, err := alice.Messenger().SetTimer(ctx, "bob", d); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("a timer of %s: %v, want ErrMalformed", d, err)
		}
	}
	if tm := timerOn(t, alice, "bob"); tm.Seconds != 0 {
		t.Fatalf("a refused timer was set: %+v", tm)
	}

	// Both set one at once: both end with the same, the later.
	var wg sync.WaitGroup
	for _, s := range []struct {
		n    *parleytest.Node
		peer string
		d    time.Duration
	}{{alice, "bob", time.Hour}, {bob, "alice", 24 * time.Hour}} {
		wg.Go(func() { setTimer(t, s.n, s.peer, s.d) })
	}
	wg.Wait()
	parleytest.Eventually(t, "both sides agreeing on the timer", func() bool {
		a, b := timerOn(t, alice, "bob"), timerOn(t, bob, "alice")
		return a.SetBy != "" && a == (parley.ConversationTimer{Conversation: b.Conversation, Seconds: b.Seconds, SetBy: b.SetBy, HLC: b.HLC})
	})
	// Then bob sets five minutes: alice sees it, and the event.
	tm := setTimer(t, bob, "alice", 5*time.Minute)
	if tm.Seconds != 300 || tm.SetBy != bob.PeerID() {
		t.Fatalf("bob's timer: %+v", tm)
	}
	if again := setTimer(t, bob, "alice", 5*time.Minute); again != tm {
		t.Errorf("setting the same timer again: %+v, want %+v", again, tm)
	}
	parleytest.Eventually(t, "alice seeing bob's timer and its event", func() bool {
		return timerOn(t, alice, "bob").Seconds == 300 && slices.ContainsFunc(alice.Messages("bob"), func(m parley.Message) bool {
			return m.Kind == parley.KindTimer && m.From == bob.PeerID() && m.Timer == 300
		})
	})

	canary, canaryEdit, bobCanary := "canary-timer "+t.Name(), "canary-timer-edit "+t.Name(), "canary-timer-bob "+t.Name()
	name := "canary-timer-file-" + t.Name() + ".txt"
	path, _ := parleytest.RandomFile(t, t.TempDir(), name, 32<<10)
	m1, err := alice.Messenger().Send(ctx, "bob", canary, parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	if want := m1.SentAt().Add(5 * time.Minute); m1.Timer != 300 || !m1.ExpiresAt().Equal(want) {
		t.Fatalf("sent with timer %d, expiring %v; want 300, %v", m1.Timer, m1.ExpiresAt(), want)
	}
	act(t, alice, parley.Action{Kind: parley.ActionEdit, Conversation: "bob", Message: m1.ID.String(), Text: canaryEdit})
	m2, err := bob.Messenger().Send(ctx, "alice", bobCanary, parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	file, err := alice.Messenger().SendFile(ctx, "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	got := bob.WaitComplete(file.ID)
	parleytest.Eventually(t, "bob holding alice's edited text, and alice bob's", func() bool {
		b, ok := listed(bob.Messages("alice"), m1.ID)
		a, ok2 := listed(alice.Messages("bob"), m2.ID)
		return ok && ok2 && b.Text == canaryEdit && b.ExpiresAt().Equal(m1.ExpiresAt()) && a.ExpiresAt().Equal(m2.ExpiresAt())
	})

	bob.Stop()
	clock.advance(6 * time.Minute)
	alice.SweepNow()
	holdsNone(t, alice, canary, canaryEdit, bobCanary, name)
	for _, m := range alice.Messages("bob") {
		if m.Kind != parley.KindTimer {
			t.Errorf("alice still lists %s %q", m.Kind, m.Text)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("alice's original file: %v", err)
	}

	bob.Start() // his sweeper catches up before anything else
	holdsNone(t, bob, canary, canaryEdit, bobCanary, name)
	for _, m := range bob.Messages("alice") {
		if m.Kind != parley.KindTimer {
			t.Errorf("bob still lists %s %q", m.Kind, m.Text)
		}
	}
	if _, err := bob.Messenger().File(ctx, file.ID); !errors.Is(err, parley.ErrNotFound) {
		t.Errorf("bob's record of the file: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(got.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bob's download is still there: %v", err)
	}

	setTimer(t, alice, "bob", 0)
	parleytest.Eventually(t, "bob seeing the timer off", func() bool { return timerOn(t, bob, "alice").Seconds == 0 })
	m3, err := alice.Messenger().Send(ctx, "bob", "this one stays", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	if !m3.ExpiresAt().IsZero() {
		t.Errorf("sent with the timer off, expiring %v", m3.ExpiresAt())
	}
	clock.advance(400 * 24 * time.Hour)
	alice.SweepNow()
	parleytest.Eventually(t, "bob holding the last text", func() bool { _, ok := listed(bob.Messages("alice"), m3.ID); return ok })
	if _, ok := listed(alice.Messages("bob"), m3.ID); !ok {
		t.Error("a message sent with the timer off disappeared")
	}
}

// TestDisappearingGroup: in a group of three, only an admin sets the
// timer (a member is told so, and a forged one is refused by the others);
// a member who joins later, in a group that hides its history, still
// learns the timer in force; members' texts carry it; when it runs out,
// the two online members purge them, and the third, down then, purges them
// as it starts; no store holds them.
func TestDisappearingGroup(t *testing.T) {
	ctx := context.Background()
	var clock testClock
	// Unencrypted stores: the raw files are searched for the texts too.
	plaintext := func(c *node.Config) { c.PlaintextStore = true }
	alice := parleytest.StartNode(t, "alice", clock.option(), plaintext)
	bob, carol := parleytest.StartNode(t, "bob", clock.option(), plaintext), parleytest.StartNode(t, "carol", clock.option(), plaintext)
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob) // history hidden, the default
	gid := g.String()

	if _, err := bob.Messenger().SetTimer(ctx, gid, time.Hour); !errors.Is(err, parley.ErrNotAdmin) {
		t.Fatalf("bob (a member) setting the timer: %v, want ErrNotAdmin", err)
	}
	if _, err := bob.SetGroupTimerUnchecked(g, 60); err != nil {
		t.Fatal(err)
	}
	setTimer(t, alice, gid, time.Hour)
	// Carol joins after the timer was set: she is not shown what was
	// written before, but the timer in force reaches her.
	if _, err := alice.Messenger().InviteToGroup(ctx, gid, "carol"); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "carol seeing the invite", func() bool { return carol.GroupState(g) == parley.GroupInvited })
	if _, err := carol.Messenger().AcceptGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" seeing alice's timer", func() bool {
			tm := timerOn(t, n, gid)
			return tm.Seconds == 3600 && tm.SetBy == alice.PeerID()
		})
	}
	canary, carolCanary := "canary-group-timer "+t.Name(), "canary-group-timer-carol "+t.Name()
	m := bob.SendToGroup(g, canary)
	mc := carol.SendToGroup(g, carolCanary)
	if m.Timer != 3600 || mc.Timer != 3600 {
		t.Fatalf("bob's text carries timer %d, carol's %d; want 3600", m.Timer, mc.Timer)
	}
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" holding both texts", func() bool {
			ids := n.GroupIDs(g)
			return slices.Contains(ids, m.ID) && slices.Contains(ids, mc.ID)
		})
	}
	for _, n := range []*parleytest.Node{alice, carol} {
		msgs, err := n.Messenger().GroupMessages(ctx, gid, parley.Page{}, false)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := listed(msgs, m.ID)
		if !ok || !got.ExpiresAt().Equal(m.ExpiresAt()) {
			t.Errorf("%s lists %+v, want it expiring %v", n.Name, got, m.ExpiresAt())
		}
		if slices.ContainsFunc(msgs, func(m parley.Message) bool { return m.Kind == parley.KindTimer && m.From == bob.PeerID() }) {
			t.Errorf("%s took bob's forged timer", n.Name)
		}
	}

	carol.Stop()
	clock.advance(2 * time.Hour)
	alice.SweepNow()
	bob.SweepNow()
	if len(rawFilesHolding(t, carol.Dir, canary)) == 0 {
		t.Fatal("the canary is not found in carol's raw files before it expired: the search proves nothing")
	}
	rawFilesHoldNone(t, alice, canary, carolCanary)
	rawFilesHoldNone(t, bob, canary, carolCanary)
	holdsNone(t, alice, canary, carolCanary)
	holdsNone(t, bob, canary, carolCanary)
	carol.Start()
	rawFilesHoldNone(t, carol, canary, carolCanary)
	holdsNone(t, carol, canary, carolCanary)
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		msgs, err := n.Messenger().GroupMessages(ctx, gid, parley.Page{}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			if msg.ID == m.ID || msg.ID == mc.ID || strings.Contains(msg.Text, "canary") {
				t.Errorf("%s still lists %+v", n.Name, msg)
			}
		}
	}
}

// TestDeleteForEveryoneLeavesNoTrace: a text and its edit deleted for
// everyone in a group of three, one member down at the time, leave no
// trace in any member's store (any key or value, any version, after
// value-log GC), and none after every member restarts. The stores are
// written unencrypted, so the data directories' raw files are searched
// too: the purge's own drop (storage's DropPrefix, which flushes the
// memtable and rewrites the tables) leaves no copy there, before any
// Reclaim.
func TestDeleteForEveryoneLeavesNoTrace(t *testing.T) {
	plaintext := func(c *node.Config) { c.PlaintextStore = true }
	alice, bob, carol := parleytest.StartNode(t, "alice", plaintext), parleytest.StartNode(t, "bob", plaintext), parleytest.StartNode(t, "carol", plaintext)
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob, carol)
	gid := g.String()
	canary, canaryEdit := "canary-delete "+t.Name(), "canary-delete-edit "+t.Name()
	m := bob.SendToGroup(g, canary)
	act(t, bob, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: m.ID.String(), Text: canaryEdit})
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" holding the edited text", func() bool {
			msgs, err := n.Messenger().GroupMessages(context.Background(), gid, parley.Page{}, false)
			got, ok := listed(msgs, m.ID)
			return err == nil && ok && got.Text == canaryEdit
		})
	}
	if len(rawFilesHolding(t, bob.Dir, canary)) == 0 {
		t.Fatal("the canary is not found in bob's raw files before the delete: the search proves nothing")
	}
	carol.Stop()
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: gid, Message: m.ID.String()}) // as admin
	rawFilesHoldNone(t, alice, canary, canaryEdit)
	rawFilesHoldNone(t, bob, canary, canaryEdit)
	holdsNone(t, alice, canary, canaryEdit)
	holdsNone(t, bob, canary, canaryEdit)
	carol.Start()
	rawFilesHoldNone(t, carol, canary, canaryEdit)
	holdsNone(t, carol, canary, canaryEdit)
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		n.Restart()
		if held, err := n.StoreHolds(canary); err != nil || held {
			t.Errorf("%s holds the text after a restart (err %v)", n.Name, err)
		}
		n.Stop()
		if files := rawFilesHolding(t, n.Dir, canary, canaryEdit); len(files) > 0 {
			t.Errorf("%s's raw files %v hold the text after a restart", n.Name, files)
		}
	}
}

// rawFilesHoldNone waits until no raw file of n's data directory holds
// any of the needles.
func rawFilesHoldNone(t *testing.T, n *parleytest.Node, needles ...string) {
	t.Helper()
	var files []string
	parleytest.Eventually(t, n.Name+"'s raw files free of the text", func() bool {
		files = rawFilesHolding(t, n.Dir, needles...)
		return len(files) == 0
	})
}

// rawFilesHolding lists the files under dir that contain any of needles.
func rawFilesHolding(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by a compaction as we walked
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, needle := range needles {
			if bytes.Contains(b, []byte(needle)) {
				found = append(found, filepath.Base(path))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestDisappearingThroughMailbox: Bob is offline; Alice sets a timer and
// writes, and both envelopes wait at Bob's mailbox. By the time Bob starts
// the text has expired: he takes the timer in force, and purges the text
// as it arrives (it is held only as deleted, no trace of its text).
func TestDisappearingThroughMailbox(t *testing.T) {
	var clock testClock
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "alice", fetchHourly, clock.option())
	bob := parleytest.StartNode(t, "bob", fetchHourly, clock.option())
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	awaitSettled(t, alice, bob)

	bob.Stop()
	setTimer(t, alice, "bob", time.Hour)
	canary := "canary-mailbox-timer " + t.Name()
	sent := sendTexts(t, alice, bob.PeerID(), canary)
	parleytest.Eventually(t, "the timer and the text deposited at Bob's mailbox", func() bool {
		q, err := alice.Outbox(bob.PeerID())
		if err != nil || len(q) != 2 {
			return false
		}
		for _, e := range q {
			if !e.Deposited {
				return false
			}
		}
		return true
	})
	alice.Stop()
	clock.advance(2 * time.Hour)

	bob.Start()
	parleytest.Eventually(t, "Bob taking Alice's timer from the mailbox", func() bool {
		return timerOn(t, bob, "alice").Seconds == 3600
	})
	parleytest.Eventually(t, "Bob holding the expired text only as deleted", func() bool {
		got, err := bob.StoredMessage(sent[0].ID)
		return err == nil && got.Deleted && got.Text == ""
	})
	holdsNone(t, bob, canary)
	if _, ok := listed(bob.Messages("alice"), sent[0].ID); ok {
		t.Error("Bob lists the expired text")
	}
}
