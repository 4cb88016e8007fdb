package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/internal/netns"
)

// api is a client of one node's local API, which listens on loopback in
// the node's namespace: its connections are made there (netns.Dial). It
// reads api.json on every call, so it follows the node across restarts.
// (gui/client does all this but dials from the test's own namespace.)
type api struct {
	dir  string
	http *http.Client
}

func newAPI(ns, dir string) *api {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return netns.Dial(ctx, ns, network, addr)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &api{dir: dir, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Errors by what they say about a request's outcome.
var (
	// errDown: no node answered; the request was not carried out.
	errDown = errors.New("node not running")
)

// apiError is the API's answer to a request it did not carry out (4xx)
// or failed at (5xx).
type apiError struct {
	status int
	body   apitype.Error
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.body.Code, e.body.Message)
}

// unknownOutcome: the request may or may not have been carried out.
func unknownOutcome(err error) bool {
	var ae *apiError
	switch {
	case err == nil, errors.Is(err, errDown):
		return false
	case errors.As(err, &ae):
		return ae.status >= 500
	}
	return true
}

func (a *api) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	b, err := os.ReadFile(filepath.Join(a.dir, apitype.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return errDown
	} else if err != nil {
		return err
	}
	var f apitype.File
	if err := json.Unmarshal(b, &f); err != nil {
		return errDown // half written: starting
	}
	u, err := url.Parse(f.URL)
	if err != nil {
		return err
	}
	u.Path = path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+f.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return errDown
	} else if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return errDown // api.json was stale: a node is starting with a new token
	}
	if resp.StatusCode >= 300 {
		e := &apiError{status: resp.StatusCode}
		json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e.body)
		return e
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (a *api) self(ctx context.Context) (v apitype.SelfView, err error) {
	return v, a.do(ctx, http.MethodGet, apitype.PathSelf, nil, nil, &v)
}

func (a *api) addContact(ctx context.Context, invite, name string) error {
	return a.do(ctx, http.MethodPost, apitype.PathContacts, nil, apitype.AddContactRequest{Invite: invite, Name: name}, nil)
}

func (a *api) send(ctx context.Context, to, text, clientID string) (v apitype.MessageView, err error) {
	return v, a.do(ctx, http.MethodPost, apitype.PathMessages, nil, apitype.SendRequest{To: to, Text: text, ClientID: clientID}, &v)
}

func (a *api) groupSend(ctx context.Context, group, text, clientID string) (v apitype.MessageView, err error) {
	return v, a.do(ctx, http.MethodPost, groupPath(group, "messages"), nil, apitype.GroupSendRequest{Text: text, ClientID: clientID}, &v)
}

func (a *api) sendFile(ctx context.Context, to, path string) (v apitype.FileView, err error) {
	return v, a.do(ctx, http.MethodPost, apitype.PathFiles, nil, apitype.SendFileRequest{To: to, Path: path}, &v)
}

// messages is the whole conversation with a contact, not marked read.
func (a *api) messages(ctx context.Context, with string) (v []apitype.MessageView, err error) {
	return v, a.do(ctx, http.MethodGet, apitype.PathMessages, url.Values{"with": {with}}, nil, &v)
}

// groupMessages is the whole group conversation, not marked read.
func (a *api) groupMessages(ctx context.Context, group string) (v []apitype.MessageView, err error) {
	return v, a.do(ctx, http.MethodGet, groupPath(group, "messages"), nil, nil, &v)
}

func (a *api) files(ctx context.Context) (v []apitype.FileView, err error) {
	return v, a.do(ctx, http.MethodGet, apitype.PathFiles, nil, nil, &v)
}

func (a *api) createGroup(ctx context.Context, name string) error {
	return a.do(ctx, http.MethodPost, apitype.PathGroups, nil, apitype.CreateGroupRequest{Name: name}, nil)
}

func (a *api) inviteToGroup(ctx context.Context, group, contact string) error {
	return a.do(ctx, http.MethodPost, groupPath(group, "invite"), nil, apitype.InviteToGroupRequest{Contact: contact}, nil)
}

func (a *api) groupInvites(ctx context.Context) (v []apitype.GroupView, err error) {
	return v, a.do(ctx, http.MethodGet, apitype.PathGroupInvites, nil, nil, &v)
}

func (a *api) acceptGroup(ctx context.Context, group string) error {
	return a.do(ctx, http.MethodPost, groupPath(group, "accept"), nil, nil, nil)
}

func (a *api) groups(ctx context.Context) (v []apitype.GroupView, err error) {
	return v, a.do(ctx, http.MethodGet, apitype.PathGroups, nil, nil, &v)
}

func groupPath(group string, elem string) string {
	return apitype.PathGroups + "/" + url.PathEscape(group) + "/" + elem
}
