package identity

import (
	"regexp"
	"testing"
)

var (
	fingerprintRe  = regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){5}$`)
	safetyNumberRe = regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){11}$`)
)

func TestSafetyNumber(t *testing.T) {
	a, b, c := mustGenerate(t).PeerID, mustGenerate(t).PeerID, mustGenerate(t).PeerID

	ab, ba := SafetyNumber(a, b), SafetyNumber(b, a)
	if ab != ba {
		t.Fatalf("not symmetric: %q vs %q", ab, ba)
	}
	if !safetyNumberRe.MatchString(ab) {
		t.Errorf("safety number %q is not 12 groups of 5 digits", ab)
	}
	if ac := SafetyNumber(a, c); ac == ab {
		t.Error("different pairs share a safety number")
	}
	if SafetyNumber(a, b) != ab {
		t.Error("not deterministic")
	}
	fa, fb := Fingerprint(a), Fingerprint(b)
	if !fingerprintRe.MatchString(fa) {
		t.Errorf("fingerprint %q is not 6 groups of 5 digits", fa)
	}
	if fa == fb {
		t.Error("two identities share a fingerprint")
	}
	if ab != fa+" "+fb && ab != fb+" "+fa {
		t.Errorf("safety number %q is not the two fingerprints", ab)
	}
}

// TestFingerprintVector pins the derivation, so that a change to it (which
// would make every user's numbers disagree across versions) is deliberate.
// PROTOCOL.md quotes this vector.
func TestFingerprintVector(t *testing.T) {
	// Ed25519 seeds of 32 bytes 0x01 and 32 bytes 0x02.
	a, b := fixedIdentity(t, 1), fixedIdentity(t, 2)
	const (
		peerA  = "12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5"
		peerB  = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
		wantA  = "41827 97594 61670 05335 19761 39785"
		wantAB = "27793 42295 02096 65141 24511 17815 41827 97594 61670 05335 19761 39785"
	)
	if a.PeerID.String() != peerA || b.PeerID.String() != peerB {
		t.Fatalf("fixed identities are %s and %s", a.PeerID, b.PeerID)
	}
	if got := Fingerprint(a.PeerID); got != wantA {
		t.Errorf("Fingerprint(A) = %q, want %q", got, wantA)
	}
	if got := SafetyNumber(a.PeerID, b.PeerID); got != wantAB {
		t.Errorf("SafetyNumber(A, B) = %q, want %q", got, wantAB)
	}
}
