package identity

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/parley-im/parley"
)

// A link code round-trips with each kind of hint that fits, in every form
// a user may paste, and stays as short as a short invite: within
// MaxLinkCodeLen, QR alphanumeric once uppercased, a QR code of version 5
// at level M. An IPv6 hint does not fit, as for invites.
func TestLinkCodeRoundTrip(t *testing.T) {
	id := mustGenerate(t)
	for _, tt := range []struct {
		hint string
		len  int // characters; 0: the hint does not fit
	}{
		{"", 92},
		{"/ip4/203.0.113.77/tcp/65535", 105},
		{"/ip4/203.0.113.77/udp/65535/quic-v1", 110},
		{"/ip6/2001:db8::1/tcp/4001", 0},
	} {
		var hint ma.Multiaddr
		if tt.hint != "" {
			hint = mustAddr(t, tt.hint)
		}
		code, err := EncodeLinkCode(id.Key.GetPublic(), testSecret(), hint)
		if tt.len == 0 {
			if err == nil || !errors.Is(err, parley.ErrMalformed) || LinkCodeFits(hint) {
				t.Fatalf("hint %s: made %q (%v), fits %v; want it refused", tt.hint, code, err, LinkCodeFits(hint))
			}
			continue
		}
		if err != nil || !LinkCodeFits(hint) {
			t.Fatalf("hint %q: %v, fits %v", tt.hint, err, LinkCodeFits(hint))
		}
		if len(code) != tt.len || len(code) > MaxLinkCodeLen {
			t.Fatalf("hint %q: %d characters, want %d (at most %d): %s", tt.hint, len(code), tt.len, MaxLinkCodeLen, code)
		}
		upper := strings.ToUpper(code)
		for _, r := range upper {
			if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", r) {
				t.Fatalf("code contains %q, not QR alphanumeric", r)
			}
		}
		q, err := qrcode.New(upper, qrcode.Medium)
		if err != nil || q.VersionNumber > 5 {
			t.Fatalf("hint %q: QR code version %v (%v), want at most 5", tt.hint, q, err)
		}
		for _, form := range []string{code, strings.ToLower(code), "parley://" + code[len(InvitePrefix):], " " + code[:40] + "\n" + code[40:] + " "} {
			lc, err := ParseLinkCode(form)
			if err != nil {
				t.Fatalf("%q: %v", form, err)
			}
			if lc.PeerID != id.PeerID || !bytes.Equal(lc.Secret, testSecret()) {
				t.Fatalf("%q: decoded %+v", form, lc)
			}
			if (lc.Hint == nil) != (hint == nil) || hint != nil && !lc.Hint.Equal(hint) {
				t.Fatalf("%q: hint %v, want %v", form, lc.Hint, hint)
			}
		}
	}
}

// Each refusal wraps ErrInvalidLinkCode and says what is wrong; an invite
// given as a link code says that it is an invite, and where it goes.
func TestLinkCodeErrors(t *testing.T) {
	id := mustGenerate(t)
	key, err := id.Key.GetPublic().Raw()
	if err != nil {
		t.Fatal(err)
	}
	good := append(bytes.Clone(key), testSecret()...)
	code, err := EncodeLinkCode(id.Key.GetPublic(), testSecret(), nil)
	if err != nil {
		t.Fatal(err)
	}
	short, err := EncodeShortInvite(id.Key.GetPublic(), testSecret(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, code, reason string
	}{
		{"empty", "", "not a Parley link code"},
		{"bad character", code[:20] + "1" + code[21:], "character '1' is not part of a link code"},
		{"bad checksum", code[:20] + otherBase32(code[20]) + code[21:], "checksum mismatch"},
		{"cut short", code[:len(code)-8], "checksum mismatch"},
		{"wrong version", rawInvite(4, good), "version 4"},
		{"short payload", rawInvite(linkCodeVersion, good[:40]), "link code is too short"},
		{"no secret", rawInvite(linkCodeVersion, key), "link code is too short"},
		{"bad hint", rawInvite(linkCodeVersion, append(bytes.Clone(good), 0xff, 0xff)), "not a valid multiaddr"},
		{"hint with peer", rawInvite(linkCodeVersion, append(bytes.Clone(good), mustAddr(t, "/ip4/1.2.3.4/tcp/1/p2p/"+id.PeerID.String()).Bytes()...)), "names a peer"},
		{"hint too long", rawInvite(linkCodeVersion, append(bytes.Clone(good), make([]byte, maxHintSize+1)...)), "link code is too long"},
		{"short invite", short, `this is an invite code, for adding a contact: add it with "parley contact add"`},
		{"long invite", EncodeInvite(mustSignCard(t, id, "olivia")), `this is an invite code, for adding a contact: add it with "parley contact add"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc, err := ParseLinkCode(tt.code)
			if !errors.Is(err, parley.ErrInvalidLinkCode) || errors.Is(err, parley.ErrInvalidInvite) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("ParseLinkCode = %+v, %v; want ErrInvalidLinkCode saying %q", lc, err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "invalid link code: ") {
				t.Errorf("error %q does not begin by naming a link code", err)
			}
		})
	}

	other, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeLinkCode(other.GetPublic(), testSecret(), nil); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("a secp256k1 key: %v", err)
	}
	if _, err := EncodeLinkCode(id.Key.GetPublic(), testSecret()[:5], nil); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("a 5-byte secret: %v", err)
	}
}

// An invite reader given a link code says that it is one, and where it
// goes, for both the long-invite reader and the one that reads both kinds.
func TestInviteRefusesLinkCode(t *testing.T) {
	id := mustGenerate(t)
	code, err := EncodeLinkCode(id.Key.GetPublic(), testSecret(), mustAddr(t, "/ip4/192.0.2.7/udp/4001/quic-v1"))
	if err != nil {
		t.Fatal(err)
	}
	const want = `invalid invite code: this is a link code, for linking a new device of your own: enter it with "parley devices accept" on your existing device`
	if inv, err := ParseInvite(code); !errors.Is(err, parley.ErrInvalidInvite) || err.Error() != want {
		t.Errorf("ParseInvite(link code) = %+v, %v", inv, err)
	}
	if _, _, err := DecodeInvite(strings.ToLower(code)); !errors.Is(err, parley.ErrInvalidInvite) || err.Error() != want {
		t.Errorf("DecodeInvite(link code) = %v", err)
	}
}

var linkSafetyRe = regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){3}$`)

// TestLinkSafetyCodeVector pins the derivation: the two devices of a link
// may run different versions, and must show the same code. PROTOCOL.md
// §11.5 quotes this vector.
func TestLinkSafetyCodeVector(t *testing.T) {
	// Ed25519 seeds of 32 bytes 0x01 (existing) and 0x02 (new device), the
	// secret 16 bytes 0xA5; checked against the formula in PROTOCOL.md with
	// another SHA-256 implementation.
	existing, newDevice := fixedIdentity(t, 1).PeerID, fixedIdentity(t, 2).PeerID
	if len(existing) != 38 || len(newDevice) != 38 {
		t.Fatalf("Ed25519 peer IDs of %d and %d bytes, PROTOCOL.md says 38", len(existing), len(newDevice))
	}
	const want = "79417 77906 30776 38429"
	if got := LinkSafetyCode(existing, newDevice, testSecret()); got != want {
		t.Errorf("LinkSafetyCode = %q, want %q", got, want)
	}
}

// The code is 20 digits, and any change of either device or of the
// secret, or the roles swapped, gives another.
func TestLinkSafetyCodeChanges(t *testing.T) {
	existing, newDevice := fixedIdentity(t, 1).PeerID, fixedIdentity(t, 2).PeerID
	code := LinkSafetyCode(existing, newDevice, testSecret())
	if !linkSafetyRe.MatchString(code) {
		t.Fatalf("safety code %q is not four groups of five digits", code)
	}
	if again := LinkSafetyCode(existing, newDevice, bytes.Clone(testSecret())); again != code {
		t.Fatalf("not deterministic: %q, then %q", code, again)
	}
	other := mustGenerate(t).PeerID
	differs := map[string]string{
		"roles swapped":         LinkSafetyCode(newDevice, existing, testSecret()),
		"other existing device": LinkSafetyCode(other, newDevice, testSecret()),
		"other new device":      LinkSafetyCode(existing, other, testSecret()),
		"secret cut":            LinkSafetyCode(existing, newDevice, testSecret()[:LinkSecretSize-1]),
		"no secret":             LinkSafetyCode(existing, newDevice, nil),
	}
	for i := range LinkSecretSize * 8 {
		secret := testSecret()
		secret[i/8] ^= 1 << (i % 8)
		differs[fmt.Sprintf("secret bit %d", i)] = LinkSafetyCode(existing, newDevice, secret)
	}
	for i := range len(existing) {
		id := []byte(existing)
		id[i] ^= 0x40
		differs[fmt.Sprintf("existing byte %d", i)] = LinkSafetyCode(peer.ID(id), newDevice, testSecret())
		id = []byte(newDevice)
		id[i] ^= 0x40
		differs[fmt.Sprintf("new device byte %d", i)] = LinkSafetyCode(existing, peer.ID(id), testSecret())
	}
	// Length prefixes: moving bytes from one ID to the other changes it.
	both := string(existing) + string(newDevice)
	differs["boundary moved"] = LinkSafetyCode(peer.ID(both[:37]), peer.ID(both[37:]), testSecret())
	for change, got := range differs {
		if got == code || !linkSafetyRe.MatchString(got) {
			t.Errorf("%s: safety code %q (unchanged %q)", change, got, code)
		}
	}
}

// A pending link shows a code of the device's key and its own secret, and
// takes that secret once, before it expires; a wrong secret neither links
// nor uses the code up.
func TestPendingLink(t *testing.T) {
	id := mustGenerate(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	hint := mustAddr(t, "/ip4/192.0.2.7/udp/4001/quic-v1")
	p, err := NewPendingLink(id.Key.GetPublic(), hint, now)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := ParseLinkCode(p.Code)
	if err != nil {
		t.Fatal(err)
	}
	if lc.PeerID != id.PeerID || !bytes.Equal(lc.Secret, p.Secret) || len(p.Secret) != LinkSecretSize || !lc.Hint.Equal(hint) {
		t.Fatalf("code %s parses to %+v; pending %+v", p.Code, lc, p)
	}
	if !p.Expires.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("expires %v, want 10 minutes after %v", p.Expires, now)
	}
	if q, err := NewPendingLink(id.Key.GetPublic(), hint, now); err != nil || bytes.Equal(q.Secret, p.Secret) || q.Code == p.Code {
		t.Fatalf("a second pending link has the same secret or code: %v", err)
	}

	wrong := bytes.Clone(p.Secret)
	wrong[LinkSecretSize-1] ^= 1
	for name, secret := range map[string][]byte{"one bit off": wrong, "cut": p.Secret[:LinkSecretSize-1], "longer": append(bytes.Clone(p.Secret), 0), "none": nil} {
		if err := p.Check(secret, now); !errors.Is(err, ErrWrongLinkSecret) {
			t.Errorf("%s: Check = %v, want ErrWrongLinkSecret", name, err)
		}
	}
	if err := p.Check(p.Secret, p.Expires); !errors.Is(err, ErrLinkCodeExpired) {
		t.Errorf("at expiry: Check = %v, want ErrLinkCodeExpired", err)
	}
	if err := p.Check(wrong, p.Expires.Add(time.Hour)); !errors.Is(err, ErrLinkCodeExpired) {
		t.Errorf("wrong and expired: Check = %v, want ErrLinkCodeExpired", err)
	}
	if err := p.Check(p.Secret, p.Expires.Add(-time.Nanosecond)); err != nil {
		t.Fatalf("right secret just before expiry: %v", err)
	}
	if err := p.Check(p.Secret, now); !errors.Is(err, ErrLinkCodeUsed) {
		t.Errorf("second link: Check = %v, want ErrLinkCodeUsed", err)
	}

	if _, err := NewPendingLink(id.Key.GetPublic(), mustAddr(t, "/ip6/2001:db8::1/tcp/4001"), now); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("an IPv6 hint: %v", err)
	}
}

// Dialers that send the right secret at once link one of them, no more.
func TestPendingLinkOneLinkOnly(t *testing.T) {
	now := time.Now()
	p, err := NewPendingLink(mustGenerate(t).Key.GetPublic(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	const dialers = 8
	errs := make(chan error, dialers)
	var wg sync.WaitGroup
	for range dialers {
		wg.Go(func() { errs <- p.Check(bytes.Clone(p.Secret), now) })
	}
	wg.Wait()
	close(errs)
	linked := 0
	for err := range errs {
		switch {
		case err == nil:
			linked++
		case !errors.Is(err, ErrLinkCodeUsed):
			t.Errorf("Check = %v, want nil or ErrLinkCodeUsed", err)
		}
	}
	if linked != 1 {
		t.Fatalf("%d dialers linked, want 1", linked)
	}
}

func TestSecretEqual(t *testing.T) {
	s := testSecret()
	for _, tt := range []struct {
		name       string
		want, got  []byte
		wantResult bool
	}{
		{"equal", s, bytes.Clone(s), true},
		{"last bit", s, append(bytes.Clone(s[:len(s)-1]), s[len(s)-1]^1), false},
		{"prefix", s, s[:len(s)-1], false},
		{"longer", s, append(bytes.Clone(s), 0), false},
		{"nil got", s, nil, false},
		{"both empty", nil, []byte{}, false},
		{"empty want", []byte{}, s, false},
	} {
		if got := SecretEqual(tt.want, tt.got); got != tt.wantResult {
			t.Errorf("%s: SecretEqual = %v", tt.name, got)
		}
	}
}
