package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// Envelope crypto. A DM sending key is established once with HPKE (its
// encapsulation travels in the first envelopes, until acknowledged); each
// message is then sealed with XChaCha20-Poly1305 under that key, so the
// ~1.1 KB and ~0.2 ms of an MLKEM768-X25519 encapsulation are paid once per
// key, not per message. Inside the ciphertext the sender signs what it says
// with its identity key, so relays see no author and members can prove one.

// KeyIDSize is the length of a key ID on the wire.
const KeyIDSize = 16

// MaxEnvelopeSize caps one encoded envelope.
const MaxEnvelopeSize = 128 << 10

// MaxReceiptIDs caps the envelope IDs in one receipt.
const MaxReceiptIDs = 1024

// Context strings; see PROTOCOL.md. Each is distinct so that no key or
// signature made for one purpose is ever valid for another.
const (
	dmKeyInfo         = "parley/dm-key/v1"
	dmKeyExportLabel  = "parley dm sending key"
	envelopeSigPrefix = "parley/envelope/v1\x00"
)

// SendKey is a symmetric key that seals envelopes, with the ID that names it
// on the wire and, on the sender's side, the HPKE encapsulation that lets
// the recipient derive it.
type SendKey struct {
	ID    [KeyIDSize]byte
	Key   [32]byte
	Encap []byte // hpkeEncapSize bytes
}

// dmKeyInfoFor binds a DM key to both peers: the same encapsulation opened
// for another pair of peers gives another key. Peer IDs are multihashes,
// which carry their own length, so the concatenation is unambiguous.
func dmKeyInfoFor(sender, recipient peer.ID) []byte {
	info := make([]byte, 0, len(dmKeyInfo)+len(sender)+len(recipient))
	info = append(info, dmKeyInfo...)
	info = append(info, sender...)
	return append(info, recipient...)
}

// keyIDOf names a key after its encapsulation, so that the key_encap field
// can be checked against key_id without any secret.
func keyIDOf(encap []byte) [KeyIDSize]byte {
	sum := sha256.Sum256(encap)
	return [KeyIDSize]byte(sum[:KeyIDSize])
}

// NewSendKey establishes a fresh DM sending key from sender to recipient,
// whose MLKEM768-X25519 public key (from its card) is recipientHPKE.
func NewSendKey(recipientHPKE []byte, sender, recipient peer.ID) (*SendKey, error) {
	pub, err := hpke.MLKEM768X25519().NewPublicKey(recipientHPKE)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient HPKE key: %w", parley.ErrMalformed, err)
	}
	enc, s, err := hpke.NewSender(pub, hpke.HKDFSHA256(), hpke.ExportOnly(), dmKeyInfoFor(sender, recipient))
	if err != nil {
		return nil, fmt.Errorf("establish sending key: %w", err)
	}
	return exportSendKey(enc, s.Export)
}

// OpenSendKey derives, as the recipient, the key that sender established
// with encap. ML-KEM never reports a wrong key: an encapsulation made for
// someone else, or a wrong sender, yields a key that opens nothing, so
// OpenEnvelope is where such a mismatch shows.
func (id *Identity) OpenSendKey(encap []byte, sender peer.ID) (*SendKey, error) {
	if len(encap) != hpkeEncapSize {
		return nil, fmt.Errorf("%w: key encapsulation is %d bytes, want %d", parley.ErrMalformed, len(encap), hpkeEncapSize)
	}
	r, err := hpke.NewRecipient(encap, id.HPKE, hpke.HKDFSHA256(), hpke.ExportOnly(), dmKeyInfoFor(sender, id.PeerID))
	if err != nil {
		return nil, fmt.Errorf("%w: key encapsulation: %w", parley.ErrMalformed, err)
	}
	return exportSendKey(bytes.Clone(encap), r.Export)
}

func exportSendKey(enc []byte, export func(string, int) ([]byte, error)) (*SendKey, error) {
	k, err := export(dmKeyExportLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("export sending key: %w", err)
	}
	sk := &SendKey{ID: keyIDOf(enc), Key: [32]byte(k), Encap: enc}
	clear(k)
	return sk, nil
}

// SignedPayload is what an envelope's signature covers:
//
//	"parley/envelope/v1\x00" || conversation ID (32) || key ID (16) || HLC (8, big-endian) || body
//
// Every part but the body has a fixed size, so the encoding is unambiguous.
// The conversation and key ID bind the message to where it was sent, so it
// cannot be replayed into another conversation or under another key.
func SignedPayload(conv parley.ConversationID, keyID [KeyIDSize]byte, hlc parley.HLC, body []byte) []byte {
	b := make([]byte, 0, len(envelopeSigPrefix)+len(conv)+KeyIDSize+8+len(body))
	b = append(b, envelopeSigPrefix...)
	b = append(b, conv[:]...)
	b = append(b, keyID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(hlc))
	return append(b, body...)
}

// envelopeAAD is the AEAD's additional data: the outer fields a relay sees
// are authenticated by the ciphertext.
func envelopeAAD(conv []byte, keyID []byte) []byte {
	return append(append(make([]byte, 0, len(conv)+len(keyID)), conv...), keyID...)
}

// SealEnvelope signs and encrypts one message: body is an encoded pb.Body
// (checked by the same rules as OpenEnvelope, so we never send what a peer
// must refuse), card the sender's signed card or nil. With includeEncap the
// key's encapsulation rides along, for a recipient who may not have it yet.
// It returns the encoded pb.Envelope and its ID.
func (id *Identity) SealEnvelope(conv parley.ConversationID, key *SendKey, includeEncap bool, hlc parley.HLC, body []byte, card []byte) (encoded []byte, eid parley.EnvelopeID, err error) {
	if key == nil {
		return nil, eid, fmt.Errorf("seal: no sending key")
	}
	if _, err := decodeBody(body); err != nil {
		return nil, eid, fmt.Errorf("seal: %w", err)
	}
	if len(card) > MaxCardSize {
		return nil, eid, fmt.Errorf("seal: %w: card is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(card), MaxCardSize)
	}
	if includeEncap && len(key.Encap) != hpkeEncapSize {
		return nil, eid, fmt.Errorf("seal: this key has no encapsulation to include (it was opened, not established, here)")
	}
	sig, err := id.sign(SignedPayload(conv, key.ID, hlc, body))
	if err != nil {
		return nil, eid, fmt.Errorf("seal: %w", err)
	}
	sealed := &pb.Sealed{
		Sender:     []byte(id.PeerID),
		Hlc:        uint64(hlc),
		Body:       body,
		Signature:  sig,
		SenderCard: card,
	}
	sealed.Padding = make([]byte, paddingFor(proto.Size(sealed)))
	plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(sealed)
	if err != nil {
		return nil, eid, fmt.Errorf("seal: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key.Key[:])
	if err != nil {
		return nil, eid, fmt.Errorf("seal: %w", err)
	}
	// A random 24-byte nonce cannot realistically repeat, so no counter
	// state has to survive crashes or be shared between devices.
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce) // never fails (crypto/rand crashes the program instead)
	env := &pb.Envelope{
		ConversationId: conv[:],
		KeyId:          key.ID[:],
		Nonce:          nonce,
		Ciphertext:     aead.Seal(nil, nonce, plain, envelopeAAD(conv[:], key.ID[:])),
	}
	if includeEncap {
		env.KeyEncap = key.Encap
	}
	encoded, err = proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, eid, fmt.Errorf("seal: %w", err)
	}
	if len(encoded) > MaxEnvelopeSize {
		return nil, eid, fmt.Errorf("seal: %w: envelope is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(encoded), MaxEnvelopeSize)
	}
	return encoded, parley.NewEnvelopeID(encoded), nil
}

// paddedSize is the size bucket an encoded Sealed of n bytes is padded to:
// a power of two from 256 bytes to 16 KiB, then a multiple of 16 KiB (so
// that the largest bodies, file offers of 64 KiB of hashes, stay within
// MaxEnvelopeSize). The buckets hide a message's length to within a
// factor of two where it says most (short texts), at a cost of at most
// 16 KiB where it says little.
func paddedSize(n int) int {
	const step = 16 << 10
	if n > step {
		return (n + step - 1) / step * step
	}
	b := 256
	for b < n {
		b *= 2
	}
	return b
}

// PaddedSize is paddedSize for others that pad to the same buckets (file
// chunks deposited at mailboxes).
func PaddedSize(n int) int { return paddedSize(n) }

// paddingFor is how many padding bytes bring an encoded Sealed of n bytes
// (without padding) to its bucket: the field costs a tag byte and a varint
// length besides its bytes, and an empty one is not encoded at all, so
// some sizes can only reach the next bucket.
func paddingFor(n int) int {
	for target := paddedSize(n); ; target = paddedSize(target + 1) {
		d := target - n
		if d == 0 {
			return 0
		}
		for p := max(d-1-binary.MaxVarintLen64, 1); p <= d-2; p++ {
			if 1+varintLen(p)+p == d {
				return p
			}
		}
	}
}

func varintLen(v int) int { return len(binary.AppendUvarint(nil, uint64(v))) }

// ParseEnvelope decodes an envelope from the wire or the store and checks
// its outer fields: at most MaxEnvelopeSize bytes, in canonical protobuf
// encoding (each field once, in order, no unknown fields: one envelope has
// one ID), a 32-byte conversation ID, 16-byte key ID, 24-byte nonce,
// non-empty ciphertext, and a key_encap that is empty or a full
// MLKEM768-X25519 encapsulation whose hash matches the key ID. Errors wrap
// parley.ErrMalformed.
func ParseEnvelope(encoded []byte) (*pb.Envelope, error) {
	if len(encoded) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: envelope is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(encoded), MaxEnvelopeSize)
	}
	env := new(pb.Envelope)
	if err := proto.Unmarshal(encoded, env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", parley.ErrMalformed, err)
	}
	if err := checkEnvelope(env); err != nil {
		return nil, err
	}
	canon, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil || !bytes.Equal(canon, encoded) {
		return nil, fmt.Errorf("%w: envelope is not canonically encoded", parley.ErrMalformed)
	}
	return env, nil
}

func checkEnvelope(env *pb.Envelope) error {
	switch {
	case env == nil:
		return fmt.Errorf("%w: no envelope", parley.ErrMalformed)
	case len(env.ConversationId) != len(parley.ConversationID{}):
		return fmt.Errorf("%w: envelope conversation ID is %d bytes, want 32", parley.ErrMalformed, len(env.ConversationId))
	case len(env.KeyId) != KeyIDSize:
		return fmt.Errorf("%w: envelope key ID is %d bytes, want %d", parley.ErrMalformed, len(env.KeyId), KeyIDSize)
	case len(env.Nonce) != chacha20poly1305.NonceSizeX:
		return fmt.Errorf("%w: envelope nonce is %d bytes, want %d", parley.ErrMalformed, len(env.Nonce), chacha20poly1305.NonceSizeX)
	case len(env.Ciphertext) == 0:
		return fmt.Errorf("%w: envelope has no ciphertext", parley.ErrMalformed)
	case len(env.ProtoReflect().GetUnknown()) != 0:
		return fmt.Errorf("%w: envelope has unknown fields", parley.ErrMalformed)
	case len(env.KeyEncap) == 0:
		return nil
	case len(env.KeyEncap) != hpkeEncapSize:
		return fmt.Errorf("%w: envelope key encapsulation is %d bytes, want 0 or %d", parley.ErrMalformed, len(env.KeyEncap), hpkeEncapSize)
	}
	// The key ID names the encapsulation; a mismatch means one of them was
	// swapped, and the key derived from it would not be the one named.
	if id := keyIDOf(env.KeyEncap); !bytes.Equal(id[:], env.KeyId) {
		return fmt.Errorf("%w: envelope key encapsulation does not match its key ID", parley.ErrMalformed)
	}
	return nil
}

// Opened is a decrypted, verified envelope.
type Opened struct {
	Sender    peer.ID    // the verified signer
	HLC       parley.HLC // the sender's clock
	Body      *pb.Body   // decoded and checked
	BodyBytes []byte     // Body as signed
	Card      []byte     // the sender's signed card, unverified, may be nil: check it with ParseCard and that its PeerID is Sender
}

// OpenEnvelope decrypts env (from ParseEnvelope) with key, verifies the
// sender's signature and checks the body: exactly one kind; text at most
// parley.MaxTextBytes of UTF-8, reply_to empty or 32 bytes; a receipt of a
// known kind with 1 to MaxReceiptIDs envelope IDs of 32 bytes each; group
// ops, group keys and file offers as checkGroupOp, checkGroupKeys and
// CheckFileOffer say.
//
// The signature proves who wrote the message, not that they belong in the
// conversation: the caller checks Sender against the conversation's members
// (for a DM, against the peer the key was established with). Errors wrap
// parley.ErrMalformed (including a ciphertext that does not authenticate
// under key) or parley.ErrBadSignature.
func OpenEnvelope(env *pb.Envelope, key *SendKey) (*Opened, error) {
	if err := checkEnvelope(env); err != nil {
		return nil, err
	}
	if key == nil || !bytes.Equal(env.KeyId, key.ID[:]) {
		return nil, fmt.Errorf("%w: envelope is sealed under key %x, not this one", parley.ErrMalformed, env.KeyId)
	}
	aead, err := chacha20poly1305.NewX(key.Key[:])
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	plain, err := aead.Open(nil, env.Nonce, env.Ciphertext, envelopeAAD(env.ConversationId, env.KeyId))
	if err != nil {
		return nil, fmt.Errorf("%w: envelope does not decrypt under key %x: tampered, or sealed for someone else", parley.ErrMalformed, env.KeyId)
	}
	var sealed pb.Sealed
	if err := proto.Unmarshal(plain, &sealed); err != nil {
		return nil, fmt.Errorf("%w: sealed content: %w", parley.ErrMalformed, err)
	}
	sender, err := peerIDFromBytes(sealed.Sender)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	pub, err := ed25519PublicKey(sender)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	conv := parley.ConversationID(env.ConversationId)
	hlc := parley.HLC(sealed.Hlc)
	payload := SignedPayload(conv, key.ID, hlc, sealed.Body)
	if len(sealed.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, payload, sealed.Signature) {
		return nil, fmt.Errorf("%w: envelope is not signed by its sender %s", parley.ErrBadSignature, sender)
	}
	body, err := decodeBody(sealed.Body)
	if err != nil {
		return nil, err
	}
	if len(sealed.SenderCard) > MaxCardSize {
		return nil, fmt.Errorf("%w: sender card is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(sealed.SenderCard), MaxCardSize)
	}
	var card []byte
	if len(sealed.SenderCard) > 0 {
		card = sealed.SenderCard
	}
	return &Opened{Sender: sender, HLC: hlc, Body: body, BodyBytes: sealed.Body, Card: card}, nil
}

// decodeBody decodes and checks a message body.
func decodeBody(b []byte) (*pb.Body, error) {
	body := new(pb.Body)
	if err := proto.Unmarshal(b, body); err != nil {
		return nil, fmt.Errorf("%w: body: %w", parley.ErrMalformed, err)
	}
	switch k := body.Kind.(type) {
	case *pb.Body_Text:
		t := k.Text
		if t == nil {
			t = new(pb.Text) // an empty submessage on the wire
		}
		if t.Text == "" {
			return nil, fmt.Errorf("%w: empty text", parley.ErrMalformed)
		}
		if len(t.Text) > parley.MaxTextBytes {
			return nil, fmt.Errorf("%w: text is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(t.Text), parley.MaxTextBytes)
		}
		if !utf8.ValidString(t.Text) {
			return nil, fmt.Errorf("%w: text is not UTF-8", parley.ErrMalformed)
		}
		if n := len(t.ReplyTo); n != 0 && n != len(parley.EnvelopeID{}) {
			return nil, fmt.Errorf("%w: reply_to is %d bytes, want 32", parley.ErrMalformed, n)
		}
		if err := checkTimerSeconds("text", t.ExpireSeconds); err != nil {
			return nil, err
		}
	case *pb.Body_Receipt:
		r := k.Receipt
		if r == nil {
			return nil, fmt.Errorf("%w: empty receipt", parley.ErrMalformed)
		}
		if r.Kind != pb.Receipt_KIND_DELIVERED && r.Kind != pb.Receipt_KIND_READ {
			return nil, fmt.Errorf("%w: receipt kind %d is not known", parley.ErrMalformed, r.Kind)
		}
		if n := len(r.EnvelopeIds); n == 0 || n > MaxReceiptIDs {
			return nil, fmt.Errorf("%w: receipt lists %d messages, want 1 to %d", parley.ErrMalformed, n, MaxReceiptIDs)
		}
		for i, id := range r.EnvelopeIds {
			if len(id) != len(parley.EnvelopeID{}) {
				return nil, fmt.Errorf("%w: receipt message ID %d is %d bytes, want 32", parley.ErrMalformed, i, len(id))
			}
		}
	case *pb.Body_GroupOp:
		if err := checkGroupOp(k.GroupOp); err != nil {
			return nil, err
		}
	case *pb.Body_GroupKeys:
		if err := checkGroupKeys(k.GroupKeys); err != nil {
			return nil, err
		}
	case *pb.Body_FileOffer:
		if err := CheckFileOffer(k.FileOffer); err != nil {
			return nil, err
		}
	case *pb.Body_MailboxGrant:
		if err := CheckMailboxGrant(k.MailboxGrant); err != nil {
			return nil, err
		}
	case *pb.Body_GroupMailboxGrant:
		if err := CheckMailboxGrant(&pb.MailboxGrant{Mailboxes: k.GroupMailboxGrant.GetMailboxes()}); err != nil {
			return nil, err
		}
	case *pb.Body_FileCancel:
		if n := len(k.FileCancel.GetFileId()); n != FileIDSize {
			return nil, fmt.Errorf("%w: file cancel: file ID is %d bytes, want %d", parley.ErrMalformed, n, FileIDSize)
		}
	case *pb.Body_CardUpdate:
		// The card itself is checked against the sender by its receiver
		// (ParseCard, then its peer ID): here only its size.
		if n := len(k.CardUpdate.GetCard()); n == 0 || n > MaxCardSize {
			return nil, fmt.Errorf("%w: card update of %d bytes, want 1 to %d", parley.ErrMalformed, n, MaxCardSize)
		}
	case *pb.Body_MailboxOffer:
		if _, err := CheckMailboxOffer(k.MailboxOffer); err != nil {
			return nil, err
		}
	default:
		if err := checkBody(body); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// checkBody checks the bodies of conversation features (edits, deletes,
// reactions); any other kind is unknown.
func checkBody(body *pb.Body) error {
	switch k := body.Kind.(type) {
	case *pb.Body_Edit:
		return checkEdit(k.Edit)
	case *pb.Body_Delete:
		return checkTarget("delete", k.Delete.GetTarget())
	case *pb.Body_Reaction:
		return checkReaction(k.Reaction)
	case *pb.Body_GroupReceipt:
		return checkGroupReceipt(k.GroupReceipt)
	case *pb.Body_Timer:
		return checkTimerSeconds("timer", k.Timer.GetSeconds())
	}
	return fmt.Errorf("%w: body has no known kind", parley.ErrMalformed)
}
