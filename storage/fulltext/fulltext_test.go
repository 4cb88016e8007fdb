package fulltext

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"Hello, World! hello", []string{"hello", "world"}},
		{"Café crème", []string{"cafe", "creme"}},
		{"Über Straße", []string{"strasse", "uber"}},
		{"Ёлка ПРИВЕТ мир", []string{"елка", "мир", "привет"}},
		{"ﬁle ＡＢＣ", []string{"abc", "file"}},
		{"東京都に行く", []string{"く", "に行", "京都", "東京", "行く", "都に"}},
		{"한국어 텍스트", []string{"국어", "어", "트", "텍스", "한국", "스트"}},
		{"x", []string{"x"}},
		{"don't 42", []string{"42", "don", "t"}},
		{"", []string{}},
		{"!!! ...", []string{}},
	} {
		got := Words(tc.text)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestLongWordCut(t *testing.T) {
	long := strings.Repeat("é", 100)
	w := Words(long)
	if len(w) != 1 || len(w[0]) > MaxTokenBytes || !utf8.ValidString(w[0]) {
		t.Fatalf("Words(100 é) = %q", w)
	}
	if _, ok := Match(mustParse(t, long+" "), long); !ok {
		t.Error("a long word does not find itself")
	}
}

func mustParse(t *testing.T, q string) Query {
	t.Helper()
	pq, err := ParseQuery(q)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", q, err)
	}
	return pq
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		q      string
		terms  []string
		prefix bool
	}{
		{"hel", []string{"hel"}, true},
		{"he", []string{"he"}, false},
		{"see y", []string{"see", "y"}, false},
		{"hello ", []string{"hello"}, false},
		{"see you", []string{"see", "you"}, true},
		{"Ёлк", []string{"елк"}, true},
		{"you see you", []string{"you", "see"}, false},
		{"東京都", []string{"東京", "京都"}, true},
		{"東", []string{"東"}, true},
		{"CAFÉ", []string{"cafe"}, true},
	} {
		q := mustParse(t, tc.q)
		if !slices.Equal(q.Terms, tc.terms) || q.Prefix != tc.prefix {
			t.Errorf("ParseQuery(%q) = %+v, want %q prefix %v", tc.q, q, tc.terms, tc.prefix)
		}
	}
	for _, bad := range []string{"", "  ", "?!", "a b c d e f g h i j k l m n o p q", strings.Repeat("a", MaxQueryBytes+1)} {
		if _, err := ParseQuery(bad); err == nil {
			t.Errorf("ParseQuery(%.20q…) took it", bad)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		q, text string
		ok      bool
		hits    []string
	}{
		{"hel", "Hello there, help!", true, []string{"Hello", "help"}},
		{"hello ", "Hello there, help!", true, []string{"Hello"}},
		{"there hel", "Hello there", true, []string{"Hello", "there"}},
		{"cafe", "un café noir", true, []string{"café"}},
		{"uber", "Über alles", true, []string{"Über"}},
		{"москв", "Я живу в Москве", true, []string{"Москве"}},
		{"京都", "東京都に行く", true, []string{"京都"}},
		{"東京都", "東京都に行く", true, []string{"東京都"}},
		{"都", "東京都", true, []string{"都"}},
		{"東都", "東京都", false, nil}, // both characters, not together
		{"absent", "present", false, nil},
	} {
		q := mustParse(t, tc.q)
		ranges, ok := Match(q, tc.text)
		if ok != tc.ok {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.q, tc.text, ok, tc.ok)
			continue
		}
		var hits []string
		for _, r := range ranges {
			hits = append(hits, tc.text[r[0]:r[1]])
		}
		if !slices.Equal(hits, tc.hits) {
			t.Errorf("Match(%q, %q) hits %q, want %q", tc.q, tc.text, hits, tc.hits)
		}
	}
}

func TestSnippet(t *testing.T) {
	text := strings.Repeat("blah ", 40) + "the Café\nis open " + strings.Repeat("yada ", 40)
	q := mustParse(t, "cafe")
	ranges, ok := Match(q, text)
	if !ok {
		t.Fatal("no match")
	}
	s, hl := Snippet(text, ranges, 60)
	if !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || strings.Contains(s, "\n") {
		t.Errorf("snippet %q", s)
	}
	if len(hl) != 1 || string([]rune(s)[hl[0][0]:hl[0][1]]) != "Café" {
		t.Errorf("highlights %v in %q", hl, s)
	}
	short, hl := Snippet("a café", [][2]int{{2, 7}}, 60)
	if short != "a café" || len(hl) != 1 || hl[0] != [2]int{2, 6} {
		t.Errorf("short snippet %q %v", short, hl)
	}
}

// FuzzQuery: any query parses or fails cleanly, and whatever parses
// matches a text made of it, with highlights inside the snippet.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"hello", "café crème ", "東京都", "Ёлка", "a\u0301", "\xff\xfe", "x y z", "ﬁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			return
		}
		if len(q.Terms) == 0 || len(q.Terms) > MaxQueryTerms {
			t.Fatalf("ParseQuery(%q) = %+v", s, q)
		}
		ranges, ok := Match(q, s)
		if !ok {
			t.Fatalf("the query %q does not match itself (%+v)", s, q)
		}
		snip, hl := Snippet(s, ranges, 40)
		n := utf8.RuneCountInString(snip)
		for _, h := range hl {
			if h[0] < 0 || h[0] >= h[1] || h[1] > n {
				t.Fatalf("highlight %v outside %q", h, snip)
			}
		}
	})
}
