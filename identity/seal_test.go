package identity

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// dm is Alice writing to Bob over an established key.
type dm struct {
	alice, bob *Identity
	conv       parley.ConversationID
	sendKey    *SendKey // Alice's side
}

func newDM(t testing.TB) *dm {
	t.Helper()
	alice, bob := mustGenerate(t), mustGenerate(t)
	key, err := NewSendKey(bob.HPKEPublicKey(), alice.PeerID, bob.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	return &dm{
		alice:   alice,
		bob:     bob,
		conv:    parley.DMConversationID(alice.PeerID.String(), bob.PeerID.String()),
		sendKey: key,
	}
}

func (d *dm) seal(t testing.TB, includeEncap bool, body []byte) []byte {
	t.Helper()
	encoded, _, err := d.alice.SealEnvelope(d.conv, d.sendKey, includeEncap, testHLC, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return encoded
}

// bobKey is the key as Bob derives it.
func (d *dm) bobKey(t testing.TB) *SendKey {
	t.Helper()
	k, err := d.bob.OpenSendKey(d.sendKey.Encap, d.alice.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func refused(err error) bool {
	return errors.Is(err, parley.ErrMalformed) || errors.Is(err, parley.ErrBadSignature)
}

func TestSealOpenRoundTrip(t *testing.T) {
	d := newDM(t)
	card := mustSignCard(t, d.alice, "alice")
	body := textBody(t, "hello, Bob")
	encoded, eid, err := d.alice.SealEnvelope(d.conv, d.sendKey, true, testHLC, body, card)
	if err != nil {
		t.Fatal(err)
	}
	if eid != parley.EnvelopeID(sha256.Sum256(encoded)) {
		t.Error("envelope ID is not the hash of the encoded envelope")
	}
	if bytes.Contains(encoded, []byte("hello, Bob")) || bytes.Contains(encoded, []byte(d.alice.PeerID)) {
		t.Error("envelope shows its content or author in clear")
	}

	// Bob's side: parse, derive the key from the encapsulation, open.
	env, err := ParseEnvelope(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.KeyEncap) != hpkeEncapSize {
		t.Fatalf("key encapsulation is %d bytes", len(env.KeyEncap))
	}
	key, err := d.bob.OpenSendKey(env.KeyEncap, d.alice.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	if key.ID != d.sendKey.ID || key.Key != d.sendKey.Key {
		t.Fatal("Bob derived another key than Alice established")
	}
	opened, err := OpenEnvelope(env, key)
	if err != nil {
		t.Fatal(err)
	}
	if opened.Sender != d.alice.PeerID || opened.HLC != testHLC {
		t.Errorf("opened from %s at %d", opened.Sender, opened.HLC)
	}
	if got := opened.Body.GetText().GetText(); got != "hello, Bob" {
		t.Errorf("text %q", got)
	}
	if !bytes.Equal(opened.BodyBytes, body) || !bytes.Equal(opened.Card, card) {
		t.Error("body or card bytes differ")
	}

	// Later envelopes under the same key leave the encapsulation out.
	env2, err := ParseEnvelope(d.seal(t, false, textBody(t, "again")))
	if err != nil {
		t.Fatal(err)
	}
	if len(env2.KeyEncap) != 0 {
		t.Error("encapsulation included when not asked for")
	}
	opened2, err := OpenEnvelope(env2, key)
	if err != nil {
		t.Fatal(err)
	}
	if opened2.Card != nil || opened2.Body.GetText().GetText() != "again" {
		t.Errorf("second message: %+v", opened2)
	}
}

func TestSealOpenReceipt(t *testing.T) {
	d := newDM(t)
	ids := [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}
	body := mustMarshal(t, &pb.Body{Kind: &pb.Body_Receipt{Receipt: &pb.Receipt{Kind: pb.Receipt_KIND_READ, EnvelopeIds: ids}}})
	env, err := ParseEnvelope(d.seal(t, false, body))
	if err != nil {
		t.Fatal(err)
	}
	opened, err := OpenEnvelope(env, d.bobKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if r := opened.Body.GetReceipt(); r.GetKind() != pb.Receipt_KIND_READ || len(r.GetEnvelopeIds()) != 2 {
		t.Errorf("receipt %v", r)
	}
}

func TestOpenTampered(t *testing.T) {
	d := newDM(t)
	encoded := d.seal(t, true, textBody(t, "do not touch"))
	key := d.bobKey(t)
	tests := []struct {
		name   string
		mutate func(env *pb.Envelope)
	}{
		{"ciphertext", func(env *pb.Envelope) { env.Ciphertext[3] ^= 1 }},
		{"ciphertext tag", func(env *pb.Envelope) { env.Ciphertext[len(env.Ciphertext)-1] ^= 1 }},
		{"ciphertext truncated", func(env *pb.Envelope) { env.Ciphertext = env.Ciphertext[:10] }},
		{"conversation", func(env *pb.Envelope) { env.ConversationId[0] ^= 1 }},
		{"key id", func(env *pb.Envelope) { env.KeyId[0] ^= 1 }},
		{"nonce", func(env *pb.Envelope) { env.Nonce[23] ^= 1 }},
		{"encapsulation", func(env *pb.Envelope) { env.KeyEncap[0] ^= 1 }},
		{"short nonce", func(env *pb.Envelope) { env.Nonce = env.Nonce[:12] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope(encoded)
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(env)
			if _, err := OpenEnvelope(env, key); !refused(err) {
				t.Fatalf("OpenEnvelope = %v, want ErrMalformed or ErrBadSignature", err)
			}
			// The same change made on the wire is refused too.
			if wire, err := proto.Marshal(env); err == nil {
				if env2, err := ParseEnvelope(wire); err == nil {
					if _, err := OpenEnvelope(env2, key); !refused(err) {
						t.Fatalf("wire: OpenEnvelope = %v", err)
					}
				}
			}
		})
	}
}

// Every single-byte change to an encoded envelope is caught by
// ParseEnvelope or OpenEnvelope.
func TestEveryByteChangeRefused(t *testing.T) {
	d := newDM(t)
	key := d.bobKey(t)
	for _, includeEncap := range []bool{false, true} {
		encoded := d.seal(t, includeEncap, textBody(t, "integrity"))
		for i := range encoded {
			bad := bytes.Clone(encoded)
			bad[i] ^= 0x04
			env, err := ParseEnvelope(bad)
			if err == nil {
				_, err = OpenEnvelope(env, key)
			}
			if !refused(err) {
				t.Fatalf("encap %v, byte %d of %d changed: %v", includeEncap, i, len(encoded), err)
			}
		}
	}
}

// sealByHand encrypts any Sealed message under key, as an attacker who
// holds the key (or a buggy peer) could.
func sealByHand(t *testing.T, conv parley.ConversationID, key *SendKey, s *pb.Sealed) *pb.Envelope {
	t.Helper()
	aead, err := chacha20poly1305.NewX(key.Key[:])
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	return &pb.Envelope{
		ConversationId: conv[:],
		KeyId:          key.ID[:],
		Nonce:          nonce,
		Ciphertext:     aead.Seal(nil, nonce, mustMarshal(t, s), envelopeAAD(conv[:], key.ID[:])),
	}
}

func signPayload(t *testing.T, k crypto.PrivKey, conv parley.ConversationID, key *SendKey, hlc parley.HLC, body []byte) []byte {
	t.Helper()
	sig, err := k.Sign(SignedPayload(conv, key.ID, hlc, body))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestOpenForgedSignature(t *testing.T) {
	d := newDM(t)
	mallory := mustGenerate(t)
	key := d.bobKey(t)
	body := textBody(t, "send money to mallory")

	// Mallory signs, but claims to be Alice.
	env := sealByHand(t, d.conv, key, &pb.Sealed{
		Sender:    []byte(d.alice.PeerID),
		Hlc:       uint64(testHLC),
		Body:      body,
		Signature: signPayload(t, mallory.Key, d.conv, key, testHLC, body),
	})
	if _, err := OpenEnvelope(env, key); !errors.Is(err, parley.ErrBadSignature) {
		t.Fatalf("forged sender: %v, want ErrBadSignature", err)
	}

	// Alice's real signature over another body, HLC or conversation.
	sig := signPayload(t, d.alice.Key, d.conv, key, testHLC, body)
	otherConv := d.conv
	otherConv[0] ^= 1
	for name, s := range map[string]*pb.Sealed{
		"other body": {Sender: []byte(d.alice.PeerID), Hlc: uint64(testHLC), Body: textBody(t, "changed"), Signature: sig},
		"other hlc":  {Sender: []byte(d.alice.PeerID), Hlc: uint64(testHLC + 1), Body: body, Signature: sig},
		"no sig":     {Sender: []byte(d.alice.PeerID), Hlc: uint64(testHLC), Body: body},
	} {
		if _, err := OpenEnvelope(sealByHand(t, d.conv, key, s), key); !errors.Is(err, parley.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	// Replayed into another conversation under the same key.
	replayed := sealByHand(t, otherConv, key, &pb.Sealed{Sender: []byte(d.alice.PeerID), Hlc: uint64(testHLC), Body: body, Signature: sig})
	if _, err := OpenEnvelope(replayed, key); !errors.Is(err, parley.ErrBadSignature) {
		t.Errorf("replayed into another conversation: %v, want ErrBadSignature", err)
	}

	// Mallory signing as Mallory opens, with Mallory as the verified sender:
	// it is the caller's job to refuse a sender who is not a member.
	own := sealByHand(t, d.conv, key, &pb.Sealed{
		Sender: []byte(mallory.PeerID), Hlc: uint64(testHLC), Body: body,
		Signature: signPayload(t, mallory.Key, d.conv, key, testHLC, body),
	})
	opened, err := OpenEnvelope(own, key)
	if err != nil || opened.Sender != mallory.PeerID {
		t.Errorf("self-signed by mallory: %v, sender %v", err, opened)
	}
}

func TestOpenRejectsBadContent(t *testing.T) {
	d := newDM(t)
	key := d.bobKey(t)
	secpKey, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secpID, _ := peer.IDFromPrivateKey(secpKey)

	signedBy := func(body []byte) *pb.Sealed {
		return &pb.Sealed{Sender: []byte(d.alice.PeerID), Hlc: uint64(testHLC), Body: body, Signature: signPayload(t, d.alice.Key, d.conv, key, testHLC, body)}
	}
	receipt := func(kind pb.Receipt_Kind, ids ...[]byte) []byte {
		return mustMarshal(t, &pb.Body{Kind: &pb.Body_Receipt{Receipt: &pb.Receipt{Kind: kind, EnvelopeIds: ids}}})
	}
	id32 := make([]byte, 32)
	manyIDs := make([][]byte, MaxReceiptIDs+1)
	for i := range manyIDs {
		manyIDs[i] = id32
	}
	badUTF8 := mustMarshal(t, &pb.Text{Text: "ok"})
	badUTF8[len(badUTF8)-1] = 0xff // the string's last byte: "o\xff"
	tests := []struct {
		name   string
		sealed *pb.Sealed
	}{
		{"garbage plaintext", nil},
		{"no sender", &pb.Sealed{Hlc: 1, Body: textBody(t, "x")}},
		{"secp256k1 sender", &pb.Sealed{Sender: []byte(secpID), Body: textBody(t, "x")}},
		{"empty body", signedBy(nil)},
		{"text too long", signedBy(textBody(t, strings.Repeat("a", parley.MaxTextBytes+1)))},
		{"text not UTF-8", signedBy(append([]byte{0x0a, byte(len(badUTF8))}, badUTF8...))},
		{"short reply_to", signedBy(mustMarshal(t, &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "x", ReplyTo: []byte{1}}}}))},
		{"receipt without kind", signedBy(receipt(pb.Receipt_KIND_UNSPECIFIED, id32))},
		{"receipt of unknown kind", signedBy(receipt(7, id32))},
		{"receipt with no ids", signedBy(receipt(pb.Receipt_KIND_READ))},
		{"receipt with short id", signedBy(receipt(pb.Receipt_KIND_READ, id32[:31]))},
		{"receipt with too many ids", signedBy(receipt(pb.Receipt_KIND_READ, manyIDs...))},
		{"oversized card", func() *pb.Sealed {
			s := signedBy(textBody(t, "x"))
			s.SenderCard = make([]byte, MaxCardSize+1)
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env *pb.Envelope
			if tt.sealed == nil {
				env = sealByHand(t, d.conv, key, &pb.Sealed{})
				aead, _ := chacha20poly1305.NewX(key.Key[:])
				env.Ciphertext = aead.Seal(nil, env.Nonce, []byte{0xff, 0xff, 0xff}, envelopeAAD(env.ConversationId, env.KeyId))
			} else {
				env = sealByHand(t, d.conv, key, tt.sealed)
			}
			if _, err := OpenEnvelope(env, key); !refused(err) {
				t.Fatalf("OpenEnvelope = %v, want ErrMalformed or ErrBadSignature", err)
			}
		})
	}
}

func TestSealRefusesBadBodies(t *testing.T) {
	d := newDM(t)
	bodies := map[string]*pb.Body{
		"no kind":       {},
		"text too long": {Kind: &pb.Body_Text{Text: &pb.Text{Text: strings.Repeat("a", parley.MaxTextBytes+1)}}},
		"bad reply_to":  {Kind: &pb.Body_Text{Text: &pb.Text{Text: "x", ReplyTo: []byte{1, 2}}}},
		"empty receipt": {Kind: &pb.Body_Receipt{Receipt: &pb.Receipt{Kind: pb.Receipt_KIND_READ}}},
		"cancel, no ID": {Kind: &pb.Body_FileCancel{FileCancel: &pb.FileCancel{}}},
		"cancel, short": {Kind: &pb.Body_FileCancel{FileCancel: &pb.FileCancel{FileId: []byte{1, 2, 3}}}},
	}
	for name, body := range bodies {
		if _, _, err := d.alice.SealEnvelope(d.conv, d.sendKey, false, testHLC, mustMarshal(t, body), nil); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%s: SealEnvelope = %v, want ErrMalformed", name, err)
		}
	}
}

func TestOpenEnvelopeNil(t *testing.T) {
	d := newDM(t)
	env, err := ParseEnvelope(d.seal(t, false, textBody(t, "x")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenEnvelope(nil, d.bobKey(t)); !refused(err) {
		t.Errorf("nil envelope: %v", err)
	}
	if _, err := OpenEnvelope(env, nil); !refused(err) {
		t.Errorf("nil key: %v", err)
	}
	if _, err := OpenEnvelope(&pb.Envelope{}, d.bobKey(t)); !refused(err) {
		t.Errorf("empty envelope: %v", err)
	}
}

func TestWrongRecipient(t *testing.T) {
	d := newDM(t)
	carol := mustGenerate(t)
	env, err := ParseEnvelope(d.seal(t, true, textBody(t, "for Bob only")))
	if err != nil {
		t.Fatal(err)
	}
	// ML-KEM has implicit rejection: Carol gets a key, but not Bob's, and it
	// opens nothing.
	k, err := carol.OpenSendKey(env.KeyEncap, d.alice.PeerID)
	if err == nil {
		if k.Key == d.sendKey.Key {
			t.Fatal("a third identity derived the sending key")
		}
		if _, err := OpenEnvelope(env, k); !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("Carol opened Bob's envelope: %v", err)
		}
	}
	// Bob, told the wrong sender, derives another key too: the key is bound
	// to both peers.
	k, err = d.bob.OpenSendKey(env.KeyEncap, carol.PeerID)
	if err == nil && k.Key == d.sendKey.Key {
		t.Fatal("the key is not bound to its sender")
	}
	if _, err := d.bob.OpenSendKey(env.KeyEncap[:100], d.alice.PeerID); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("short encapsulation: %v", err)
	}
}

func TestParseEnvelopeRejects(t *testing.T) {
	d := newDM(t)
	good, err := ParseEnvelope(d.seal(t, true, textBody(t, "x")))
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(e *pb.Envelope)) []byte {
		e := proto.Clone(good).(*pb.Envelope)
		f(e)
		return mustMarshal(t, e)
	}
	wire := mustMarshal(t, good)
	tests := map[string][]byte{
		"empty":             nil,
		"garbage":           []byte{0xff, 0xff, 0xff},
		"oversized":         append(bytes.Clone(wire), make([]byte, MaxEnvelopeSize)...),
		"short conv":        with(func(e *pb.Envelope) { e.ConversationId = e.ConversationId[:31] }),
		"long key id":       with(func(e *pb.Envelope) { e.KeyId = append(e.KeyId, 0) }),
		"no nonce":          with(func(e *pb.Envelope) { e.Nonce = nil }),
		"no ciphertext":     with(func(e *pb.Envelope) { e.Ciphertext = nil }),
		"short encap":       with(func(e *pb.Envelope) { e.KeyEncap = e.KeyEncap[1:] }),
		"encap for another": with(func(e *pb.Envelope) { e.KeyEncap = bytes.Repeat([]byte{1}, hpkeEncapSize) }),
		"unknown field":     append(bytes.Clone(wire), 0x30, 0x01), // field 6, varint 1
		"field twice":       append(bytes.Clone(wire), append([]byte{0x1a, 24}, good.Nonce...)...),
	}
	for name, b := range tests {
		if _, err := ParseEnvelope(b); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%s: ParseEnvelope = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := ParseEnvelope(wire); err != nil {
		t.Errorf("re-encoded good envelope: %v", err)
	}
}

func TestSealRefuses(t *testing.T) {
	d := newDM(t)
	bobKey := d.bobKey(t)
	bobKey.Encap = nil // as a recipient would hold it, if it dropped it
	if _, _, err := d.bob.SealEnvelope(d.conv, bobKey, true, testHLC, textBody(t, "x"), nil); err == nil {
		t.Error("sealed with an encapsulation it does not have")
	}
	if _, _, err := d.alice.SealEnvelope(d.conv, d.sendKey, false, testHLC, textBody(t, "x"), make([]byte, MaxCardSize+1)); err == nil {
		t.Error("sealed an oversized card")
	}
	if _, err := NewSendKey([]byte("short"), d.alice.PeerID, d.bob.PeerID); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("NewSendKey with a bad public key: %v", err)
	}
}

func TestEnvelopeSizes(t *testing.T) {
	// The constants must match the KEM the stdlib implements.
	id := mustGenerate(t)
	if n := len(id.HPKEPublicKey()); n != hpkePublicKeySize {
		t.Errorf("HPKE public key is %d bytes, constant says %d", n, hpkePublicKeySize)
	}
	k, err := NewSendKey(id.HPKEPublicKey(), id.PeerID, id.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Encap) != hpkeEncapSize {
		t.Errorf("encapsulation is %d bytes, constant says %d", len(k.Encap), hpkeEncapSize)
	}
	// The biggest message fits.
	d := newDM(t)
	card := mustSignCard(t, d.alice, strings.Repeat("n", MaxCardName))
	encoded, _, err := d.alice.SealEnvelope(d.conv, d.sendKey, true, testHLC, textBody(t, strings.Repeat("a", parley.MaxTextBytes)), card)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest text envelope: %d bytes (limit %d)", len(encoded), MaxEnvelopeSize)
	small := d.seal(t, false, textBody(t, "hi"))
	t.Logf("overhead: %q sealed is %d bytes; %d with the encapsulation", "hi", len(small), len(d.seal(t, true, textBody(t, "hi"))))
}

func TestSignedPayloadLayout(t *testing.T) {
	var conv parley.ConversationID
	var kid [KeyIDSize]byte
	for i := range conv {
		conv[i] = 0xc0
	}
	for i := range kid {
		kid[i] = 0x1d
	}
	got := SignedPayload(conv, kid, 0x0102030405060708, []byte("body"))
	want := "parley/envelope/v1\x00" + strings.Repeat("\xc0", 32) + strings.Repeat("\x1d", 16) + "\x01\x02\x03\x04\x05\x06\x07\x08" + "body"
	if string(got) != want {
		t.Errorf("SignedPayload = %q, want %q", got, want)
	}
}

func BenchmarkNewSendKey(b *testing.B) {
	alice, bob := mustGenerate(b), mustGenerate(b)
	pub := bob.HPKEPublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewSendKey(pub, alice.PeerID, bob.PeerID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenSendKey(b *testing.B) {
	d := newDM(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.bob.OpenSendKey(d.sendKey.Encap, d.alice.PeerID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealOpen is one short message, sealed by Alice and parsed and
// opened by Bob, over an established key.
func BenchmarkSealOpen(b *testing.B) {
	d := newDM(b)
	key := d.bobKey(b)
	body := textBody(b, "a typical short chat message, about sixty bytes long.")
	b.ReportAllocs()
	for b.Loop() {
		encoded, _, err := d.alice.SealEnvelope(d.conv, d.sendKey, false, testHLC, body, nil)
		if err != nil {
			b.Fatal(err)
		}
		env, err := ParseEnvelope(encoded)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := OpenEnvelope(env, key); err != nil {
			b.Fatal(err)
		}
	}
}

// Envelopes come in size buckets: texts of different lengths within one
// bucket give envelopes of one size, so relays, mailboxes and disks learn
// only the bucket (issue 13: a mailbox sees padded sizes).
func TestEnvelopesArePadded(t *testing.T) {
	d := newDM(t)
	size := func(text string) int {
		t.Helper()
		return len(d.seal(t, false, textBody(t, text)))
	}
	if a, b := size("hi"), size(strings.Repeat("a", 100)); a != b {
		t.Errorf("a 2-byte and a 100-byte text give envelopes of %d and %d bytes", a, b)
	}
	if a, b := size("hi"), size(strings.Repeat("a", 1000)); a == b {
		t.Errorf("a 2-byte and a 1,000-byte text both give %d bytes: the buckets are too coarse", a)
	}
	for n := 0; n < 70<<10; n += 37 {
		got := n + paddingFor(n)
		if p := paddingFor(n); p > 0 {
			got = n + 1 + varintLen(p) + p
		}
		if got != paddedSize(got) || got < n {
			t.Fatalf("a Sealed of %d bytes pads to %d, not a bucket", n, got)
		}
		if n > 16<<10 && got-n > 16<<10+8 || n <= 16<<10 && got > 2*n+8 && got > 256 {
			t.Fatalf("a Sealed of %d bytes pads to %d: too much", n, got)
		}
	}
	// The padding is not part of what opens: the body is as sent.
	env := d.seal(t, false, textBody(t, "padded"))
	parsed, err := ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	op, err := OpenEnvelope(parsed, d.sendKey)
	if err != nil || op.Body.GetText().GetText() != "padded" {
		t.Fatalf("open: %+v, %v", op, err)
	}
}
