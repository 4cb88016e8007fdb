package node_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/storage"
)

// Tests of small files through mailboxes (PROTOCOL.md §9.11).

// mailFileSetup: Bob chooses M as his mailbox, Alice holds his grant, and
// Bob goes offline.
func mailFileSetup(t *testing.T, m *parleytest.Node, aliceOpts, bobOpts []parleytest.Option) (alice, bob *parleytest.Node) {
	t.Helper()
	alice = parleytest.StartNode(t, "Alice", append([]parleytest.Option{fetchHourly}, aliceOpts...)...)
	bob = parleytest.StartNode(t, "Bob", append([]parleytest.Option{fetchHourly}, bobOpts...)...)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	awaitSettled(t, alice, bob)
	bob.Stop()
	return alice, bob
}

func sendFile(t *testing.T, from *parleytest.Node, to string, size int64) (parley.File, string) {
	t.Helper()
	path, sum := parleytest.RandomFile(t, t.TempDir(), "photo.jpg", size)
	f, err := from.Messenger().SendFile(context.Background(), to, path)
	if err != nil {
		t.Fatal(err)
	}
	return f, sum
}

func mailboxHolds(m *parleytest.Node) int64 { return m.Messenger().Status().Mailbox.Envelopes }

// TestMailboxFileWithoutSender: Alice sends offline Bob a 1 MiB photo; its
// 16 chunks and its offer go to Bob's mailbox and the offer is stored.
// Alice stops; Bob starts and has the photo complete, byte for byte, from
// the mailbox alone, once; the mailbox is empty after.
func TestMailboxFileWithoutSender(t *testing.T) {
	m := mailboxNode(t, "M")
	alice, bob := mailFileSetup(t, m, nil, nil)
	f, sum := sendFile(t, alice, bob.PeerID(), 1<<20)
	parleytest.Eventually(t, "the offer stored", func() bool {
		return alice.StatusOf(bob.PeerID(), f.Message) == parley.StatusStored
	})
	if n := mailboxHolds(m); n != 17 {
		t.Fatalf("the mailbox holds %d items, want 16 chunks and the offer", n)
	}
	alice.Stop()

	bob.Start()
	got := bob.WaitComplete(f.ID)
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the photo from the mailbox differs from the one sent")
	}
	if files, err := bob.Messenger().Files(context.Background()); err != nil || len(files) != 1 {
		t.Fatalf("Bob's files: %+v, %v; want the photo once", files, err)
	}
	n := 0
	for _, msg := range bob.Messages(alice.PeerID()) {
		if msg.Kind == parley.KindFile {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("Bob shows %d file messages, want 1", n)
	}
	parleytest.Eventually(t, "the mailbox emptied", func() bool { return mailboxHolds(m) == 0 })
	if leftovers, _ := filepath.Glob(filepath.Join(bob.Dir, "downloads", ".parley-*")); len(leftovers) != 0 {
		t.Fatalf("partial files left: %v", leftovers)
	}
}

// TestMailboxFileTamperedChunk: a copy of chunk 5 with one bit flipped, as
// a mailbox that tampers would hand it over, is refused and deleted; the
// photo completes from the good chunks, byte for byte.
func TestMailboxFileTamperedChunk(t *testing.T) {
	m := mailboxNode(t, "M")
	alice, bob := mailFileSetup(t, m, nil, nil)
	f, sum := sendFile(t, alice, bob.PeerID(), 1<<20)
	parleytest.Eventually(t, "the offer stored", func() bool {
		return alice.StatusOf(bob.PeerID(), f.Message) == parley.StatusStored
	})
	bobID, err := peer.Decode(bob.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.DepositMailChunk(context.Background(), bobID, f.ID, 5, func(sealed []byte) { sealed[1000] ^= 1 }); err != nil {
		t.Fatal(err)
	}
	if n := mailboxHolds(m); n != 18 {
		t.Fatalf("the mailbox holds %d items, want 16 chunks, a tampered one and the offer", n)
	}
	alice.Stop()

	bob.Start()
	got := bob.WaitComplete(f.ID)
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the photo differs from the one sent")
	}
	parleytest.Eventually(t, "the mailbox emptied, the tampered chunk too", func() bool { return mailboxHolds(m) == 0 })
}

// TestMailboxLargeFileWaitsForSender: a file over Alice's limit goes to
// the mailbox as its offer alone. Bob, fetching it while Alice is away,
// shows it waiting for her; once she is back it comes directly.
func TestMailboxLargeFileWaitsForSender(t *testing.T) {
	m := mailboxNode(t, "M")
	small := func(c *node.Config) { c.MailboxFileLimit = 256 << 10 }
	alice, bob := mailFileSetup(t, m, []parleytest.Option{small}, nil)
	f, sum := sendFile(t, alice, bob.PeerID(), 1<<20)
	parleytest.Eventually(t, "the offer stored", func() bool {
		return alice.StatusOf(bob.PeerID(), f.Message) == parley.StatusStored
	})
	if n := mailboxHolds(m); n != 1 {
		t.Fatalf("the mailbox holds %d items, want the offer alone", n)
	}
	alice.Stop()

	bob.Start()
	bob.WaitFile(f.ID)
	parleytest.Eventually(t, "Bob's file saying it waits for Alice", func() bool {
		got := bob.File(f.ID)
		return got.State == parley.FileTransferring && got.Error == "waiting for the sender to come online"
	})
	alice.Start()
	got := bob.WaitComplete(f.ID)
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the file differs from the one sent")
	}
}

// TestMailboxFullMidFile: Bob's mailbox holds 6 items at most. Alice's
// text takes one; her photo of 16 chunks does not fit in the rest: its
// offer stays queued and an event says why ("mailbox full"). Bob, fetching
// while Alice is away, has the text and shows no file (the chunks that
// fit wait at the mailbox for their offer). Once Alice is back the photo
// comes directly, and Bob's next fetch takes the chunks left.
func TestMailboxFullMidFile(t *testing.T) {
	m := parleytest.StartNode(t, "M", func(c *node.Config) {
		c.MailboxService = true
		c.MailboxQuota = storage.MailboxQuota{Count: 6}
	})
	alice, bob := mailFileSetup(t, m, nil, []parleytest.Option{func(c *node.Config) { c.MailboxFetchInterval = 200 * time.Millisecond }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := alice.Messenger().Subscribe(ctx)
	text := sendTexts(t, alice, bob.PeerID(), "a photo follows")
	parleytest.Eventually(t, "the text stored", func() bool {
		return allStatus(t, alice, bob.PeerID(), text, parley.StatusStored)
	})
	f, sum := sendFile(t, alice, bob.PeerID(), 1<<20)
	deadline := time.After(parleytest.Patience)
	for reason := ""; reason == ""; {
		select {
		case e := <-events:
			if e.Type == parley.EventStatus && e.Message.ID == f.Message && e.Message.Status == parley.StatusQueued {
				reason = e.Reason
			}
		case <-deadline:
			t.Fatal("no event said why the photo stayed queued")
		}
		if reason != "" && reason != "mailbox full" {
			t.Fatalf("reason %q, want \"mailbox full\"", reason)
		}
	}
	if s := alice.StatusOf(bob.PeerID(), f.Message); s != parley.StatusQueued {
		t.Fatalf("the photo is %s, want queued", s)
	}
	if n := mailboxHolds(m); n != 6 {
		t.Fatalf("the mailbox holds %d items, want the text and the 5 chunks that fit", n)
	}
	alice.Stop()

	bob.Start()
	parleytest.Eventually(t, "Bob taking the text and leaving the chunks", func() bool {
		return len(textsFrom(t, bob, alice.PeerID())) == 1 && mailboxHolds(m) == 5
	})
	if files, err := bob.Messenger().Files(context.Background()); err != nil || len(files) != 0 {
		t.Fatalf("Bob shows files %+v (%v) without their offer", files, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(bob.Dir, "downloads", "*")); len(leftovers) != 0 {
		t.Fatalf("Bob's downloads hold %v", leftovers)
	}

	alice.Start()
	got := bob.WaitComplete(f.ID)
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the photo differs from the one sent")
	}
	parleytest.Eventually(t, "the chunks left at the mailbox taken", func() bool { return mailboxHolds(m) == 0 })
}

// TestMailboxGroupFile: a photo Alice offers a group goes to the mailbox
// of Bob, a member and her contact who is offline, with its chunks; Bob,
// starting once Alice has stopped, has it whole.
func TestMailboxGroupFile(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	g := parleytest.CreateGroup(t, "photos", alice, bob)
	awaitSettled(t, alice, bob)
	bob.Stop()

	f, sum := sendFile(t, alice, g.String(), 1<<20)
	parleytest.Eventually(t, "the group offer stored", func() bool {
		return groupStatus(t, alice, g, f.Message) == parley.StatusStored
	})
	if n := mailboxHolds(m); n != 17 {
		t.Fatalf("the mailbox holds %d items, want 16 chunks and the offer", n)
	}
	alice.Stop()

	bob.Start()
	got := bob.WaitComplete(f.ID)
	if parleytest.FileHash(t, got.Path) != sum {
		t.Fatal("the photo from the mailbox differs from the one sent")
	}
	parleytest.Eventually(t, "the mailbox emptied", func() bool { return mailboxHolds(m) == 0 })
}
