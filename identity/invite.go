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
	raw := make([]byte, 0, 1+len(signedCard)+inviteSumSize)
	raw = append(raw, inviteVersion)
	raw = append(raw, signedCard...)
	sum := sha256.Sum256(raw)
	raw = append(raw, sum[:inviteSumSize]...)
	return InvitePrefix + inviteEncoding.EncodeToString(raw)
}

// DecodeInvite reads an invite code and verifies the card in it, returning
// the card and its signed bytes (to store or to pass on). Every failure
// wraps parley.ErrInvalidInvite and says in plain words what is wrong; a bad
// card also wraps parley.ErrMalformed or parley.ErrBadSignature.
func DecodeInvite(code string) (Card, []byte, error) {
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
		return Card{}, nil, inviteError("the code is too long to be an invite")
	}
	payload, ok := strings.CutPrefix(code, strings.ToUpper(InvitePrefix))
	if !ok {
		return Card{}, nil, inviteError(`not a Parley invite: it should start with "parley:"`)
	}
	raw, err := inviteEncoding.DecodeString(payload)
	if err != nil {
		var corrupt base32.CorruptInputError
		if errors.As(err, &corrupt) && int(corrupt) < len(payload) && !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", rune(payload[corrupt])) {
			return Card{}, nil, inviteError(fmt.Sprintf("character %q is not part of an invite code", payload[corrupt]))
		}
		return Card{}, nil, inviteError("the code was cut short or changed")
	}
	// base32 ignores the unused bits of the last character; refuse codes
	// where they are set, or two codes would carry the same invite.
	if inviteEncoding.EncodeToString(raw) != payload {
		return Card{}, nil, inviteError("checksum mismatch: the code was changed or cut short")
	}
	if len(raw) < 1+inviteSumSize {
		return Card{}, nil, inviteError("the code is too short: it was cut off")
	}
	body, sum := raw[:len(raw)-inviteSumSize], raw[len(raw)-inviteSumSize:]
	want := sha256.Sum256(body)
	if !bytes.Equal(sum, want[:inviteSumSize]) {
		return Card{}, nil, inviteError("checksum mismatch: the code was changed or cut short")
	}
	if body[0] != inviteVersion {
		return Card{}, nil, inviteError(fmt.Sprintf("invite version %d is not supported by this version of Parley", body[0]))
	}
	signed := bytes.Clone(body[1:])
	card, err := ParseCard(signed)
	if err != nil {
		return Card{}, nil, fmt.Errorf("%w: the contact card in it is not valid: %w", parley.ErrInvalidInvite, err)
	}
	return card, signed, nil
}

func inviteError(reason string) error {
	return fmt.Errorf("%w: %s", parley.ErrInvalidInvite, reason)
}
