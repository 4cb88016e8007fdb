package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// PathMessageInfo (GET): when a message was sent, and delivered to and
// read by each recipient, or why not yet. {conv} is a contact (name or
// peer ID) or a group (name or ID), {msg} a message ID or a unique prefix
// of it (4+ hex); clients path-escape both.
const PathMessageInfo = "/api/v1/conversations/{conv}/messages/{msg}/info"

// ReceiptView is when one recipient got and read a message; absent: not
// yet (as far as this node knows). RFC 3339, UTC.
type ReceiptView struct {
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
}

// NewReceiptView renders r.
func NewReceiptView(r parley.Receipt) ReceiptView {
	at := func(h parley.HLC) *time.Time {
		if h == 0 {
			return nil
		}
		t := h.Time().UTC()
		return &t
	}
	return ReceiptView{DeliveredAt: at(r.Delivered), ReadAt: at(r.Read)}
}

// MessageInfoView is what GET PathMessageInfo answers.
type MessageInfoView struct {
	Message MessageView `json:"message"`
	Group   bool        `json:"group"`
	// Recipients: a DM's other side (for a message we received, us); a
	// group's members but the author.
	Recipients []RecipientView `json:"recipients"`
	// Delivered and Read count the recipients that got and read it.
	Delivered int `json:"delivered"`
	Read      int `json:"read"`
}

// RecipientView is one recipient of a message.
type RecipientView struct {
	PeerID string `json:"peer_id"`
	Name   string `json:"name"`
	ReceiptView
	// Pending: a message of ours not delivered to this recipient yet, why.
	Pending *DeliveryView `json:"pending,omitempty"`
}

// DeliveryView is what the node knows of a delivery still under way.
// Times are absent where unknown: attempts are kept in memory, so a
// restart forgets them (Reason, the message's, stays).
type DeliveryView struct {
	Online       bool       `json:"online"`
	OfflineSince *time.Time `json:"offline_since,omitempty"`
	LastAttempt  *time.Time `json:"last_attempt,omitempty"`
	// Path of the last attempt: "direct", "relay" or "mailbox"; a group
	// message travels by "gossip" (and sync) or "mailbox".
	Path      string     `json:"path,omitempty"`
	NextRetry *time.Time `json:"next_retry,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	// Mailbox: a mailbox of the recipient holds the message.
	Mailbox bool `json:"mailbox"`
}

// NewMessageInfoView renders info, with msg its message as rendered.
func NewMessageInfoView(info parley.MessageInfo, msg MessageView) MessageInfoView {
	v := MessageInfoView{Message: msg, Group: info.Group, Recipients: []RecipientView{}}
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	for _, r := range info.Recipients {
		rv := RecipientView{PeerID: r.PeerID, Name: r.Name, ReceiptView: NewReceiptView(r.Receipt)}
		if r.Delivered != 0 {
			v.Delivered++
		}
		if r.Read != 0 {
			v.Read++
		}
		if p := r.Pending; p != nil {
			rv.Pending = &DeliveryView{Online: p.Online, OfflineSince: at(p.OfflineSince), LastAttempt: at(p.LastAttempt),
				Path: p.Path, NextRetry: at(p.NextRetry), LastError: p.LastError, Mailbox: p.Mailbox}
		}
		v.Recipients = append(v.Recipients, rv)
	}
	return v
}
