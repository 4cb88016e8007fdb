package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parley-im/parley/gui/apitype"
)

// maxEventBytes caps one event frame. A message event carries up to
// parley.MaxTextBytes of text, which JSON escaping can grow several times.
const maxEventBytes = 1 << 20

// Events is a live stream of the node's events. Read it with Next; Close it
// when done. It is not safe for concurrent Next calls.
type Events struct {
	conn *websocket.Conn
}

// Events opens the event stream.
func (c *Client) Events(ctx context.Context) (*Events, error) {
	_, token := c.endpoint()
	u := c.url(apitype.PathEvents, nil)
	u.Scheme = "ws"
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: c.http,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != nil {
			return nil, readError(resp)
		}
		return nil, c.transportError(http.MethodGet, apitype.PathEvents, err)
	}
	conn.SetReadLimit(maxEventBytes)
	return &Events{conn: conn}, nil
}

// Next waits for the next event. It returns io.EOF when the server ends
// the stream (the node stopped, or this reader fell too far behind and
// should reconnect and reload what it shows). A WebSocket read cannot be
// abandoned halfway, so when ctx ends the stream is closed as well.
func (e *Events) Next(ctx context.Context) (EventView, error) {
	var v EventView
	err := wsjson.Read(ctx, e.conn, &v)
	if err == nil {
		return v, nil
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return v, io.EOF
	}
	if ctx.Err() != nil {
		return v, fmt.Errorf("event stream: %w", ctx.Err())
	}
	return v, fmt.Errorf("event stream: %w", err)
}

// Close ends the stream.
func (e *Events) Close() error {
	err := e.conn.Close(websocket.StatusNormalClosure, "")
	if errors.Is(err, net.ErrClosed) {
		return nil // the server closed it first
	}
	return err
}
