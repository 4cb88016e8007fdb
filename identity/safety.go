package identity

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Safety numbers follow Signal's design, shortened: each identity has a
// fingerprint of 30 decimal digits (six groups of five, about 100 bits), and
// the safety number of two identities is both fingerprints, sorted, so the
// two users see the same 60 digits and can compare them in person or on a
// call. Matching numbers mean no one has swapped a key between them.
const (
	fingerprintContext    = "parley/fingerprint/v1\x00"
	fingerprintIterations = 5200 // as Signal: makes grinding a look-alike key costlier
	fingerprintGroups     = 6
)

// Fingerprint is the identity's half of a safety number: 30 digits in six
// groups of five, e.g. "01234 56789 01234 56789 01234 56789".
//
// It hashes the binary peer ID, which for an Ed25519 identity embeds the
// public key itself: h0 = SHA-256(context || id), h(i+1) = SHA-256(h(i) || id),
// 5200 rounds. Each group is 5 bytes of the result read as a big-endian
// integer, modulo 100000.
func Fingerprint(p peer.ID) string {
	h := sha256.Sum256(append([]byte(fingerprintContext), p...))
	buf := make([]byte, 0, sha256.Size+len(p))
	for range fingerprintIterations {
		buf = append(append(buf[:0], h[:]...), p...)
		h = sha256.Sum256(buf)
	}
	return digitGroups(h[:], fingerprintGroups)
}

// digitGroups shows a hash as n groups of five digits, separated by
// spaces: group i is bytes [5i, 5i+5) of h as a big-endian integer modulo
// 100000 (40 bits taken down to about 16.6, so the bias is negligible).
func digitGroups(h []byte, n int) string {
	groups := make([]string, n)
	for i := range groups {
		var b [8]byte
		copy(b[3:], h[i*5:i*5+5])
		groups[i] = fmt.Sprintf("%05d", binary.BigEndian.Uint64(b[:])%100000)
	}
	return strings.Join(groups, " ")
}

// SafetyNumber is the number two users compare to check they hold each
// other's true keys: both fingerprints, sorted, joined by a space (12 groups
// of five digits). SafetyNumber(a, b) == SafetyNumber(b, a).
func SafetyNumber(a, b peer.ID) string {
	fa, fb := Fingerprint(a), Fingerprint(b)
	if fa > fb {
		fa, fb = fb, fa
	}
	return fa + " " + fb
}
