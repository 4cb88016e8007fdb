package apitype

import (
	"errors"
	"net/http"

	"github.com/parley-im/parley"
)

// Error is the body of every error response, and the Go error the client
// returns for one: {"error": "one line message", "code": "unknown_contact"}.
type Error struct {
	Status  int    `json:"-"`              // HTTP status code
	Message string `json:"error"`          // one line, meant for the user
	Code    string `json:"code,omitempty"` // stable, for programs; see Codes
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the domain sentinel behind the code, so a client can test
// errors.Is(err, parley.ErrUnknownContact) as if it called the node itself.
func (e *Error) Unwrap() error {
	for _, c := range codes {
		if c.code == e.Code {
			return c.err
		}
	}
	return nil
}

// Codes of errors that are not domain sentinels.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeTooLarge     = "too_large"
	CodeInternal     = "internal"
	CodeMethod       = "method_not_allowed"
	// CodeNotComplete: a file's content was asked for before every byte
	// arrived and was verified.
	CodeNotComplete = "not_complete"
)

// codes maps domain sentinels to HTTP statuses and stable codes. Order
// matters: the first sentinel an error wraps wins, so the specific ones come
// before the general ones.
//
// ErrNotAdmin is 403: the group's rules forbid it to this user, whatever
// the request. ErrNotMember is 409, as ErrAmbiguous: the request is fine but
// the group's state stands in its way (we left or were removed, or the peer
// is not in the group), and it may succeed once that changes; so is
// ErrPrivateNetwork (the node runs with a swarm key), ErrRekeying (a
// member left and the group's new key is on its way), ErrSetAtStart (a
// `parley run` flag holds the setting until a restart) and
// ErrMailboxServiceOff (no offer to hold mail without the service), and
// ErrBlocked (the user blocked the peer: unblock to write), and
// ErrLinkRefused (the new device refused the code, or the user declined:
// a new code may link), and ErrLinkedDeviceWrite (a linked device reads
// but does not write yet). ErrMailboxUnavailable and ErrDeviceUnreachable
// are 502: the mailbox or the new device, not this node, was unreachable
// or refused. ErrWrongPassphrase is
// 403: the session may ask, but not with this passphrase. ErrNoSpace is 507
// Insufficient Storage: the node's disk cannot hold the file, or is below
// the store's watermark (the node is read-only: "disk full: N MB free").
var codes = []struct {
	err    error
	status int
	code   string
}{
	{parley.ErrUnknownContact, http.StatusNotFound, "unknown_contact"},
	{parley.ErrUnknownGroup, http.StatusNotFound, "unknown_group"},
	{parley.ErrNotAdmin, http.StatusForbidden, "not_admin"},
	{parley.ErrNotAuthor, http.StatusForbidden, "not_author"},
	{parley.ErrNotMember, http.StatusConflict, "not_member"},
	{parley.ErrRekeying, http.StatusConflict, "rekeying"},
	{parley.ErrNoSpace, http.StatusInsufficientStorage, "no_space"},
	{parley.ErrPrivateNetwork, http.StatusConflict, "private_network"},
	{parley.ErrWrongPassphrase, http.StatusForbidden, "wrong_passphrase"},
	{parley.ErrMailboxUnavailable, http.StatusBadGateway, "mailbox_unavailable"},
	{parley.ErrInviterUnreachable, http.StatusBadGateway, "inviter_unreachable"},
	{parley.ErrSetAtStart, http.StatusConflict, "set_at_start"},
	{parley.ErrMailboxServiceOff, http.StatusConflict, "mailbox_service_off"},
	{parley.ErrBlocked, http.StatusConflict, "blocked"},
	{parley.ErrLinkRefused, http.StatusConflict, "link_refused"},
	{parley.ErrLinkedDeviceWrite, http.StatusConflict, "linked_device_write"},
	{parley.ErrDeviceUnreachable, http.StatusBadGateway, "device_unreachable"},
	{parley.ErrNotFound, http.StatusNotFound, CodeNotFound},
	{parley.ErrAmbiguous, http.StatusConflict, "ambiguous"},
	{parley.ErrEmptyText, http.StatusBadRequest, "empty_text"},
	{parley.ErrTextTooLong, http.StatusBadRequest, "text_too_long"},
	{parley.ErrInvalidInvite, http.StatusBadRequest, "invalid_invite"},
	{parley.ErrInvalidLinkCode, http.StatusBadRequest, "invalid_link_code"},
	{parley.ErrBadSignature, http.StatusBadRequest, "bad_signature"},
	{parley.ErrMalformed, http.StatusBadRequest, "malformed"},
}

// Codes are every code an error body may carry, each with the one HTTP
// status it comes with: the OpenAPI description (gui/localapi's
// openapi.json) lists them, and its test holds it to this.
func Codes() map[string]int {
	m := map[string]int{
		CodeBadRequest:   http.StatusBadRequest,
		CodeUnauthorized: http.StatusUnauthorized,
		CodeForbidden:    http.StatusForbidden,
		CodeNotFound:     http.StatusNotFound,
		CodeTooLarge:     http.StatusRequestEntityTooLarge,
		CodeInternal:     http.StatusInternalServerError,
		CodeMethod:       http.StatusMethodNotAllowed,
		CodeNotComplete:  http.StatusConflict,
	}
	for _, c := range codes {
		m[c.code] = c.status
	}
	return m
}

// ErrorFor maps an error from the node to the response the API gives. ok is
// false for errors that are not the caller's fault: the server logs those
// and answers 500 without details.
func ErrorFor(err error) (e *Error, ok bool) {
	if errors.As(err, &e) {
		return e, true
	}
	// The disk-full message alone, whatever wrapped it: it is the one line
	// the user needs.
	var full *parley.DiskFullError
	if errors.As(err, &full) {
		return &Error{Status: http.StatusInsufficientStorage, Message: full.Error(), Code: "no_space"}, true
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return &Error{Status: c.status, Message: err.Error(), Code: c.code}, true
		}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "internal error", Code: CodeInternal}, false
}
