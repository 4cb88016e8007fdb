package identity

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
)

func testSecret() []byte { return bytes.Repeat([]byte{0xA5}, InviteSecretSize) }

// A short code stays within MaxShortInviteLen with a real key and each
// kind of hint that fits, round-trips, and is QR alphanumeric once
// uppercased.
func TestShortInviteLengthAndRoundTrip(t *testing.T) {
	id := mustGenerate(t)
	for _, hint := range []string{"", "/ip4/203.0.113.77/tcp/65535", "/ip4/203.0.113.77/udp/65535/quic-v1", "/ip6/2001:db8::1/tcp/4001"} {
		var a ma.Multiaddr
		if hint != "" {
			a = mustAddr(t, hint)
		}
		code, err := EncodeShortInvite(id.Key.GetPublic(), testSecret(), a)
		if !ShortInviteFits(a) {
			// An IPv6 address makes the code too long: the encoder says so,
			// and the node then leaves the hint out.
			if err == nil {
				t.Fatalf("hint %s: ShortInviteFits says no, the encoder made %q", hint, code)
			}
			t.Logf("hint %s does not fit: %v", hint, err)
			continue
		}
		if err != nil {
			t.Fatalf("hint %q: %v", hint, err)
		}
		t.Logf("hint %q: %d characters: %s", hint, len(code), code)
		if len(code) > MaxShortInviteLen {
			t.Fatalf("hint %q: %d characters, over %d", hint, len(code), MaxShortInviteLen)
		}
		for _, r := range strings.ToUpper(code) {
			if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", r) {
				t.Fatalf("code contains %q, not QR alphanumeric", r)
			}
		}
		for _, form := range []string{code, strings.ToLower(code), "parley://invite/" + code[len(InvitePrefix):], " PARLEY://" + strings.ToUpper(code[len(InvitePrefix):]) + "\n"} {
			inv, err := ParseInvite(form)
			if err != nil {
				t.Fatalf("%q: %v", form, err)
			}
			if !inv.Short() || inv.PeerID != id.PeerID || !bytes.Equal(inv.Secret, testSecret()) {
				t.Fatalf("%q: decoded %+v", form, inv)
			}
			if (inv.Hint == nil) != (a == nil) || a != nil && !inv.Hint.Equal(a) {
				t.Fatalf("%q: hint %v, want %v", form, inv.Hint, a)
			}
		}
	}
	if ShortInviteFits(mustAddr(t, "/ip4/203.0.113.77/udp/65535/quic-v1")) == false {
		t.Error("an IPv4 QUIC hint should fit")
	}
}

// A long code still reads, by ParseInvite as by DecodeInvite; DecodeInvite
// says plainly that a short code carries no card.
func TestParseInviteLongAndShort(t *testing.T) {
	id := mustGenerate(t)
	signed := mustSignCard(t, id, "judy")
	inv, err := ParseInvite(EncodeInvite(signed))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Short() || inv.PeerID != id.PeerID || !bytes.Equal(inv.Signed, signed) || inv.Card.Name != "judy" {
		t.Fatalf("long code parsed as %+v", inv)
	}
	short, err := EncodeShortInvite(id.Key.GetPublic(), testSecret(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeInvite(short); !errors.Is(err, parley.ErrInvalidInvite) || !strings.Contains(err.Error(), "short invite") {
		t.Fatalf("DecodeInvite(short) = %v", err)
	}
}

func TestShortInviteErrors(t *testing.T) {
	id := mustGenerate(t)
	key, _ := id.Key.GetPublic().Raw()
	good := append(bytes.Clone(key), testSecret()...)
	tests := []struct {
		name, code, reason string
	}{
		{"cut off", rawInvite(2, good[:40]), "too short"},
		{"bad hint", rawInvite(2, append(bytes.Clone(good), 0xff, 0xff)), "not a valid multiaddr"},
		{"hint with peer", rawInvite(2, append(bytes.Clone(good), mustAddr(t, "/ip4/1.2.3.4/tcp/1/p2p/"+id.PeerID.String()).Bytes()...)), "names a peer"},
		{"hint too long", rawInvite(2, append(bytes.Clone(good), make([]byte, maxHintSize+1)...)), "too long"},
		{"changed", func() string {
			c, _ := EncodeShortInvite(id.Key.GetPublic(), testSecret(), nil)
			return c[:20] + otherBase32(c[20]) + c[21:]
		}(), "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInvite(tt.code)
			if !errors.Is(err, parley.ErrInvalidInvite) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("ParseInvite = %v, want ErrInvalidInvite saying %q", err, tt.reason)
			}
		})
	}
	if _, err := EncodeShortInvite(id.Key.GetPublic(), []byte("short"), nil); err == nil {
		t.Error("a 5-byte secret was taken")
	}
}

// A fetched card must be the invite's peer's.
func TestCheckFetchedCard(t *testing.T) {
	alice, mallory := mustGenerate(t), mustGenerate(t)
	code, err := EncodeShortInvite(alice.Key.GetPublic(), testSecret(), nil)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ParseInvite(code)
	if err != nil {
		t.Fatal(err)
	}
	if card, err := CheckFetchedCard(inv, mustSignCard(t, alice, "alice")); err != nil || card.Name != "alice" {
		t.Fatalf("alice's card: %+v, %v", card, err)
	}
	if _, err := CheckFetchedCard(inv, mustSignCard(t, mallory, "alice")); !errors.Is(err, parley.ErrInvalidInvite) {
		t.Fatalf("mallory's card: %v", err)
	}
	if _, err := CheckFetchedCard(inv, []byte("junk")); !errors.Is(err, parley.ErrInvalidInvite) {
		t.Fatalf("junk: %v", err)
	}
}

func FuzzParseInvite(f *testing.F) {
	addSeeds(f, "FuzzParseInvite")
	f.Add("")
	f.Add("parley://")
	f.Fuzz(func(t *testing.T, code string) {
		inv, err := ParseInvite(code)
		if err != nil {
			if !errors.Is(err, parley.ErrInvalidInvite) {
				t.Fatalf("error %v does not wrap ErrInvalidInvite", err)
			}
			return
		}
		if !inv.Short() {
			if inv.Card.PeerID != inv.PeerID {
				t.Fatalf("long invite of %s holds %s's card", inv.PeerID, inv.Card.PeerID)
			}
			return
		}
		key, err := inv.PeerID.ExtractPublicKey()
		if err != nil {
			t.Fatal(err)
		}
		// Any hint the decoder took re-encodes (if it fits) to a code that
		// decodes the same.
		if !ShortInviteFits(inv.Hint) {
			return
		}
		again, err := EncodeShortInvite(key, inv.Secret, inv.Hint)
		if err != nil {
			t.Fatal(err)
		}
		inv2, err := ParseInvite(again)
		if err != nil || inv2.PeerID != inv.PeerID || !bytes.Equal(inv2.Secret, inv.Secret) || (inv2.Hint == nil) != (inv.Hint == nil) {
			t.Fatalf("re-encoded %q decodes to %+v, %v", again, inv2, err)
		}
	})
}
