package dm

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/dm/pb"
	ppb "github.com/parley-im/parley/pb"
)

// grantOf is a grant of one mailbox, named by a fresh peer ID.
func grantOf(t testing.TB) (*ppb.MailboxGrant, string) {
	t.Helper()
	mb, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ma.NewMultiaddr("/ip4/127.0.0.1/tcp/4001")
	return &ppb.MailboxGrant{Mailboxes: []*ppb.GrantedMailbox{{
		PeerId: []byte(mb.PeerID), Addrs: [][]byte{a.Bytes()},
		Nonce: bytes.Repeat([]byte{1}, identity.GrantNonceSize), Token: bytes.Repeat([]byte{2}, identity.GrantTokenSize),
	}}}, mb.PeerID.String()
}

// sealGrant seals a grant from sender to svc at the given time.
func sealGrant(t testing.TB, from *identity.Identity, to *Service, key *identity.SendKey, g *ppb.MailboxGrant, at time.Time) []byte {
	t.Helper()
	body, err := proto.Marshal(&ppb.Body{Kind: &ppb.Body_MailboxGrant{MailboxGrant: g}})
	if err != nil {
		t.Fatal(err)
	}
	conv := parley.DMConversationID(from.PeerID.String(), to.self.String())
	env, _, err := from.SealEnvelope(conv, key, true, parley.NewHLC(at, 0), body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestGrantFromContactsOnly: a grant from a peer who is not an accepted
// contact is stored as an envelope (acked, so its sender stops) but not
// kept as a grant; a contact's is.
func TestGrantFromContactsOnly(t *testing.T) {
	svc, store := fuzzService(t)
	sender, _ := identity.Generate()
	key, err := identity.NewSendKey(svc.cfg.Identity.HPKEPublicKey(), sender.PeerID, svc.self)
	if err != nil {
		t.Fatal(err)
	}
	g, mb := grantOf(t)
	ack, _, err := svc.receive(sender.PeerID, [][]byte{sealGrant(t, sender, svc, key, g, fixedTime)})
	if err != nil || ack.Results[0].Code != pb.Result_CODE_STORED {
		t.Fatalf("a stranger's grant: %v, %v", ack, err)
	}
	if _, err := store.MailboxGrantOf(sender.PeerID.String()); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("a stranger's grant was kept: %v", err)
	}
	if reqs, _ := store.Contacts(); len(reqs) != 0 {
		t.Fatalf("a stranger's grant made a request: %+v", reqs)
	}

	if err := store.PutContact(parley.Contact{PeerID: sender.PeerID.String(), State: parley.ContactAccepted}); err != nil {
		t.Fatal(err)
	}
	ack, _, err = svc.receive(sender.PeerID, [][]byte{sealGrant(t, sender, svc, key, g, fixedTime.Add(time.Second))})
	if err != nil || ack.Results[0].Code != pb.Result_CODE_STORED {
		t.Fatalf("a contact's grant: %v, %v", ack, err)
	}
	got, err := store.MailboxGrantOf(sender.PeerID.String())
	if err != nil || len(got.Mailboxes) != 1 || got.Mailboxes[0].PeerID != mb || got.Mailboxes[0].Addrs[0] != "/ip4/127.0.0.1/tcp/4001" {
		t.Fatalf("the contact's grant: %+v, %v", got, err)
	}
}

// TestGrantReorderingKeepsTheNewest: a contact's older grant, arriving
// after a newer one (by the envelopes' HLC), changes nothing; an empty
// grant, newer, takes every mailbox away.
func TestGrantReorderingKeepsTheNewest(t *testing.T) {
	svc, store := fuzzService(t)
	sender, _ := identity.Generate()
	if err := store.PutContact(parley.Contact{PeerID: sender.PeerID.String(), State: parley.ContactAccepted}); err != nil {
		t.Fatal(err)
	}
	key, err := identity.NewSendKey(svc.cfg.Identity.HPKEPublicKey(), sender.PeerID, svc.self)
	if err != nil {
		t.Fatal(err)
	}
	older, _ := grantOf(t)
	newer, want := grantOf(t)
	for _, env := range [][]byte{
		sealGrant(t, sender, svc, key, newer, fixedTime.Add(time.Minute)),
		sealGrant(t, sender, svc, key, older, fixedTime),
	} {
		if ack, _, err := svc.receive(sender.PeerID, [][]byte{env}); err != nil || ack.Results[0].Code != pb.Result_CODE_STORED {
			t.Fatalf("grant: %v, %v", ack, err)
		}
	}
	got, err := store.MailboxGrantOf(sender.PeerID.String())
	if err != nil || len(got.Mailboxes) != 1 || got.Mailboxes[0].PeerID != want {
		t.Fatalf("after a late older grant: %+v, %v; want the newer one's mailbox %s", got, err, want)
	}
	if ack, _, err := svc.receive(sender.PeerID, [][]byte{sealGrant(t, sender, svc, key, &ppb.MailboxGrant{}, fixedTime.Add(time.Hour))}); err != nil || ack.Results[0].Code != pb.Result_CODE_STORED {
		t.Fatalf("empty grant: %v, %v", ack, err)
	}
	if got, err := store.MailboxGrantOf(sender.PeerID.String()); err != nil || len(got.Mailboxes) != 0 {
		t.Fatalf("after an empty grant: %+v, %v; want no mailboxes", got, err)
	}
}

// FuzzMailboxGrant: any grant body either fails identity's checks or
// converts into a stored grant whose every mailbox is a valid peer ID
// with a capability of the right size, and that the store's codec
// round-trips.
func FuzzMailboxGrant(f *testing.F) {
	g, _ := grantOf(f)
	b, _ := proto.Marshal(g)
	f.Add(b)
	f.Add([]byte{})
	two := &ppb.MailboxGrant{Mailboxes: []*ppb.GrantedMailbox{g.Mailboxes[0], g.Mailboxes[0]}}
	b, _ = proto.Marshal(two)
	f.Add(b)
	_, db := fuzzService(f) // one store for the run: opening badger per input would crawl
	var hlc atomic.Uint64   // each input's grant is newer than the last
	f.Fuzz(func(t *testing.T, data []byte) {
		g := new(ppb.MailboxGrant)
		if proto.Unmarshal(data, g) != nil || identity.CheckMailboxGrant(g) != nil {
			return
		}
		sg, err := parseGrant(g, parley.HLC(hlc.Add(1)))
		if err != nil {
			t.Fatalf("a grant that passed the checks did not convert: %v", err)
		}
		if len(sg.Mailboxes) != len(g.Mailboxes) || len(sg.Mailboxes) > identity.MaxGrantMailboxes {
			t.Fatalf("%d mailboxes from %d", len(sg.Mailboxes), len(g.Mailboxes))
		}
		for _, m := range sg.Mailboxes {
			if _, err := peer.Decode(m.PeerID); err != nil {
				t.Fatalf("mailbox %q: %v", m.PeerID, err)
			}
			if len(m.Nonce) != identity.GrantNonceSize || len(m.Token) != identity.GrantTokenSize || len(m.Addrs) > identity.MaxGrantAddrs {
				t.Fatalf("mailbox %+v out of bounds", m)
			}
		}
		if _, _, err := db.PutMailboxGrant("12D3KooWFuzz", sg); err != nil {
			t.Fatal(err)
		}
		if back, err := db.MailboxGrantOf("12D3KooWFuzz"); err != nil || len(back.Mailboxes) != len(sg.Mailboxes) {
			t.Fatalf("stored grant read back: %+v, %v", back, err)
		}
	})
}
