package localapi_test

import (
	"context"
	"fmt"

	"github.com/parley-im/parley"
)

// Act finds the message among the fake's by ID prefix and answers as the
// node would, without any delivery: enough to test the API's side (the
// request, the errors, the view).
func (f *fakeMessages) Act(ctx context.Context, a parley.Action) (parley.Message, error) {
	f.mu.Lock()
	var target *parley.Message
	for i := range f.msgs {
		if len(a.Message) >= 4 && f.msgs[i].ID.String()[:len(a.Message)] == a.Message {
			target = &f.msgs[i]
		}
	}
	f.mu.Unlock()
	if target == nil {
		return parley.Message{}, fmt.Errorf("%w: no message %s", parley.ErrNotFound, a.Message)
	}
	t := *target
	switch a.Kind {
	case parley.ActionReply:
		m, err := f.Send(ctx, a.Conversation, a.Text, parley.ClientID{})
		m.ReplyTo = &t.ID
		m.View = &parley.View{Quote: &parley.Quote{From: t.From, Text: t.Text}}
		return m, err
	case parley.ActionEdit:
		if !t.Outgoing {
			return parley.Message{}, fmt.Errorf("%w: you can edit only your own messages", parley.ErrNotAuthor)
		}
		t.View = &parley.View{Edits: []parley.Edit{{Text: t.Text, HLC: t.HLC}, {Text: a.Text, HLC: t.HLC + 1}}}
		t.Text = a.Text
	case parley.ActionDelete:
		t.Deleted, t.Text = true, ""
	case parley.ActionReact:
		t.View = &parley.View{Reactions: map[string][]string{a.Emoji: {selfID}}}
	}
	return t, nil
}
