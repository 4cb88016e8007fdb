package localapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// handleDevices answers GET /api/v1/devices: the devices of the user's
// person, this node marked.
func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	devices, err := s.messages.Devices(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]apitype.DeviceView, len(devices))
	for i, d := range devices {
		views[i] = apitype.NewDeviceView(d)
	}
	writeJSON(w, http.StatusOK, views)
}

// noLinker answers the link endpoints of a node that cannot link.
func (s *Server) noLinker(w http.ResponseWriter) bool {
	if s.linker != nil {
		return false
	}
	writeError(w, &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound, Message: "this node cannot link devices"})
	return true
}

// handleStartLink answers POST /api/v1/devices/link: a link code to show
// on this node, which waits to be linked as a new device.
func (s *Server) handleStartLink(w http.ResponseWriter, r *http.Request) {
	if s.noLinker(w) {
		return
	}
	st, err := s.linker.StartLink(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitype.NewLinkStatusView(st))
}

// handleLinkStatus answers GET /api/v1/devices/link.
func (s *Server) handleLinkStatus(w http.ResponseWriter, r *http.Request) {
	if s.noLinker(w) {
		return
	}
	writeJSON(w, http.StatusOK, apitype.NewLinkStatusView(s.linker.LinkStatus(r.Context())))
}

// acceptTimeout bounds a whole accept, the user's confirmation included
// (the new device waits two minutes for it).
const acceptTimeout = 5 * time.Minute

// confirmWait is how long an accept waits for PathConfirmLink: the new
// device's own wait (node/link.ConfirmTimeout).
const confirmWait = 2 * time.Minute

// acceptSessions are the accepts waiting for the user to compare the
// safety code (PathConfirmLink).
type acceptSessions struct {
	mu sync.Mutex
	m  map[string]*acceptSession // guarded by mu
}

// acceptSession is one accept under way: AcceptLink runs in its own
// goroutine and waits in confirm for the user's word.
type acceptSession struct {
	shown  string      // the safety code, for the confirmation's answer
	safety chan string // the safety code, once the new device answered
	decide chan bool   // the user's word
	done   chan acceptResult
}

type acceptResult struct {
	device parley.Device
	err    error
}

// handleAcceptLink answers POST /api/v1/devices/accept {code, yes}: with
// yes, the link as a whole; otherwise the safety code and a session that
// PathConfirmLink confirms or declines (202).
func (s *Server) handleAcceptLink(w http.ResponseWriter, r *http.Request) {
	if s.noLinker(w) {
		return
	}
	var req apitype.AcceptLinkRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	code := strings.TrimSpace(req.Code)
	if code == "" {
		s.fail(w, r, fmt.Errorf("%w: no link code given", parley.ErrInvalidLinkCode))
		return
	}
	sess := &acceptSession{safety: make(chan string, 1), decide: make(chan bool, 1), done: make(chan acceptResult, 1)}
	// The accept outlives this request when it waits for the user: it
	// belongs to the server, which ends it on Close.
	ctx, cancel := context.WithTimeout(context.Background(), acceptTimeout)
	stop := context.AfterFunc(r.Context(), func() {
		if req.Yes {
			cancel()
		}
	})
	go func() {
		defer cancel()
		d, err := s.linker.AcceptLink(ctx, code, func(safety string) bool {
			sess.safety <- safety
			if req.Yes {
				return true
			}
			select {
			case ok := <-sess.decide:
				return ok
			case <-time.After(confirmWait):
			case <-s.closing:
			case <-ctx.Done():
			}
			return false
		})
		sess.done <- acceptResult{d, err}
	}()
	defer stop()
	var safety string
	select {
	case safety = <-sess.safety:
	case res := <-sess.done:
		s.fail(w, r, res.err)
		return
	}
	if req.Yes {
		s.finishAccept(w, r, sess, safety)
		return
	}
	id := rand.Text()
	sess.shown = safety
	s.accepts.mu.Lock()
	if s.accepts.m == nil {
		s.accepts.m = make(map[string]*acceptSession)
	}
	s.accepts.m[id] = sess
	s.accepts.mu.Unlock()
	time.AfterFunc(confirmWait, func() { s.accepts.take(id) })
	writeJSON(w, http.StatusAccepted, apitype.AcceptLinkView{Safety: safety, Session: id})
}

// take removes and returns a session (nil when gone).
func (a *acceptSessions) take(id string) *acceptSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	sess := a.m[id]
	delete(a.m, id)
	return sess
}

// handleConfirmLink answers POST /api/v1/devices/accept/confirm
// {session, confirm}: the link's outcome.
func (s *Server) handleConfirmLink(w http.ResponseWriter, r *http.Request) {
	if s.noLinker(w) {
		return
	}
	var req apitype.ConfirmLinkRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sess := s.accepts.take(req.Session)
	if sess == nil {
		writeError(w, &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound,
			Message: "no link waits for confirmation under this session: it ended, or its two minutes ran out"})
		return
	}
	sess.decide <- req.Confirm
	s.finishAccept(w, r, sess, sess.shown)
}

// finishAccept waits for an accept's outcome and answers it.
func (s *Server) finishAccept(w http.ResponseWriter, r *http.Request, sess *acceptSession, safety string) {
	select {
	case res := <-sess.done:
		if res.err != nil {
			s.fail(w, r, res.err)
			return
		}
		v := apitype.NewDeviceView(res.device)
		writeJSON(w, http.StatusOK, apitype.AcceptLinkView{Safety: safety, Device: &v})
	case <-r.Context().Done():
	}
}
