package identity

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// MaxEmojiBytes caps a reaction's emoji: the longest emoji sequences
// (families, flags of subdivisions) take some 30 bytes.
const MaxEmojiBytes = 64

// CheckEmoji says whether s may be a reaction: one grapheme cluster (one
// emoji as the user sees it, with its modifiers and joiners) of 1 to
// MaxEmojiBytes bytes of UTF-8, with no control characters or spaces.
// Reactions are not restricted to the emoji Unicode lists: those grow every
// year, and a receiver with an older list would refuse what a newer sender
// sent.
func CheckEmoji(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: an empty reaction", parley.ErrMalformed)
	case len(s) > MaxEmojiBytes:
		return fmt.Errorf("%w: a reaction of %d bytes, the limit is %d", parley.ErrMalformed, len(s), MaxEmojiBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: a reaction that is not UTF-8", parley.ErrMalformed)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: a reaction with a control character or a space", parley.ErrMalformed)
		}
	}
	if n := uniseg.GraphemeClusterCount(s); n != 1 {
		return fmt.Errorf("%w: a reaction is one emoji, not %d characters", parley.ErrMalformed, n)
	}
	return nil
}

// checkTarget checks the envelope ID an edit, delete or reaction names.
func checkTarget(what string, target []byte) error {
	if n := len(target); n != len(parley.EnvelopeID{}) {
		return fmt.Errorf("%w: %s target is %d bytes, want 32", parley.ErrMalformed, what, n)
	}
	return nil
}

// checkEdit checks an Edit body: a target and a text as a Text's.
func checkEdit(e *pb.Edit) error {
	if err := checkTarget("edit", e.GetTarget()); err != nil {
		return err
	}
	t := e.GetText()
	switch {
	case t == "":
		return fmt.Errorf("%w: edit: empty text", parley.ErrMalformed)
	case len(t) > parley.MaxTextBytes:
		return fmt.Errorf("%w: edit: text is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(t), parley.MaxTextBytes)
	case !utf8.ValidString(t):
		return fmt.Errorf("%w: edit: text is not UTF-8", parley.ErrMalformed)
	}
	return nil
}

// checkReaction checks a Reaction body.
func checkReaction(r *pb.Reaction) error {
	if err := checkTarget("reaction", r.GetTarget()); err != nil {
		return err
	}
	return CheckEmoji(r.GetEmoji())
}

// Annotation reads an edit, delete or reaction body (checked by
// OpenEnvelope) into the message that stores it: Kind, Target, Text (an
// edit's text) and Emoji and Remove (a reaction's). It reports false for
// any other body.
func Annotation(body *pb.Body, msg *parley.Message) bool {
	var target []byte
	switch b := body.GetKind().(type) {
	case *pb.Body_Edit:
		msg.Kind, msg.Text, target = parley.KindEdit, b.Edit.GetText(), b.Edit.GetTarget()
	case *pb.Body_Delete:
		msg.Kind, target = parley.KindDelete, b.Delete.GetTarget()
	case *pb.Body_Reaction:
		msg.Kind, msg.Emoji, msg.Remove, target = parley.KindReaction, b.Reaction.GetEmoji(), b.Reaction.GetRemove(), b.Reaction.GetTarget()
	default:
		return false
	}
	id, err := parley.EnvelopeIDFromBytes(target)
	if err != nil {
		return false // OpenEnvelope refused it already
	}
	msg.Target = &id
	return true
}

// AnnotationBody is the body that sends msg, an edit, delete or reaction
// (Kind, Target, Text, Emoji, Remove): the inverse of Annotation.
func AnnotationBody(msg parley.Message) (*pb.Body, error) {
	if msg.Target == nil {
		return nil, fmt.Errorf("%w: %s without a target", parley.ErrMalformed, msg.Kind)
	}
	t := msg.Target[:]
	var body *pb.Body
	switch msg.Kind {
	case parley.KindEdit:
		body = &pb.Body{Kind: &pb.Body_Edit{Edit: &pb.Edit{Target: t, Text: msg.Text}}}
	case parley.KindDelete:
		body = &pb.Body{Kind: &pb.Body_Delete{Delete: &pb.Delete{Target: t}}}
	case parley.KindReaction:
		body = &pb.Body{Kind: &pb.Body_Reaction{Reaction: &pb.Reaction{Target: t, Emoji: msg.Emoji, Remove: msg.Remove}}}
	default:
		return nil, fmt.Errorf("%w: %q is not an annotation", parley.ErrMalformed, msg.Kind)
	}
	if err := checkBody(body); err != nil {
		return nil, err
	}
	return body, nil
}

// checkGroupReceipt checks a GroupReceipt body: 1 to MaxReceiptIDs
// envelope IDs in all, of 32 bytes each.
func checkGroupReceipt(r *pb.GroupReceipt) error {
	d, rd := r.GetDelivered(), r.GetRead()
	if n := len(d) + len(rd); n == 0 || n > MaxReceiptIDs {
		return fmt.Errorf("%w: group receipt lists %d messages, want 1 to %d", parley.ErrMalformed, n, MaxReceiptIDs)
	}
	for i, id := range append(d[:len(d):len(d)], rd...) {
		if len(id) != len(parley.EnvelopeID{}) {
			return fmt.Errorf("%w: group receipt message ID %d is %d bytes, want 32", parley.ErrMalformed, i, len(id))
		}
	}
	return nil
}

// GroupReceiptBody is the body of a group receipt for these messages
// (at most MaxReceiptIDs in all).
func GroupReceiptBody(delivered, read []parley.EnvelopeID) (*pb.Body, error) {
	r := &pb.GroupReceipt{}
	for _, id := range delivered {
		r.Delivered = append(r.Delivered, id[:])
	}
	for _, id := range read {
		r.Read = append(r.Read, id[:])
	}
	if err := checkGroupReceipt(r); err != nil {
		return nil, err
	}
	return &pb.Body{Kind: &pb.Body_GroupReceipt{GroupReceipt: r}}, nil
}

// GroupReceipt reads a group receipt body (checked by OpenEnvelope) into
// msg: Kind, Delivered and Read. It reports false for any other body.
func GroupReceipt(body *pb.Body, msg *parley.Message) bool {
	b, ok := body.GetKind().(*pb.Body_GroupReceipt)
	if !ok {
		return false
	}
	ids := func(raw [][]byte) []parley.EnvelopeID {
		var out []parley.EnvelopeID
		for _, r := range raw {
			if id, err := parley.EnvelopeIDFromBytes(r); err == nil {
				out = append(out, id)
			}
		}
		return out
	}
	msg.Kind = parley.KindGroupReceipt
	msg.Receipted = &parley.ReceiptIDs{Delivered: ids(b.GroupReceipt.GetDelivered()), Read: ids(b.GroupReceipt.GetRead())}
	return true
}
