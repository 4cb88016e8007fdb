package identity

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func TestInviteRoundTrip(t *testing.T) {
	id := mustGenerate(t)
	signed := mustSignCard(t, id, "dave")
	code := EncodeInvite(signed)
	if !strings.HasPrefix(code, "parley:") {
		t.Fatalf("code %q lacks the prefix", code)
	}
	card, gotSigned, err := DecodeInvite(code)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotSigned, signed) {
		t.Error("DecodeInvite returned other signed bytes")
	}
	if !cardsEqual(card, testCard(t, id, "dave")) {
		t.Errorf("card = %+v", card)
	}
	// Uppercased, the code is QR alphanumeric, the densest QR text mode.
	for _, r := range strings.ToUpper(code) {
		if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", r) {
			t.Fatalf("code contains %q, not QR alphanumeric", r)
		}
	}
	t.Logf("invite code: %d characters", len(code))
}

func TestInviteLenient(t *testing.T) {
	id := mustGenerate(t)
	code := EncodeInvite(mustSignCard(t, id, "eve"))
	variants := map[string]string{
		"lowercase":        strings.ToLower(code),
		"uppercase":        strings.ToUpper(code),
		"surrounding":      "  \n\t" + code + "\r\n ",
		"wrapped":          code[:30] + "\n" + code[30:60] + "\n  " + code[60:],
		"lowercase padded": " " + strings.ToLower(code) + "\n",
	}
	for name, v := range variants {
		card, _, err := DecodeInvite(v)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if card.PeerID != id.PeerID {
			t.Errorf("%s: peer %s", name, card.PeerID)
		}
	}
}

func TestInviteEveryTruncationRefused(t *testing.T) {
	code := EncodeInvite(mustSignCard(t, mustGenerate(t), "frank"))
	for i := range len(code) {
		if _, _, err := DecodeInvite(code[:i]); !errors.Is(err, parley.ErrInvalidInvite) {
			t.Fatalf("prefix of %d characters: %v, want ErrInvalidInvite", i, err)
		}
	}
}

func TestInviteEveryChangedCharacterRefused(t *testing.T) {
	code := EncodeInvite(mustSignCard(t, mustGenerate(t), "grace"))
	for i := range len(code) {
		b := []byte(code)
		if i < len(InvitePrefix) {
			b[i] = '#'
		} else {
			// Another base32 character, so the change survives decoding.
			b[i] = otherBase32(b[i])[0]
		}
		if _, _, err := DecodeInvite(string(b)); !errors.Is(err, parley.ErrInvalidInvite) {
			t.Fatalf("character %d changed to %q: %v, want ErrInvalidInvite", i, b[i], err)
		}
	}
}

// otherBase32 is a base32 character other than c.
func otherBase32(c byte) string {
	i := strings.IndexByte(base32Alphabet, c)
	return base32Alphabet[(i+7)%32 : (i+7)%32+1]
}

// rawInvite builds a code from any version and payload, with a valid checksum.
func rawInvite(version byte, payload []byte) string {
	raw := append([]byte{version}, payload...)
	sum := sha256.Sum256(raw)
	return InvitePrefix + inviteEncoding.EncodeToString(append(raw, sum[:4]...))
}

func TestInviteErrors(t *testing.T) {
	id := mustGenerate(t)
	signed := mustSignCard(t, id, "heidi")
	code := EncodeInvite(signed)
	payload := code[len(InvitePrefix):]

	var sc pb.SignedCard
	if err := proto.Unmarshal(signed, &sc); err != nil {
		t.Fatal(err)
	}
	sc.Signature[0] ^= 1
	badSig := mustMarshal(t, &sc)

	tests := []struct {
		name, code, reason string
		also               error
	}{
		{"empty", "", "should start with", nil},
		{"other prefix", "parlay:" + payload, "should start with", nil},
		{"no prefix", payload, "should start with", nil},
		{"bad character", InvitePrefix + "0" + payload[1:], `character '0'`, nil},
		{"cut short", code[:len(code)-9], "cut short", nil},
		{"changed", InvitePrefix + payload[:5] + otherBase32(payload[5]) + payload[6:], "checksum mismatch", nil},
		{"too long", code + strings.Repeat("A", maxInviteLen), "too long", nil},
		{"version 4", rawInvite(4, signed), "version 4", nil},
		{"bad signature", rawInvite(1, badSig), "not valid", parley.ErrBadSignature},
		{"not a card", rawInvite(1, []byte("hello")), "not valid", parley.ErrMalformed},
		{"only prefix", InvitePrefix, "too short", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeInvite(tt.code)
			if !errors.Is(err, parley.ErrInvalidInvite) {
				t.Fatalf("DecodeInvite = %v, want ErrInvalidInvite", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %q does not wrap %v", err, tt.also)
			}
		})
	}
}

// The last character's unused bits must be zero: otherwise two different
// codes would carry the same invite.
func TestInviteNonCanonicalTail(t *testing.T) {
	signed := mustSignCard(t, mustGenerate(t), "ivan")
	tested := 0
	for n := range 5 {
		code := EncodeInvite(append(bytes.Clone(signed), make([]byte, n)...))
		payload := len(code) - len(InvitePrefix)
		if payload*5 == inviteEncoding.DecodedLen(payload)*8 {
			continue // no spare bits at this length
		}
		// Bit 0 of the last character is always a spare bit here.
		last := strings.IndexByte(base32Alphabet, code[len(code)-1])
		alt := code[:len(code)-1] + string(base32Alphabet[last^1])
		if _, _, err := DecodeInvite(alt); !errors.Is(err, parley.ErrInvalidInvite) {
			t.Errorf("non-canonical tail accepted: %v", err)
		}
		tested++
	}
	if tested == 0 {
		t.Fatal("no length with spare bits was tried")
	}
}
