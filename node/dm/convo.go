package dm

import (
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	ppb "github.com/parley-im/parley/pb"
)

// SendReply writes text to a contact as a reply to the message replyTo.
func (s *Service) SendReply(to parley.Contact, text string, replyTo parley.EnvelopeID) (parley.Message, error) {
	if err := parley.CheckText(text); err != nil {
		return parley.Message{}, err
	}
	body := &ppb.Body{Kind: &ppb.Body_Text{Text: &ppb.Text{Text: text, ReplyTo: replyTo[:]}}}
	return s.send(to, body, parley.Message{Kind: parley.KindText, Text: text, ReplyTo: &replyTo}, nil, parley.ClientID{})
}

// SendAnnotation writes an edit, delete or reaction (msg's Kind, Target,
// Text, Emoji, Remove) to a contact, through the outbox like any message.
func (s *Service) SendAnnotation(to parley.Contact, msg parley.Message) (parley.Message, error) {
	body, err := identity.AnnotationBody(msg)
	if err != nil {
		return parley.Message{}, err
	}
	return s.send(to, body, parley.Message{Kind: msg.Kind, Target: msg.Target, Text: msg.Text, Emoji: msg.Emoji, Remove: msg.Remove}, nil, parley.ClientID{})
}

// SendTimer sets the disappearing-messages timer of our conversation with
// a contact (seconds, 0: off), through the outbox like any message.
func (s *Service) SendTimer(to parley.Contact, seconds uint32) (parley.Message, error) {
	body, err := identity.TimerBody(time.Duration(seconds) * time.Second)
	if err != nil {
		return parley.Message{}, err
	}
	return s.send(to, body, parley.Message{Kind: parley.KindTimer, Timer: seconds}, nil, parley.ClientID{})
}
