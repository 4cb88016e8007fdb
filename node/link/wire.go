package link

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/link/pb"
)

// Wire limits (PROTOCOL.md §11.6): every frame is read under one of these,
// and a larger one resets the stream.
const (
	// MaxHelloSize bounds Hello: a binary peer ID (38 bytes), a 16-byte
	// secret and their field headers, with room to spare.
	MaxHelloSize = 128
	// MaxHelloReplySize bounds HelloReply: the HPKE key (1,216 bytes), a
	// name of at most 64 bytes and the headers.
	MaxHelloReplySize = 2048
	// MaxTransferSize bounds Transfer: a device list (at most
	// identity.MaxDeviceListSize), a chain of at most
	// identity.MaxSuccessions links of about 250 bytes, and the key.
	MaxTransferSize = identity.MaxDeviceListSize + identity.MaxSuccessions*256 + 1024
	// MaxChunkData bounds the snapshot bytes of one Chunk, and
	// maxChunkSize the frame.
	MaxChunkData = 1 << 20
	maxChunkSize = MaxChunkData + 16
	// MaxReasonSize bounds Done's reason, and maxDoneSize the frame.
	MaxReasonSize = 256
	maxDoneSize   = MaxReasonSize + 16
	// MaxSnapshotSize bounds the snapshot as a whole: the new device
	// refuses one that runs past it.
	MaxSnapshotSize = 1 << 30
)

// Errors the existing device gets when the new device refuses: each says
// what to do. The new device's refusals of the code are identity's
// (identity.ErrWrongLinkSecret, ErrLinkCodeExpired, ErrLinkCodeUsed).
var (
	// ErrNotFresh: the new device holds contacts or messages of its own;
	// linking would have to merge two people's stores, which it does not.
	ErrNotFresh = errors.New("the new device already holds contacts or messages: only a freshly started Parley can be linked (start it on a new data dir)")
	// ErrDeclined: the existing device's user did not confirm the safety
	// code, or the existing device ended the link before sending the keys.
	ErrDeclined = errors.New("the link was declined on the existing device")
)

// RefusedError is the new device's refusal of what it was sent (Done with
// CODE_REFUSED).
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "the new device refused the link: " + e.Reason }

// NewDevice is what the new device tells about itself in HelloReply; its
// peer ID is the stream's remote peer, the one in the link code.
type NewDevice struct {
	PeerID  peer.ID
	HPKEKey []byte
	Name    string
}

// Transfer is what the existing device hands over after its user
// confirmed: the person's keys and the device list that adds the new
// device. The store's snapshot follows it on the stream.
type Transfer struct {
	Keys       *identity.PersonKeys
	DeviceList []byte
	// SchemaVersion is the storage schema the snapshot was taken at.
	SchemaVersion uint32
}

// decodeHello reads the existing device's Hello: the person it speaks for
// and the secret it read in the code.
func decodeHello(b []byte) (person peer.ID, secret []byte, err error) {
	var m pb.Hello
	if err := proto.Unmarshal(b, &m); err != nil {
		return "", nil, fmt.Errorf("%w: hello: %w", parley.ErrMalformed, err)
	}
	if person, err = peer.IDFromBytes(m.PersonId); err != nil {
		return "", nil, fmt.Errorf("%w: hello: person ID: %w", parley.ErrMalformed, err)
	}
	if len(m.Secret) != identity.LinkSecretSize {
		return "", nil, fmt.Errorf("%w: hello: secret of %d bytes, want %d", parley.ErrMalformed, len(m.Secret), identity.LinkSecretSize)
	}
	return person, m.Secret, nil
}

// decodeHelloReply reads the new device's answer: the device when it took
// the secret, else the refusal as an error.
func decodeHelloReply(b []byte) (NewDevice, error) {
	var m pb.HelloReply
	if err := proto.Unmarshal(b, &m); err != nil {
		return NewDevice{}, fmt.Errorf("%w: hello reply: %w", parley.ErrMalformed, err)
	}
	switch m.Code {
	case pb.HelloReply_CODE_OK:
	case pb.HelloReply_CODE_WRONG_SECRET:
		return NewDevice{}, identity.ErrWrongLinkSecret
	case pb.HelloReply_CODE_EXPIRED:
		return NewDevice{}, identity.ErrLinkCodeExpired
	case pb.HelloReply_CODE_USED:
		return NewDevice{}, identity.ErrLinkCodeUsed
	case pb.HelloReply_CODE_NOT_FRESH:
		return NewDevice{}, ErrNotFresh
	default:
		return NewDevice{}, fmt.Errorf("%w: hello reply: unknown code %d", parley.ErrMalformed, m.Code)
	}
	if err := identity.CheckHPKEPublicKey(m.HpkeKey); err != nil {
		return NewDevice{}, fmt.Errorf("hello reply: %w", err)
	}
	if len(m.DeviceName) > identity.MaxCardName || identity.CheckName(m.DeviceName) != nil {
		// The name goes into the list we sign, whose encoder refuses what
		// CheckName refuses: an unusable name is dropped, not fatal.
		m.DeviceName = ""
	}
	return NewDevice{HPKEKey: m.HpkeKey, Name: m.DeviceName}, nil
}

// encodeTransfer is t as its frame.
func encodeTransfer(t Transfer) (*pb.Transfer, error) {
	key, err := crypto.MarshalPrivateKey(t.Keys.Key())
	if err != nil {
		return nil, fmt.Errorf("link: person key: %w", err)
	}
	return &pb.Transfer{PersonKey: key, Successions: t.Keys.Successions(), DeviceList: t.DeviceList, SchemaVersion: t.SchemaVersion}, nil
}

// decodeTransfer reads a Transfer from existing, a device of person, for
// the new device self: the chain must lead from person to the key sent,
// and the list must be that person's, written by existing and listing
// self. (identity.Identity.WithPerson checks the rest when self adopts
// it: the key the list gives self is self's own.)
func decodeTransfer(b []byte, person, existing, self peer.ID) (Transfer, error) {
	var m pb.Transfer
	if err := proto.Unmarshal(b, &m); err != nil {
		return Transfer{}, fmt.Errorf("%w: transfer: %w", parley.ErrMalformed, err)
	}
	if len(m.Successions) > identity.MaxSuccessions {
		return Transfer{}, fmt.Errorf("%w: transfer: %d successions, over the limit of %d", parley.ErrMalformed, len(m.Successions), identity.MaxSuccessions)
	}
	key, err := crypto.UnmarshalPrivateKey(m.PersonKey)
	if err != nil {
		return Transfer{}, fmt.Errorf("%w: transfer: person key: %w", parley.ErrMalformed, err)
	}
	keys, err := identity.RestorePersonKeys(person, key, m.Successions)
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer: %w", err)
	}
	if keys.Index() == 0 {
		// Key 0 is the first device's own key: it never leaves it.
		return Transfer{}, fmt.Errorf("%w: transfer: the person key sent is person key 0, the first device's own", parley.ErrMalformed)
	}
	l, err := identity.ParseDeviceList(m.DeviceList)
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer: %w", err)
	}
	switch {
	case l.Person != person:
		return Transfer{}, fmt.Errorf("%w: transfer: the device list is %s's, not %s's", parley.ErrMalformed, l.Person, person)
	case l.Author != existing:
		return Transfer{}, fmt.Errorf("%w: transfer: the device list is written by %s, not by the device linking us (%s)", parley.ErrMalformed, l.Author, existing)
	case len(l.Keys) != int(keys.Index())+1:
		return Transfer{}, fmt.Errorf("%w: transfer: the device list is signed by person key %d, not by the key sent (%d)", parley.ErrMalformed, len(l.Keys)-1, keys.Index())
	}
	listed := false
	for _, d := range l.Devices {
		listed = listed || d.PeerID == self
	}
	if !listed {
		return Transfer{}, fmt.Errorf("%w: transfer: the device list does not list this device", parley.ErrMalformed)
	}
	return Transfer{Keys: keys, DeviceList: m.DeviceList, SchemaVersion: m.SchemaVersion}, nil
}

// decodeChunk reads a piece of the snapshot.
func decodeChunk(b []byte) (data []byte, last bool, err error) {
	var m pb.Chunk
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("%w: chunk: %w", parley.ErrMalformed, err)
	}
	if len(m.Data) > MaxChunkData {
		return nil, false, fmt.Errorf("%w: chunk of %d bytes, over %d", parley.ErrMalformed, len(m.Data), MaxChunkData)
	}
	return m.Data, m.Last, nil
}

// decodeDone reads the new device's last frame: nil when it is linked.
func decodeDone(b []byte) error {
	var m pb.Done
	if err := proto.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%w: done: %w", parley.ErrMalformed, err)
	}
	switch m.Code {
	case pb.Done_CODE_OK:
		return nil
	case pb.Done_CODE_REFUSED:
		return &RefusedError{Reason: printable(m.Reason)}
	}
	return fmt.Errorf("%w: done: unknown code %d", parley.ErrMalformed, m.Code)
}

// printable is a peer's reason as we may show it: valid UTF-8, one line,
// at most MaxReasonSize bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > MaxReasonSize {
		s = s[:MaxReasonSize]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	if s == "" {
		return "no reason given"
	}
	return s
}
