package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/parley-im/parley"
)

// InvitePrefix starts every invite code.
const InvitePrefix = "parley:"

const (
	inviteVersion = 1
	inviteSumSize = 4 // bytes of checksum
)

// inviteEncoding is the invite's base32 (see EncodeInvite). It is strict about the
// unused low bits of the last character (see DecodeInvite), so every byte
// string has exactly one code.
var inviteEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// maxInviteLen bounds the input before any decoding work.
var maxInviteLen = len(InvitePrefix) + inviteEncoding.EncodedLen(1+MaxCardSize+inviteSumSize)

// EncodeInvite turns a signed card (from SignCard) into an invite code. The
// format, version 1:
//
//	"parley:" || BASE32(0x01 || signed card || checksum)
//
// where BASE32 is RFC 4648 base32 (alphabet A-Z 2-7), uppercase, without
// padding, and checksum is the first 4 bytes of SHA-256 over the bytes
// before it (version byte and signed card). The signed card is an encoded
// SignedCard (identity/pb/card.proto), at most MaxCardSize bytes.
//
// Decoding ignores case and whitespace anywhere, so a code wrapped across
// lines or retyped in lowercase still works. Uppercased as a whole
// ("PARLEY:..."), a code uses only QR alphanumeric characters, the QR mode
// that packs the most characters per module: render strings.ToUpper(code).
func EncodeInvite(signedCard []byte) string {
	return encodeInviteBody(inviteVersion, signedCard)
}

// DecodeInvite reads a long invite code (EncodeInvite) and verifies the
// card in it, returning the card and its signed bytes (to store or to pass
// on). A short code (EncodeShortInvite) carries no card: it is refused with
// a reason that says so; ParseInvite reads both. A link code
// (EncodeLinkCode) is refused with a reason that says what it is. Every
// failure wraps parley.ErrInvalidInvite and says in plain words what is
// wrong; a bad card also wraps parley.ErrMalformed or parley.ErrBadSignature.
func DecodeInvite(code string) (Card, []byte, error) {
	body, err := decodeInviteBody(code, inviteKind)
	if err != nil {
		return Card{}, nil, err
	}
	switch body[0] {
	case inviteVersion:
		return decodeLongInvite(body[1:])
	case shortInviteVersion:
		return Card{}, nil, inviteError("this is a short invite: it carries no contact card, which is fetched from its owner")
	case linkCodeVersion:
		return Card{}, nil, inviteError(linkCodeNotInvite)
	}
	return Card{}, nil, inviteError(fmt.Sprintf("invite version %d is not supported by this version of Parley", body[0]))
}

// decodeLongInvite reads what follows a long code's version byte.
func decodeLongInvite(payload []byte) (Card, []byte, error) {
	signed := bytes.Clone(payload)
	card, err := ParseCard(signed)
	if err != nil {
		return Card{}, nil, fmt.Errorf("%w: the contact card in it is not valid: %w", parley.ErrInvalidInvite, err)
	}
	return card, signed, nil
}

// inviteLinkPrefixes are the other ways a code may begin, uppercased: link
// forms that a browser, a QR scanner or another app may have built from
// the code, which are taken as the code itself.
var inviteLinkPrefixes = []string{"PARLEY://INVITE/", "PARLEY://", "WEB+PARLEY:"}

// codeKind is what a "parley:" code is taken as, for the errors that
// refuse one: invites and link codes share a format (PROTOCOL.md §3, §11.5).
type codeKind struct {
	noun    string // "invite", "link code"
	aNoun   string // with its article: "an invite", "a link code"
	invalid error  // the sentinel every refusal wraps
}

var (
	inviteKind   = codeKind{"invite", "an invite", parley.ErrInvalidInvite}
	linkCodeKind = codeKind{"link code", "a link code", parley.ErrInvalidLinkCode}
)

func (k codeKind) refuse(reason string) error {
	return fmt.Errorf("%w: %s", k.invalid, reason)
}

// decodeInviteBody checks a code's prefix, base32 and checksum, and
// returns the bytes the checksum covers: the version byte and the payload
// (at least the version byte). Its errors speak of the code as kind.
func decodeInviteBody(code string, kind codeKind) ([]byte, error) {
	code = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case 'a' <= r && r <= 'z':
			// ASCII only: unicode.ToUpper would also accept look-alikes
			// such as the dotless ı for I.
			return r - 'a' + 'A'
		}
		return r
	}, code)
	if len(code) > maxInviteLen {
		return nil, kind.refuse("the code is too long to be " + kind.aNoun)
	}
	for _, link := range inviteLinkPrefixes {
		if rest, ok := strings.CutPrefix(code, link); ok {
			code = strings.ToUpper(InvitePrefix) + rest
			break
		}
	}
	payload, ok := strings.CutPrefix(code, strings.ToUpper(InvitePrefix))
	if !ok {
		return nil, kind.refuse(fmt.Sprintf(`not a Parley %s: it should start with "parley:"`, kind.noun))
	}
	raw, err := inviteEncoding.DecodeString(payload)
	if err != nil {
		var corrupt base32.CorruptInputError
		if errors.As(err, &corrupt) && int(corrupt) < len(payload) && !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", rune(payload[corrupt])) {
			return nil, kind.refuse(fmt.Sprintf("character %q is not part of %s", payload[corrupt], kind.aNoun))
		}
		return nil, kind.refuse("the code was cut short or changed")
	}
	// base32 ignores the unused bits of the last character; refuse codes
	// where they are set, or two codes would carry the same invite.
	if inviteEncoding.EncodeToString(raw) != payload {
		return nil, kind.refuse("checksum mismatch: the code was changed or cut short")
	}
	if len(raw) < 1+inviteSumSize {
		return nil, kind.refuse("the code is too short: it was cut off")
	}
	body, sum := raw[:len(raw)-inviteSumSize], raw[len(raw)-inviteSumSize:]
	want := sha256.Sum256(body)
	if !bytes.Equal(sum, want[:inviteSumSize]) {
		return nil, kind.refuse("checksum mismatch: the code was changed or cut short")
	}
	return body, nil
}

// encodeInviteBody is the code of a version byte and payload.
func encodeInviteBody(version byte, payload []byte) string {
	raw := make([]byte, 0, 1+len(payload)+inviteSumSize)
	raw = append(raw, version)
	raw = append(raw, payload...)
	sum := sha256.Sum256(raw)
	raw = append(raw, sum[:inviteSumSize]...)
	return InvitePrefix + inviteEncoding.EncodeToString(raw)
}

func inviteError(reason string) error { return inviteKind.refuse(reason) }
