package identity

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-im/parley"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"Ada Lovelace ✨", true},
		{"Zoë", true},
		{"עליס", true}, // right-to-left script is fine; only the controls are not
		{"李小龙", true},
		{"", true}, // "no name": callers that need one say so
		{strings.Repeat("é", MaxCardName/2), true},
		{strings.Repeat("x", MaxCardName+1), false},
		{"\xff", false},
		{"alice\nbob", false},
		{"a\x00b", false},
		{"a\x7fb", false},
		{"ali\u200bce", false}, // zero-width space
		{"ali\u200cce", false}, // zero-width non-joiner
		{"ali\u200dce", false}, // zero-width joiner
		{"ali\u200ece", false}, // left-to-right mark
		{"ali\u200fce", false}, // right-to-left mark
		{"ali\u2060ce", false}, // word joiner
		{"ali\u2064ce", false}, // invisible plus
		{"\ufeffalice", false}, // byte order mark
		{"ali\u00adce", false}, // soft hyphen
		{"alice\u202e", false}, // right-to-left override
		{"\u202aalice", false}, // left-to-right embedding
		{"ali\u2066ce\u2069", false},
		{"ali\u034fce", false}, // combining grapheme joiner
		{"dev 👩‍💻", true},      // an emoji ZWJ sequence
		{"dev 👍🏽‍✨", true},
		{"a\u200d👩", false},
		{"👩\u200d", false},
		{"ali\u3164ce", false},     // Hangul filler, blank but a letter
		{"alice\u2028bob", false},  // line separator
		{"ali\U000e0041ce", false}, // tag character
	}
	for _, tt := range tests {
		err := CheckName(tt.name)
		if tt.ok && err != nil {
			t.Errorf("CheckName(%+q) = %v, want nil", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("CheckName(%+q) = %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestNamesLookAlike(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"alice", "alice", true},
		{"alice", "Alice", true},
		{"alice", "ALICE", true},
		{"alice", "ａｌｉｃｅ", true}, // fullwidth
		{"alice", " alice ", true},
		{"Ǆ", "DŽ", true}, // one letter or two, NFKC makes them the same
		{"ﬁona", "fiona", true},
		{"alice", "\u0430lice", true}, // Cyrillic а
		{"Bob", "B\u043eb", true},     // Cyrillic о
		{"Pavel", "\u0420avel", true}, // Cyrillic Р, capital
		{"tim", "tirn", true},         // rn passes for m
		{"paypal", "p\u0430yp\u0430l", true},
		{"Ivan", "\u0418van", false}, // И is a letter of its own
		{"alice", "\u0430lic", false},
		{"alice", "alice2", false},
		{"alice", "bob", false},
		{"", "", false}, // no name looks like nothing
	}
	for _, tt := range tests {
		if got := NamesLookAlike(tt.a, tt.b); got != tt.same {
			t.Errorf("NamesLookAlike(%+q, %+q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func TestTypedName(t *testing.T) {
	for in, want := range map[string]string{
		"Erin ✨":         "erin",
		"  Bob   Smith ": "bob smith",
		"Zoë":            "zoe",
		"ÉMILE":          "emile",
		"👩‍💻 Ada":        "ada",
		"Straße":         "strasse",
		"✨":              "",
		"ｆｕｌｌ":           "full",
	} {
		if got := TypedName(in); got != want {
			t.Errorf("TypedName(%q) = %q, want %q", in, got, want)
		}
	}
}
