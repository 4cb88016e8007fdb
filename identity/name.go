package identity

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"

	"github.com/parley-im/parley"
)

// CheckName tells whether a display name may go on a card, a contact or a
// group: at most MaxCardName bytes of UTF-8, with nothing in it that cannot
// be seen. It refuses control characters (which forge line breaks), format
// characters (Unicode category Cf: zero-width spaces and joiners, bidi marks,
// embeddings, overrides and isolates, the byte order mark, tags, which make
// "ali\u200bce" pass for "alice" or reorder the text around the name), line
// and paragraph separators, and the other default-ignorable code points that
// render as nothing (Hangul fillers, the combining grapheme joiner). One
// exception keeps emoji sequences: a zero-width joiner between two symbols
// (👩‍💻). The empty name passes: callers that need a name say so. Errors
// wrap parley.ErrMalformed.
func CheckName(name string) error {
	if len(name) > MaxCardName {
		return fmt.Errorf("%w: name is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(name), MaxCardName)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: name is not UTF-8", parley.ErrMalformed)
	}
	for i, r := range name {
		if r == zeroWidthJoiner && joinsEmoji(name, i) {
			continue
		}
		if invisible(r) {
			return fmt.Errorf("%w: name contains the invisible or control character %U", parley.ErrMalformed, r)
		}
	}
	return nil
}

const zeroWidthJoiner = '\u200d'

// invisible tells whether r is a control character or one that renders as
// nothing (see CheckName).
func invisible(r rune) bool {
	return unicode.IsControl(r) ||
		unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Bidi_Control, unicode.Other_Default_Ignorable_Code_Point)
}

// joinsEmoji tells whether the zero-width joiner at name[i] stands between
// two symbols, as in an emoji ZWJ sequence; a variation selector or skin
// tone modifier may follow the symbol before it.
func joinsEmoji(name string, i int) bool {
	before := strings.TrimRightFunc(name[:i], func(r rune) bool {
		return r == '\ufe0f' || ('\U0001f3fb' <= r && r <= '\U0001f3ff')
	})
	prev, _ := utf8.DecodeLastRuneInString(before)
	next, _ := utf8.DecodeRuneInString(name[i+utf8.RuneLen(zeroWidthJoiner):])
	symbol := func(r rune) bool { return r != utf8.RuneError && unicode.Is(unicode.So, r) }
	return symbol(prev) && symbol(next)
}

// cardName is the name to show for a card's peer: its own name if CheckName
// accepts it, else the peer ID's short form (as the GUI shows a peer without
// a name). A card is signed by its peer, and its name is only a label: an
// unfit name is replaced rather than the card refused, so that a contact
// whose older client let them pick such a name can still reach us.
func cardName(p peer.ID, name string) string {
	if CheckName(name) == nil {
		return name
	}
	return ShortPeerID(p)
}

// ShortPeerID is the distinctive end of a peer ID, to show in place of a
// name: "…" and its last 8 characters, as the GUI's shortID.
func ShortPeerID(p peer.ID) string {
	s := p.String()
	if len(s) <= 14 {
		return s
	}
	return "…" + s[len(s)-8:]
}

// NamesLookAlike tells whether two display names would pass for each other:
// the same after case folding, width mapping and NFKC normalization (the
// PRECIS Nickname comparison of RFC 8266) with spaces trimmed and collapsed,
// then mapped to their Unicode confusable skeletons (UTS #39), which catches
// look-alikes across scripts (Latin "a" and Cyrillic "а", "m" and "rn").
// Empty names look like nothing.
func NamesLookAlike(a, b string) bool {
	ka, kb := nameSkeleton(a), nameSkeleton(b)
	return ka != "" && ka == kb
}

// nameSkeleton is the form of a name that NamesLookAlike compares.
func nameSkeleton(name string) string {
	k, err := precis.Nickname.CompareKey(name)
	if err != nil {
		// Names PRECIS refuses (unassigned code points, say) are still
		// compared, as well as the standard library allows.
		k = strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(name))), " ")
	}
	if k == "" {
		return ""
	}
	return confusables.Skeleton(k)
}

// TypedName is the form of a display name that a person typing it is
// matched against: case folded, accents and emoji dropped, spaces trimmed
// and collapsed, so "erin" finds "Erin ✨" and "zoe" finds "Zoë". It is
// for finding contacts, never for telling them apart (NamesLookAlike).
func TypedName(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.So, unicode.Sk, unicode.Cf, unicode.Co, unicode.Cs):
			// Accents, emoji and their modifiers, joiners: not typed.
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(cases.Fold().String(b.String())), " ")
}
