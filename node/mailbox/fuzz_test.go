package mailbox

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/frame"
	"github.com/parley-im/parley/node/mailbox/pb"
)

// frames encodes requests as a stream carries them.
func frames(reqs ...*pb.Request) []byte {
	var out []byte
	for _, r := range reqs {
		b, _ := proto.Marshal(r)
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out
}

// fuzzBox is a mailbox (not serving: handle is called directly) with alice
// registered.
func fuzzBox(f *testing.F) (*box, *person, Capability) {
	b := newBox(f, nil)
	alice := newPerson(f)
	return b, alice, alice.register(f, b)
}

// FuzzRequests feeds a stream's bytes to the request loop as a stranger's
// stream: frames, then each request through handle. Nothing may panic,
// every request is answered, and, since no input can hold alice's
// capability or sign as anyone, no mail and no account may appear.
func FuzzRequests(f *testing.F) {
	b, alice, _ := fuzzBox(f)
	owner := alice.owner(f)
	other := IssueCapability([32]byte{1}, owner)
	f.Add(frames(&pb.Request{Kind: &pb.Request_Deposit{Deposit: &pb.Deposit{Owner: owner[:], Envelope: []byte("e"),
		Capability: &pb.Capability{Nonce: other.Nonce[:], Token: other.Token[:]}}}}))
	f.Add(frames(&pb.Request{Kind: &pb.Request_Challenge{Challenge: &pb.ChallengeRequest{}}},
		&pb.Request{Kind: &pb.Request_Authenticate{Authenticate: &pb.Authenticate{OwnerKey: []byte{8, 1, 18, 32}, Signature: make([]byte, 64)}}},
		&pb.Request{Kind: &pb.Request_Fetch{Fetch: &pb.Fetch{Cursor: make([]byte, 8)}}}))
	f.Add(frames(&pb.Request{Kind: &pb.Request_Register{Register: &pb.Register{Registration: []byte{10, 1, 2}, Signature: []byte{1}}}}))
	f.Add(frames(&pb.Request{Kind: &pb.Request_Ack{Ack: &pb.Ack{EnvelopeIds: [][]byte{{1}}}}}, &pb.Request{Kind: &pb.Request_Status{Status: &pb.StatusRequest{}}}))
	f.Add(binary.AppendUvarint(nil, MaxRequestSize+1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := frame.NewReader(bytes.NewReader(data), MaxRequestSize)
		var sess session
		for {
			req := new(pb.Request)
			if err := r.ReadMsg(req); err != nil {
				break // EOF, or a protocol error: the stream would be reset
			}
			if resp := b.svc.handle(&sess, req); resp == nil {
				t.Fatalf("no answer to %v", req)
			}
		}
		if sess.owner != nil {
			t.Fatal("fuzz input authenticated")
		}
		a, err := b.store.MailboxAccountOf(owner, b.clock.Now())
		if err != nil || a.Count != 0 {
			t.Fatalf("fuzz input stored mail for alice: %+v, %v", a, err)
		}
		if n, err := b.store.MailboxAccounts(); err != nil || n != 1 {
			t.Fatalf("fuzz input registered someone: %d accounts, %v", n, err)
		}
	})
}

// FuzzOwnerRequests feeds requests to a stream alice authenticated on, so
// that fetch and ack decode whatever comes. Nothing may panic, and alice's
// one envelope is never handed out twice in a row from the start nor
// counted wrong.
func FuzzOwnerRequests(f *testing.F) {
	b, alice, cap := fuzzBox(f)
	owner := alice.owner(f)
	if err := DepositOnce(ctx(f), b.addr(), owner, &cap, []byte("held")); err != nil {
		f.Fatal(err)
	}
	f.Add(frames(&pb.Request{Kind: &pb.Request_Fetch{Fetch: &pb.Fetch{Cursor: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Limit: 1 << 31}}}))
	f.Add(frames(&pb.Request{Kind: &pb.Request_Fetch{Fetch: &pb.Fetch{Cursor: []byte{1, 2, 3}}}}))
	f.Add(frames(&pb.Request{Kind: &pb.Request_Ack{Ack: &pb.Ack{EnvelopeIds: [][]byte{make([]byte, 32), {1}}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := frame.NewReader(bytes.NewReader(data), MaxRequestSize)
		sess := session{owner: &owner}
		for {
			req := new(pb.Request)
			if err := r.ReadMsg(req); err != nil {
				break
			}
			resp := b.svc.handle(&sess, req)
			if mp := resp.GetMail(); mp != nil && (len(mp.Mail) > 1 || len(mp.Mail) == 1 && string(mp.Mail[0].Envelope) != "held") {
				t.Fatalf("fetch answered %v", mp)
			}
		}
		if a, err := b.store.MailboxAccountOf(owner, b.clock.Now()); err != nil || a.Count != 1 {
			t.Fatalf("alice's account after fuzz input: %+v, %v", a, err)
		}
	})
}

// FuzzRegistration signs whatever bytes come as a registration with a real
// key, so that the checks after the signature see them all. A refusal
// stores nothing; an acceptance stores exactly what was signed.
func FuzzRegistration(f *testing.F) {
	b := newBox(f, nil)
	key, _, _ := crypto.GenerateEd25519Key(nil)
	pub, _ := crypto.MarshalPublicKey(key.GetPublic())
	owner, _ := OwnerOf(key.GetPublic())
	now := b.clock.Now()
	good, _ := SignRegistration(key, b.host.ID(), Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	f.Add(good.Registration)
	f.Add([]byte{})
	bad, _ := proto.Marshal(&pb.Registration{OwnerKey: pub, Mailbox: []byte(b.host.ID()), IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60, DepositKey: []byte{1}, RevokedNonces: [][]byte{{1}}})
	f.Add(bad)
	f.Fuzz(func(t *testing.T, reg []byte) {
		sig, err := key.Sign(registrationMessage(reg))
		if err != nil {
			t.Fatal(err)
		}
		resp := b.svc.register(&pb.Register{Registration: reg, Signature: sig})
		a, err := b.store.MailboxAccountOf(owner, now)
		if resp.Code != pb.Code_CODE_OK {
			return // refused; an earlier input may have registered
		}
		var r pb.Registration
		if perr := proto.Unmarshal(reg, &r); perr != nil || err != nil || a.IssuedAt.Unix() < r.IssuedAt || a.DepositKey != [32]byte(r.DepositKey) && a.IssuedAt.Unix() == r.IssuedAt {
			t.Fatalf("accepted %x, holding %+v, %v", reg, a, err)
		}
	})
}
