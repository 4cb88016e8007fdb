package localapi

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// eventWriteTimeout bounds one frame's write, so a client that stops
// reading cannot pin the handler.
const eventWriteTimeout = 10 * time.Second

// handleEvents streams the node's events over a WebSocket, one JSON
// apitype.EventView per frame, until the client goes, the node's channel
// closes (node stopped, or this reader fell behind), the server stops or
// the browser session it was opened with is revoked.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	// Counted before the upgrade: until then Shutdown tracks the
	// connection itself, so this Add always precedes Serve's Wait.
	s.streams.Add(1)
	defer s.streams.Done()

	// Subscribe before the handshake completes: a client that acts right
	// after connecting must not miss the events its action causes.
	subCtx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel() // ends the subscription
	events := s.events.Subscribe(subCtx)

	// A browser's stream lasts as long as its session. Watched before the
	// check: a revocation in between still wakes the loop.
	revoked := s.sessions.watch()
	browser := r.Header.Get("Authorization") == ""
	if browser {
		if _, ok := s.browserSession(r); !ok {
			writeError(w, errUnauthorized)
			return
		}
	}

	// guard has already refused foreign origins; Accept's own check (Origin
	// host must equal Host) agrees with it, so it stays on.
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Debug("websocket accept", "err", err)
		return
	}
	defer c.CloseNow()

	// The client sends nothing; CloseRead answers its pings and close
	// frame and cancels clientCtx when it goes.
	clientCtx := c.CloseRead(subCtx)

	for {
		select {
		case <-clientCtx.Done():
			return
		case <-s.stopStreams:
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-revoked:
			revoked = s.sessions.watch()
			if _, ok := s.browserSession(r); browser && !ok {
				c.Close(websocket.StatusPolicyViolation, "logged out")
				return
			}
		case ev, ok := <-events:
			if !ok {
				c.Close(websocket.StatusGoingAway, "event stream ended")
				return
			}
			wctx, wcancel := context.WithTimeout(clientCtx, eventWriteTimeout)
			err := wsjson.Write(wctx, c, s.eventView(clientCtx, ev))
			wcancel()
			if err != nil {
				s.log.Debug("websocket write", "err", err)
				return
			}
		}
	}
}

func (s *Server) eventView(ctx context.Context, ev parley.Event) apitype.EventView {
	v := apitype.EventView{Type: ev.Type, PeerID: ev.PeerID, Online: ev.Online, Conversation: ev.Conversation, Reason: ev.Reason, Typing: ev.Typing}
	if ev.Disk != nil {
		v.Disk = apitype.NewDiskView(*ev.Disk)
	}
	if ev.Link != nil {
		lv := apitype.NewLinkStatusView(*ev.Link)
		v.Link = &lv
	}
	if ev.Message == nil && ev.Group == nil && ev.File == nil {
		return v
	}
	n := s.newNamer(ctx)
	if ev.Message != nil {
		if n.isGroupMessage(*ev.Message) {
			n.addMembers(ev.Message.Conversation.String())
		}
		mv := n.messageView(*ev.Message)
		v.Message = &mv
	}
	if ev.Group != nil {
		gv := n.groupView(*ev.Group)
		v.Group = &gv
	}
	if ev.File != nil {
		fv := n.fileView(*ev.File)
		v.File = &fv
	}
	return v
}
