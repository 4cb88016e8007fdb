package apitype_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

func TestErrorForRoundTrip(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{fmt.Errorf("resolve: %w", parley.ErrUnknownContact), http.StatusNotFound},
		{parley.ErrNotFound, http.StatusNotFound},
		{parley.ErrAmbiguous, http.StatusConflict},
		{parley.ErrEmptyText, http.StatusBadRequest},
		{parley.ErrTextTooLong, http.StatusBadRequest},
		{fmt.Errorf("%w: bad checksum", parley.ErrInvalidInvite), http.StatusBadRequest},
		{parley.ErrMalformed, http.StatusBadRequest},
		{fmt.Errorf("%w \"team\"", parley.ErrUnknownGroup), http.StatusNotFound},
		{parley.ErrNotAdmin, http.StatusForbidden},
		{parley.ErrNotMember, http.StatusConflict},
		{fmt.Errorf("%w: video.mp4 needs 9 bytes, the disk has 1 free", parley.ErrNoSpace), http.StatusInsufficientStorage},
		{fmt.Errorf("joining the public DHT: %w (swarm key)", parley.ErrPrivateNetwork), http.StatusConflict},
		{parley.ErrWrongPassphrase, http.StatusForbidden},
		{fmt.Errorf("hold mail for others: %w (--mailbox-service)", parley.ErrSetAtStart), http.StatusConflict},
		{parley.ErrMailboxServiceOff, http.StatusConflict},
		// Wrapping both: the specific sentinel decides.
		{fmt.Errorf("%w: %w", parley.ErrInvalidInvite, parley.ErrMalformed), http.StatusBadRequest},
	}
	for _, tt := range tests {
		e, ok := apitype.ErrorFor(tt.err)
		if !ok || e.Status != tt.status || e.Message != tt.err.Error() {
			t.Errorf("ErrorFor(%v) = %+v, %v", tt.err, e, ok)
		}
		// What the client gets back unwraps to the same sentinel.
		wire := &apitype.Error{Status: e.Status, Message: e.Message, Code: e.Code}
		for _, s := range []error{parley.ErrUnknownContact, parley.ErrNotFound, parley.ErrAmbiguous,
			parley.ErrEmptyText, parley.ErrTextTooLong, parley.ErrInvalidInvite,
			parley.ErrUnknownGroup, parley.ErrNotAdmin, parley.ErrNotMember, parley.ErrNoSpace, parley.ErrPrivateNetwork, parley.ErrWrongPassphrase,
			parley.ErrSetAtStart, parley.ErrMailboxServiceOff} {
			if errors.Is(tt.err, s) && !errors.Is(wire, s) {
				t.Errorf("%v: the client's error does not unwrap to %v", tt.err, s)
			}
		}
	}
	e, ok := apitype.ErrorFor(errors.New("open /home/x/.config/parley/db: disk full"))
	if ok || e.Status != http.StatusInternalServerError || e.Message != "internal error" {
		t.Errorf("internal error mapped to %+v, %v", e, ok)
	}
}

// A disk-full error answers 507 with its own one line, whatever wrapped
// it, and a client sees parley.ErrNoSpace.
func TestDiskFullIsOneLine507(t *testing.T) {
	err := fmt.Errorf("send: storing the message: %w", &parley.DiskFullError{Free: 12 << 20})
	e, ok := apitype.ErrorFor(err)
	if !ok || e.Status != http.StatusInsufficientStorage || e.Code != "no_space" {
		t.Fatalf("ErrorFor = %+v, %v", e, ok)
	}
	if want := "disk full: 12 MB free; Parley is read-only until space is freed"; e.Message != want {
		t.Fatalf("message %q, want %q", e.Message, want)
	}
	if !errors.Is(e, parley.ErrNoSpace) {
		t.Fatal("the client's error is not parley.ErrNoSpace")
	}
}
