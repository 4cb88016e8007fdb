package identity

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

func TestCheckEmoji(t *testing.T) {
	for _, tc := range []struct {
		emoji string
		ok    bool
	}{
		{"👍", true},
		{"❤️", true},                                // with a variation selector
		{"👍🏽", true},                                // with a skin tone
		{"👩‍👩‍👧‍👦", true},                           // a family: one cluster of 25 bytes
		{"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true},                           // a subdivision flag: 28 bytes
		{"a", true},                                 // not an emoji list: any one grapheme
		{"", false},                                 // empty
		{"👍👍", false},                               // two
		{" ", false},                                // a space
		{"\n", false},                               // a control character
		{"\xff", false},                             // not UTF-8
		{strings.Repeat("👍", 20), false},            // 80 bytes
		{"e" + strings.Repeat("\u0301", 40), false}, // one cluster, over 64 bytes
	} {
		err := CheckEmoji(tc.emoji)
		if (err == nil) != tc.ok {
			t.Errorf("CheckEmoji(%q) = %v, want ok %v", tc.emoji, err, tc.ok)
		}
		if err != nil && !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("CheckEmoji(%q) = %v, not ErrMalformed", tc.emoji, err)
		}
	}
}

// FuzzDecodeAnnotation feeds arbitrary bytes to the body decoder, seeded
// with edits, deletes and reactions. Whatever it takes as an annotation
// must be within the limits and survive a round trip through the message
// that stores it.
func FuzzDecodeAnnotation(f *testing.F) {
	target := make([]byte, 32)
	for _, b := range []*pb.Body{
		{Kind: &pb.Body_Edit{Edit: &pb.Edit{Target: target, Text: "new text"}}},
		{Kind: &pb.Body_Delete{Delete: &pb.Delete{Target: target}}},
		{Kind: &pb.Body_Reaction{Reaction: &pb.Reaction{Target: target, Emoji: "👍", Remove: true}}},
		{Kind: &pb.Body_Reaction{Reaction: &pb.Reaction{Target: target[:31], Emoji: "👍"}}},
		{Kind: &pb.Body_Text{Text: &pb.Text{Text: "a reply", ReplyTo: target}}},
	} {
		raw, err := proto.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{0x62, 0x00}) // an empty Edit (field 12)
	f.Fuzz(func(t *testing.T, raw []byte) {
		body, err := decodeBody(raw)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		var msg parley.Message
		if !Annotation(body, &msg) {
			return // another kind
		}
		if msg.Target == nil || !msg.Kind.Annotates() {
			t.Fatalf("annotation without a target or kind: %+v", msg)
		}
		switch msg.Kind {
		case parley.KindEdit:
			if msg.Text == "" || len(msg.Text) > parley.MaxTextBytes || !utf8.ValidString(msg.Text) {
				t.Fatalf("accepted an edit of %d bytes", len(msg.Text))
			}
		case parley.KindReaction:
			if CheckEmoji(msg.Emoji) != nil {
				t.Fatalf("accepted a reaction %q", msg.Emoji)
			}
		}
		again, err := AnnotationBody(msg)
		if err != nil {
			t.Fatalf("the message of an accepted annotation does not encode: %v", err)
		}
		var back parley.Message
		if !Annotation(again, &back) || back.Kind != msg.Kind || *back.Target != *msg.Target ||
			back.Text != msg.Text || back.Emoji != msg.Emoji || back.Remove != msg.Remove {
			t.Fatalf("round trip: %+v, want %+v", back, msg)
		}
	})
}
