// Package fulltext turns message text into the words a search index keys
// on, and a search query into the terms it looks for. The store indexes
// what Tokens returns (storage/search.go); the node checks each hit with
// Match against the message's latest text and shows it with Snippet.
//
// Words are runs of letters, digits and combining marks; anything else
// separates them. A word is normalised by compatibility decomposition
// (NFKD: "ﬁ" is "fi", full-width "Ａ" is "A"), with its combining marks
// dropped (so "é" matches "e", "ü" matches "u", Cyrillic "ё" matches "е"),
// recomposed (NFC) and case-folded (Unicode full folding: "Straße" matches
// "STRASSE"). So search is case- and accent-insensitive everywhere.
//
// Chinese, Japanese and Korean are written without spaces between words,
// so a run of Han, Hiragana, Katakana or Hangul characters is indexed as
// overlapping character bigrams ("東京都" as "東京", "京都"), plus its last
// character alone, so that any one character is found as a prefix; a
// query is cut the same way and all its bigrams must be present. Its
// characters are NFKC-normalised and folded but keep their marks (a
// Japanese voiced mark changes the word). This finds every substring of
// two or more characters, at the cost of some false hits (two bigrams of
// the query present in the message but not next to each other); Match
// removes those. Scripts written without spaces that are not CJK (Thai,
// Lao, Khmer, Burmese) are not segmented: a run of them is one word,
// found by its beginning only.
package fulltext

import (
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// MaxTokenBytes bounds an indexed word: a longer one is cut (at a rune
// boundary), so that index keys stay small whatever a peer writes. A
// query word is cut the same way, so it still matches.
const MaxTokenBytes = 64

// MaxQueryTerms and MaxQueryBytes bound a query.
const (
	MaxQueryTerms = 16
	MaxQueryBytes = 1024
)

// MinPrefixRunes is how long the last word of a query must be to match
// the words it begins: one or two letters stand for so many words (every
// word of a language, nearly) that they match whole words only. A CJK
// character is a prefix on its own.
const MinPrefixRunes = 3

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// Errors of ParseQuery.
var (
	ErrEmptyQuery = errors.New("nothing to search for: the query has no letters or digits")
	ErrLongQuery  = errors.New("the query is too long")
)

// Token is one normalised word of a text and where it lies in the text
// (byte offsets, End excluded).
type Token struct {
	Text       string
	Start, End int
}

// Tokens returns the words of s, in order, normalised. A word may appear
// more than once.
func Tokens(s string) []Token { return tokens(s, false) }

type class int

const (
	sep class = iota
	word
	cjk
)

func classOf(r rune) class {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return word
		}
		return sep
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
		return cjk
	case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
		return word
	}
	return sep
}

// tokens cuts s into words; query leaves out the lone last character of a
// CJK run of two or more (the bigram before it covers it).
func tokens(s string, query bool) []Token {
	var out []Token
	var n normalizer
	runStart, runClass := 0, sep
	var cjkStarts []int // byte offsets of the characters of the CJK run
	flush := func(end int) {
		switch runClass {
		case word:
			if t := n.word(s[runStart:end]); t != "" {
				out = append(out, Token{Text: t, Start: runStart, End: end})
			}
		case cjk:
			cjkStarts = append(cjkStarts, end)
			chars := len(cjkStarts) - 1
			for i := 0; i+1 < chars; i++ {
				a, b := cjkStarts[i], cjkStarts[i+2]
				if t := n.cjk(s[a:b]); t != "" {
					out = append(out, Token{Text: t, Start: a, End: b})
				}
			}
			if chars == 1 || !query {
				a := cjkStarts[chars-1]
				if t := n.cjk(s[a:end]); t != "" {
					out = append(out, Token{Text: t, Start: a, End: end})
				}
			}
			cjkStarts = cjkStarts[:0]
		}
	}
	for i, r := range s {
		c := classOf(r)
		if runClass == cjk && unicode.IsMark(r) {
			continue // a mark on a CJK character stays with it
		}
		if c != runClass {
			flush(i)
			runStart, runClass = i, c
		}
		if c == cjk {
			cjkStarts = append(cjkStarts, i)
		}
	}
	flush(len(s))
	return out
}

// normalizer holds what normalising needs; not safe for concurrent use.
type normalizer struct {
	fold  cases.Caser
	strip transform.Transformer
	ready bool
}

func (n *normalizer) init() {
	if !n.ready {
		n.fold = cases.Fold()
		n.strip = transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
		n.ready = true
	}
}

// word normalises a run of letters, digits and marks.
func (n *normalizer) word(w string) string {
	if ascii(w) {
		return cut(strings.ToLower(w))
	}
	n.init()
	s, _, err := transform.String(n.strip, w)
	if err != nil {
		s = w
	}
	return cut(n.fold.String(s))
}

// cjk normalises one or two CJK characters.
func (n *normalizer) cjk(w string) string {
	n.init()
	return cut(n.fold.String(norm.NFKC.String(w)))
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// cut shortens t to MaxTokenBytes at a rune boundary.
func cut(t string) string {
	if len(t) <= MaxTokenBytes {
		return t
	}
	i := MaxTokenBytes
	for i > 0 && !utf8.RuneStart(t[i]) {
		i--
	}
	return t[:i]
}

// Words returns the distinct normalised words of s, sorted: what the
// index holds for a text.
func Words(s string) []string {
	toks := Tokens(s)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		out = append(out, t.Text)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Query is a parsed search: every term must be a word of the message; the
// last one, when Prefix is set, need only begin a word (the user may still
// be typing it).
type Query struct {
	Terms  []string
	Prefix bool
}

// ParseQuery cuts a query as Tokens cuts a text. Its last word is a
// prefix unless the query ends with a separator (a space, a full stop) or
// it is shorter than MinPrefixRunes.
// Repeated words count once.
func ParseQuery(q string) (Query, error) {
	if len(q) > MaxQueryBytes {
		return Query{}, ErrLongQuery
	}
	toks := tokens(q, true)
	if len(toks) == 0 {
		return Query{}, ErrEmptyQuery
	}
	last := toks[len(toks)-1]
	out := Query{Prefix: last.End == len(q)}
	for _, t := range toks {
		if !slices.Contains(out.Terms, t.Text) {
			out.Terms = append(out.Terms, t.Text)
		}
	}
	if len(out.Terms) > MaxQueryTerms {
		return Query{}, ErrLongQuery
	}
	if out.Prefix && utf8.RuneCountInString(last.Text) < MinPrefixRunes && classOf(firstRune(last.Text)) != cjk {
		// Too short to stand for the words it begins: a whole word.
		out.Prefix = false
	}
	if out.Prefix && out.Terms[len(out.Terms)-1] != last.Text {
		// The last word was also an earlier one: it is an exact term
		// already, and a prefix of itself.
		out.Prefix = false
	}
	return out, nil
}

// Exact returns the terms that must be whole words.
func (q Query) Exact() []string {
	if q.Prefix {
		return q.Terms[:len(q.Terms)-1]
	}
	return q.Terms
}

// PrefixTerm returns the term that need only begin a word, or "".
func (q Query) PrefixTerm() string {
	if q.Prefix {
		return q.Terms[len(q.Terms)-1]
	}
	return ""
}

// Match reports whether text has every term of q, and where the words
// that match lie in text (byte ranges, sorted, not overlapping).
func Match(q Query, text string) (ranges [][2]int, ok bool) {
	toks := Tokens(text)
	found := make([]bool, len(q.Terms))
	for _, t := range toks {
		hit := false
		for i, term := range q.Terms {
			if t.Text == term || q.Prefix && i == len(q.Terms)-1 && strings.HasPrefix(t.Text, term) {
				found[i], hit = true, true
			}
		}
		if hit {
			ranges = append(ranges, [2]int{t.Start, t.End})
		}
	}
	for _, f := range found {
		if !f {
			return nil, false
		}
	}
	return merge(ranges), true
}

// merge joins overlapping ranges (CJK bigrams overlap), sorted by start.
func merge(rs [][2]int) [][2]int {
	slices.SortFunc(rs, func(a, b [2]int) int { return a[0] - b[0] })
	var out [][2]int
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// Snippet cuts from text a window of about width characters around the
// first match (ranges as Match returns them), on one line, with "…" where
// it was cut, and returns where the matches lie in it, in characters
// (Unicode code points, end excluded), as a client highlights them.
func Snippet(text string, ranges [][2]int, width int) (snippet string, highlights [][2]int) {
	start, end := 0, len(text)
	if utf8.RuneCountInString(text) > width {
		first := 0
		if len(ranges) > 0 {
			first = ranges[0][0]
		}
		// Start a third of the width before the first match, at a rune
		// boundary; end width characters later.
		start = first
		for back := width / 3; back > 0 && start > 0; back-- {
			_, size := utf8.DecodeLastRuneInString(text[:start])
			start -= size
		}
		end = start
		for n := 0; n < width && end < len(text); n++ {
			_, size := utf8.DecodeRuneInString(text[end:])
			end += size
		}
	}
	var b strings.Builder
	offset := 0 // characters written
	if start > 0 {
		b.WriteString("…")
		offset++
	}
	pos := make(map[int]int) // byte offset in text → character offset in snippet
	for i, r := range text[start:end] {
		pos[start+i] = offset
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		b.WriteRune(r)
		offset++
	}
	pos[end] = offset
	if end < len(text) {
		b.WriteString("…")
	}
	for _, r := range ranges {
		s, e := max(r[0], start), min(r[1], end)
		if s >= e {
			continue
		}
		highlights = append(highlights, [2]int{pos[s], pos[e]})
	}
	return b.String(), highlights
}
