package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/mailbox"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// TestMailboxFilesHoldNoPlaintext: a mailbox's store, written with
// at-rest encryption off, holds in its raw files neither the text of the
// sealed DMs deposited, nor the sender's peer ID or key, nor the peer ID
// of any identity a deposit came from; the envelopes themselves are there,
// byte for byte, so the search does see what is stored.
func TestMailboxFilesHoldNoPlaintext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	dir := filepath.Join(t.TempDir(), "db")
	store, err := storage.OpenPlaintext(storage.Options{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var mu sync.Mutex
	var remotes []peer.ID // every peer that connected to the mailbox
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		mu.Lock()
		remotes = append(remotes, c.RemotePeer())
		mu.Unlock()
	}})
	svc, err := mailbox.New(mailbox.Config{Host: h, Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	mbInfo := peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}

	alice, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	bob, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	// Bob registers with his own identity, as the owner does.
	bobHost, err := libp2p.New(libp2p.Identity(bob.Key), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer bobHost.Close()
	c, err := mailbox.Dial(ctx, bobHost, mbInfo)
	if err != nil {
		t.Fatal(err)
	}
	depositKey, err := mailbox.DeriveDepositKey(bob.Key, h.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := c.Register(ctx, bob.Key, mailbox.Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour), DepositKey: depositKey}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	owner, err := mailbox.OwnerOf(bob.Key.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	capa := mailbox.IssueCapability(depositKey, owner)

	// Alice seals two DMs to Bob, as her node would, and deposits them
	// from one-time identities: DepositOnce's own, and one of the test's
	// (a client on a throwaway host).
	key, err := identity.NewSendKey(bob.HPKEPublicKey(), alice.PeerID, bob.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	conv := parley.DMConversationID(alice.PeerID.String(), bob.PeerID.String())
	canaries := [][]byte{[]byte("canary-7f3a: meet at the old mill"), []byte("canary-91c2: the code is 4471")}
	var envs [][]byte
	for i, text := range canaries {
		body, err := proto.Marshal(&ppb.Body{Kind: &ppb.Body_Text{Text: &ppb.Text{Text: string(text)}}})
		if err != nil {
			t.Fatal(err)
		}
		env, _, err := alice.SealEnvelope(conv, key, i == 0, parley.NewHLC(now, uint16(i)), body, nil)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	if err := mailbox.DepositOnce(ctx, mbInfo, owner, &capa, envs[0]); err != nil {
		t.Fatal(err)
	}
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oneTime, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer oneTime.Close()
	dc, err := mailbox.Dial(ctx, oneTime, mbInfo)
	if err != nil {
		t.Fatal(err)
	}
	if err := dc.Deposit(ctx, owner, &capa, envs[1]); err != nil {
		t.Fatal(err)
	}
	dc.Close()

	svc.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	needles := map[string][]byte{"Alice's peer ID": []byte(alice.PeerID), "Alice's peer ID as text": []byte(alice.PeerID.String())}
	if raw, err := alice.Key.GetPublic().Raw(); err == nil {
		needles["Alice's public key"] = raw
	}
	for i, c := range canaries {
		needles["the text of DM "+string(rune('1'+i))] = c
	}
	mu.Lock()
	for _, p := range remotes {
		if p == bob.PeerID {
			continue // the owner: the mailbox knows whom it holds mail for
		}
		needles["depositor "+p.String()] = []byte(p)
		needles["depositor "+p.String()+" as text"] = []byte(p.String())
	}
	depositors := len(remotes) - 1
	mu.Unlock()
	if depositors < 2 {
		t.Fatalf("%d depositors seen connecting, want 2", depositors)
	}

	found := make([]bool, len(envs)) // the control: each envelope, as deposited
	var files int
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for what, n := range needles {
			if bytes.Contains(raw, n) {
				t.Errorf("%s holds %s", d.Name(), what)
			}
		}
		for i, env := range envs {
			found[i] = found[i] || bytes.Contains(raw, env)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range found {
		if !ok {
			t.Errorf("envelope %d is in none of the %d files: the search sees nothing", i+1, files)
		}
	}
}
