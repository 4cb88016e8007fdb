package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// Retry bounds for a send whose outcome is unknown: the first wait, and
// the longest.
const (
	retryMin = 50 * time.Millisecond
	retryMax = time.Second
)

// retrySend runs try, a send carrying a client ID, and runs it again while
// its outcome is unknown, until it succeeds, fails for good, or ctx ends.
// The node stores a client ID's message once, so a try that did reach it
// costs nothing when repeated; and a node that restarts mid-request comes
// back under a new api.json, which each retry reads.
//
// A first try that never reached a node (none running) fails at once:
// nothing was sent. Once a try may have reached one, a node that is gone is
// waited for: it may be restarting.
func (c *Client) retrySend(ctx context.Context, try func() error) error {
	err := try()
	if err == nil || !unknownOutcome(err) || c.dataDir == "" {
		return err
	}
	wait := retryMin
	for {
		select {
		case <-ctx.Done():
			return &lostAnswerError{dataDir: c.dataDir, cause: err}
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
		if _, rerr := c.reload(); rerr != nil && !errors.Is(rerr, parley.ErrNotRunning) {
			return rerr
		}
		again := try()
		switch {
		case again == nil:
			return nil
		case ctx.Err() != nil:
			return &lostAnswerError{dataDir: c.dataDir, cause: err}
		case !unknownOutcome(again) && !errors.Is(again, parley.ErrNotRunning):
			return again
		}
		err = again
	}
}

// unknownOutcome: the request may have been carried out, its answer lost
// (the connection broke after it was written, or the node failed on its
// side and may retry fine). A refused connection, an answer from the API
// about the request (4xx) and our own deadline are known outcomes.
func unknownOutcome(err error) bool {
	var apiErr *apitype.Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status >= http.StatusInternalServerError
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, parley.ErrNotRunning):
		return false
	}
	return true
}

// lostAnswerError: a send's outcome stayed unknown until the deadline.
type lostAnswerError struct {
	dataDir string
	cause   error
}

func (e *lostAnswerError) Error() string {
	where := "the node"
	if e.dataDir != "" {
		where = "the node for data dir " + e.dataDir
	}
	return fmt.Sprintf("%s stopped answering while sending (%v); the message may have been stored: check the conversation before sending it again", where, e.cause)
}

func (e *lostAnswerError) Unwrap() error { return e.cause }
