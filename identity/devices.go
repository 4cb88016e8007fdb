package identity

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

// Limits on a device list. Eight devices are more than a person carries;
// revocations are kept for good (revocation is sticky), so they get room
// for a lifetime. The three maxima together would not fit in
// MaxDeviceListSize, which binds first: it holds 8 devices (about 1,300
// bytes each, most of it the HPKE key) and a chain of 19 successions, the
// first and 18 revocations (287 bytes each with the revoked peer ID), as
// TestDeviceListLargestFits logs. A list that does not fit is refused when
// signed.
const (
	MaxDevices        = 8
	MaxRevokedDevices = 256
	MaxDeviceListSize = 16 << 10 // encoded SignedDeviceList, bytes
)

// deviceListSigContext prefixes what both signatures of a device list cover.
const deviceListSigContext = "parley/devices/v1\x00"

// Errors of DeviceList.Accepts.
var (
	// ErrDeviceFork: two lists of one person name different successors of
	// one person key. Someone holding that key (a revoked device, or a
	// thief) signed a competing chain; neither can be trusted until the
	// users verify again.
	ErrDeviceFork = errors.New("this contact's devices conflict: verify again")
	// ErrStaleDeviceList: the list is not newer than the one held (the same
	// one again, or an older one), which is routine and not an attack.
	ErrStaleDeviceList = errors.New("device list is not newer than the one held")
)

// Device is one node of a person: its peer ID (the transport's, and the key
// that signs its messages) and the HPKE key that messages for it are sealed
// to.
type Device struct {
	PeerID   peer.ID
	HPKEKey  []byte // MLKEM768-X25519 public key
	Name     string // such as "laptop"
	LinkedAt time.Time
}

// DeviceList is a person's devices as one of them wrote it. On the wire it
// is always signed by the person key and by its author (SignDeviceList,
// ParseDeviceList). A person with no list is one device, its person ID:
// as if it had a list of Seq 0 with that device alone.
type DeviceList struct {
	Person  peer.ID // the person ID, the peer ID of the first person key
	Seq     uint64  // higher replaces lower; at least 1
	Devices []Device
	Revoked []peer.ID // devices revoked for good: none may ever be listed again
	Author  peer.ID   // the device that wrote the list: one of Devices
	// Keys are the person keys the list was verified along, in order:
	// Keys[0] is inside Person, the last one signed the list. Set by
	// ParseDeviceList; SignDeviceList takes the chain from its PersonKeys.
	Keys []ed25519.PublicKey
}

// SignDeviceList encodes l and signs it with the current person key of
// keys and with author, the key of the device writing it. An empty Person
// or Author is filled in from keys and author; any other is refused, since
// nobody could verify the result. The list must pass every rule of
// ParseDeviceList, so that every list we hand out parses, and its device
// names must pass CheckName.
func SignDeviceList(keys *PersonKeys, author crypto.PrivKey, l DeviceList) ([]byte, error) {
	if keys == nil {
		return nil, errors.New("sign device list: no person keys")
	}
	authorID, _, err := ed25519Key(author)
	if err != nil {
		return nil, fmt.Errorf("sign device list: author: %w", err)
	}
	if l.Person == "" {
		l.Person = keys.person
	}
	if l.Person != keys.person {
		return nil, fmt.Errorf("sign device list: list is for %s, but the keys are %s's", l.Person, keys.person)
	}
	if l.Author == "" {
		l.Author = authorID
	}
	if l.Author != authorID {
		return nil, fmt.Errorf("sign device list: list is by %s, but the author key is %s's", l.Author, authorID)
	}
	m := &pb.DeviceList{PersonId: []byte(l.Person), KeyIndex: keys.Index(), Seq: l.Seq, Author: []byte(l.Author)}
	for i, d := range l.Devices {
		if err := CheckName(d.Name); err != nil {
			return nil, fmt.Errorf("sign device list: device %d: %w", i, err)
		}
		var linked int64
		if !d.LinkedAt.IsZero() {
			linked = d.LinkedAt.UnixMilli()
		}
		m.Devices = append(m.Devices, &pb.Device{PeerId: []byte(d.PeerID), HpkeKey: d.HPKEKey, Name: d.Name, LinkedAtMs: linked})
	}
	for _, r := range l.Revoked {
		m.Revoked = append(m.Revoked, []byte(r))
	}
	list, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sign device list: %w", err)
	}
	personSig, err := keys.key.Sign(deviceListSignedBytes(list))
	if err != nil {
		return nil, fmt.Errorf("sign device list: %w", err)
	}
	authorSig, err := author.Sign(deviceListSignedBytes(list))
	if err != nil {
		return nil, fmt.Errorf("sign device list: %w", err)
	}
	signed, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.SignedDeviceList{
		List: list, Chain: keys.chain, PersonSig: personSig, AuthorSig: authorSig,
	})
	if err != nil {
		return nil, fmt.Errorf("sign device list: %w", err)
	}
	// Parsing what we made checks every rule in one place, the receiver's;
	// lists are signed rarely (on linking and revoking), so the cost of a
	// few verifications does not matter.
	if _, err := ParseDeviceList(signed); err != nil {
		return nil, fmt.Errorf("sign device list: %w", err)
	}
	return signed, nil
}

// deviceListSignedBytes is what both signatures of a device list cover.
func deviceListSignedBytes(list []byte) []byte {
	return append([]byte(deviceListSigContext), list...)
}

// ParseDeviceList decodes a signed device list and verifies everything it
// carries: its limits, every peer ID an Ed25519 one in canonical form, every
// HPKE key valid (as a card's), the chain of successions from the person ID
// to the key at key_index (which must be the chain's last: a list is signed
// by the newest key its chain reaches), the person key's signature, and the
// author's, who must be one of the devices. No device is listed twice or
// both listed and revoked. A device name over MaxCardName bytes is refused;
// one CheckName refuses for what it contains is replaced with the device's
// short peer ID, as a card's name is (cardName).
//
// It does not tell whether the list may replace one already held: see
// DeviceList.Accepts. Errors wrap parley.ErrMalformed, and also
// parley.ErrBadSignature when a signature fails.
func ParseDeviceList(signed []byte) (DeviceList, error) {
	if len(signed) > MaxDeviceListSize {
		return DeviceList{}, fmt.Errorf("%w: device list is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(signed), MaxDeviceListSize)
	}
	var sl pb.SignedDeviceList
	if err := proto.Unmarshal(signed, &sl); err != nil {
		return DeviceList{}, fmt.Errorf("%w: device list: %w", parley.ErrMalformed, err)
	}
	var m pb.DeviceList
	if err := proto.Unmarshal(sl.List, &m); err != nil {
		return DeviceList{}, fmt.Errorf("%w: device list: %w", parley.ErrMalformed, err)
	}
	person, err := peerIDFromBytes(m.PersonId)
	if err != nil {
		return DeviceList{}, fmt.Errorf("device list person: %w", err)
	}
	first, err := ed25519PublicKey(person)
	if err != nil {
		return DeviceList{}, fmt.Errorf("device list person: %w", err)
	}
	if m.Seq == 0 {
		return DeviceList{}, fmt.Errorf("%w: device list has seq 0 (the implicit list of a person with one device)", parley.ErrMalformed)
	}
	l := DeviceList{Person: person, Seq: m.Seq}
	if l.Devices, err = checkDevices(m.Devices); err != nil {
		return DeviceList{}, err
	}
	if l.Revoked, err = checkRevoked(m.Revoked, l.Devices); err != nil {
		return DeviceList{}, err
	}
	if l.Author, err = peerIDFromBytes(m.Author); err != nil {
		return DeviceList{}, fmt.Errorf("device list author: %w", err)
	}
	authorKey, err := ed25519PublicKey(l.Author)
	if err != nil {
		return DeviceList{}, fmt.Errorf("device list author: %w", err)
	}
	if !slices.ContainsFunc(l.Devices, func(d Device) bool { return d.PeerID == l.Author }) {
		return DeviceList{}, fmt.Errorf("%w: device list author %s is not one of its devices", parley.ErrMalformed, l.Author)
	}

	if l.Keys, err = verifyChain(person, first, sl.Chain); err != nil {
		return DeviceList{}, fmt.Errorf("device list: %w", err)
	}
	if m.KeyIndex != uint32(len(sl.Chain)) {
		return DeviceList{}, fmt.Errorf("%w: device list names person key %d, but its chain reaches key %d", parley.ErrMalformed, m.KeyIndex, len(sl.Chain))
	}
	signedBytes := deviceListSignedBytes(sl.List)
	if !verifySig(l.Keys[len(l.Keys)-1], signedBytes, sl.PersonSig) {
		return DeviceList{}, fmt.Errorf("%w: device list is not signed by person key %d of %s (%w)", parley.ErrMalformed, m.KeyIndex, person, parley.ErrBadSignature)
	}
	if !verifySig(authorKey, signedBytes, sl.AuthorSig) {
		return DeviceList{}, fmt.Errorf("%w: device list is not signed by its author %s (%w)", parley.ErrMalformed, l.Author, parley.ErrBadSignature)
	}
	return l, nil
}

// checkDevices enforces the limits on a list's devices and decodes them.
func checkDevices(ms []*pb.Device) ([]Device, error) {
	if n := len(ms); n == 0 || n > MaxDevices {
		return nil, fmt.Errorf("%w: device list has %d devices, want 1 to %d", parley.ErrMalformed, n, MaxDevices)
	}
	out := make([]Device, 0, len(ms))
	for i, m := range ms {
		p, err := peerIDFromBytes(m.PeerId)
		if err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		if _, err := ed25519PublicKey(p); err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		if slices.ContainsFunc(out, func(d Device) bool { return d.PeerID == p }) {
			return nil, fmt.Errorf("%w: device %s is listed twice", parley.ErrMalformed, p)
		}
		if err := checkHPKEKey(m.HpkeKey); err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		if len(m.Name) > MaxCardName {
			return nil, fmt.Errorf("%w: device %d name is %d bytes, over the %d-byte limit", parley.ErrMalformed, i, len(m.Name), MaxCardName)
		}
		if m.LinkedAtMs < 0 {
			return nil, fmt.Errorf("%w: device %d was linked before 1970", parley.ErrMalformed, i)
		}
		d := Device{PeerID: p, HPKEKey: m.HpkeKey, Name: cardName(p, m.Name)}
		if m.LinkedAtMs != 0 {
			d.LinkedAt = time.UnixMilli(m.LinkedAtMs)
		}
		out = append(out, d)
	}
	return out, nil
}

// checkRevoked enforces the limits on a list's revoked devices and decodes
// them: none listed twice, none among the devices.
func checkRevoked(rs [][]byte, devices []Device) ([]peer.ID, error) {
	if len(rs) > MaxRevokedDevices {
		return nil, fmt.Errorf("%w: device list revokes %d devices, over the limit of %d", parley.ErrMalformed, len(rs), MaxRevokedDevices)
	}
	var out []peer.ID
	seen := make(map[peer.ID]bool, len(rs))
	for i, b := range rs {
		p, err := peerIDFromBytes(b)
		if err != nil {
			return nil, fmt.Errorf("revoked device %d: %w", i, err)
		}
		if _, err := ed25519PublicKey(p); err != nil {
			return nil, fmt.Errorf("revoked device %d: %w", i, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("%w: device %s is revoked twice", parley.ErrMalformed, p)
		}
		seen[p] = true
		if slices.ContainsFunc(devices, func(d Device) bool { return d.PeerID == p }) {
			return nil, fmt.Errorf("%w: device %s is both listed and revoked", parley.ErrMalformed, p)
		}
		out = append(out, p)
	}
	return out, nil
}

// Accepts tells whether a contact that holds the device list known (as
// ParseDeviceList returned it) may replace it with next (likewise): nil if
// it may, else why not.
//
//   - next is the same person's and has a higher Seq (else
//     ErrStaleDeviceList).
//   - next's chain of person keys extends known's: known's keys are a
//     prefix of next's. The same index with another key is a fork
//     (ErrDeviceFork): two successors of one key, which only someone who
//     held that key can have signed; the contact keeps known and shows the
//     conflict. A shorter chain means next is signed by a key that known's
//     chain has already handed over.
//   - Revocation is sticky: every device known revokes, next revokes too.
//   - next is not written by a device that known revokes.
//
// The threat is a revoked device, or whoever stole it: it held the person
// key of its time and keeps its own device key. The rules above keep it
// from signing a list a contact would take after that contact has seen its
// revocation (which came with a new person key it never held). What they
// cannot do is pick a winner before then: a revoked device that signs its
// own successor of the key it held makes a fork, and a contact that sees
// both sides is told (ErrDeviceFork) rather than silently taken over. A
// contact that has only ever seen the thief's side cannot know; verifying
// again with the person settles it.
func (known DeviceList) Accepts(next DeviceList) error {
	if next.Person != known.Person {
		return fmt.Errorf("device list is for %s, not %s", next.Person, known.Person)
	}
	// A fork is told whatever the sequence numbers: it is evidence that a
	// person key is in two hands.
	for i := range min(len(known.Keys), len(next.Keys)) {
		if !bytes.Equal(known.Keys[i], next.Keys[i]) {
			return fmt.Errorf("%w: person key %d of %s differs from the one held", ErrDeviceFork, i, next.Person)
		}
	}
	if next.Seq <= known.Seq {
		return fmt.Errorf("%w: seq %d, holding %d", ErrStaleDeviceList, next.Seq, known.Seq)
	}
	if len(next.Keys) < len(known.Keys) {
		return fmt.Errorf("device list is signed by person key %d, which key %d has succeeded", len(next.Keys)-1, len(known.Keys)-1)
	}
	// Of two lists that pass ParseDeviceList, the rule below follows from
	// the next one (the author is listed, so not revoked, in next); it comes
	// first to say why such a list is refused.
	if slices.Contains(known.Revoked, next.Author) {
		return fmt.Errorf("device list is written by device %s, which is revoked", next.Author)
	}
	for _, r := range known.Revoked {
		if !slices.Contains(next.Revoked, r) {
			return fmt.Errorf("device list no longer revokes device %s: revocation is for good", r)
		}
	}
	return nil
}
