// Package client is a Go client for Parley's local API, for the CLI, tests
// and bots. Open finds a running node through the data dir's api.json; every
// method maps to one endpoint and returns the API's views (package gui/apitype).
//
// Errors from the API come back as *apitype.Error, carrying the server's
// one-line message and status code; they unwrap to the domain sentinel, so
// errors.Is(err, parley.ErrUnknownContact) works across the wire. A node
// that is not running gives an error wrapping ErrNotRunning.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// ErrNotRunning: no node serves the data dir (no api.json, or nothing
// listens where it points).
var ErrNotRunning = parley.ErrNotRunning

// The API's views, re-exported so callers need not import gui/apitype for
// the names.
type (
	SelfView          = apitype.SelfView
	ContactView       = apitype.ContactView
	MessageView       = apitype.MessageView
	ConversationView  = apitype.ConversationView
	GroupView         = apitype.GroupView
	GroupMemberView   = apitype.GroupMemberView
	FileView          = apitype.FileView
	EventView         = apitype.EventView
	PeerView          = apitype.PeerView
	NetworkStatusView = apitype.NetworkStatusView
	ConnectedPeerView = apitype.ConnectedPeerView
	SettingsView      = apitype.SettingsView
	PassphraseView    = apitype.PassphraseView
	MailboxView       = apitype.MailboxView
	SafetyScanView    = apitype.SafetyScanView
)

// Client talks to one node's API. It is safe for concurrent use.
//
// A client opened on a data dir (Open) follows its node across restarts:
// the node writes a fresh token (and maybe a new port) to api.json on
// every start, so a request refused for its token, or a send whose
// connection broke, reads api.json again before it is retried.
type Client struct {
	dataDir string // for api.json and the not-running message; may be empty
	http    *http.Client

	mu    sync.Mutex
	base  *url.URL // guarded by mu; http://127.0.0.1:PORT
	token string   // guarded by mu
}

// Open reads dataDir's api.json and returns a client for the node it names.
// It does not dial: a stale file (the node crashed) shows on the first call
// as ErrNotRunning.
func Open(dataDir string) (*Client, error) {
	f, err := readAPIFile(dataDir)
	if err != nil {
		return nil, err
	}
	c, err := New(f.URL, f.Token)
	if err != nil {
		return nil, fmt.Errorf("read API file %s: %w", filepath.Join(dataDir, apitype.FileName), err)
	}
	c.dataDir = dataDir
	return c, nil
}

// readAPIFile reads dataDir's api.json; a missing one is ErrNotRunning.
func readAPIFile(dataDir string) (apitype.File, error) {
	var f apitype.File
	path := filepath.Join(dataDir, apitype.FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, &notRunningError{dataDir: dataDir, cause: err}
	}
	if err != nil {
		return f, fmt.Errorf("read API file: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("read API file %s: %w", path, err)
	}
	return f, nil
}

// New returns a client for the API at baseURL (as in api.json) with token.
func New(baseURL, token string) (*Client, error) {
	u, err := parseAPIFile(baseURL, token)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the API is on loopback; a proxy could only get in the way
	return &Client{base: u, token: token, http: &http.Client{Transport: t}}, nil
}

func parseAPIFile(baseURL, token string) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("API URL %q is not an http://host:port URL", baseURL)
	}
	if token == "" {
		return nil, errors.New("API token is empty")
	}
	u.Path = ""
	return u, nil
}

// endpoint is where the node is and the token it wants, as last read.
func (c *Client) endpoint() (*url.URL, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base, c.token
}

// reload reads api.json again (a client opened on a data dir only) and
// reports whether it names another node than the one we used: the node
// restarted. A missing api.json is ErrNotRunning.
func (c *Client) reload() (changed bool, err error) {
	if c.dataDir == "" {
		return false, nil
	}
	f, err := readAPIFile(c.dataDir)
	if err != nil {
		return false, err
	}
	u, err := parseAPIFile(f.URL, f.Token)
	if err != nil {
		return false, fmt.Errorf("read API file %s: %w", filepath.Join(c.dataDir, apitype.FileName), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed = f.Token != c.token || u.String() != c.base.String()
	c.base, c.token = u, f.Token
	return changed, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// NewLoginURL asks the node for a fresh one-time URL that logs a browser in.
func (c *Client) NewLoginURL(ctx context.Context) (string, error) {
	var v struct {
		URL string `json:"url"`
	}
	err := c.do(ctx, http.MethodPost, apitype.PathLogin, nil, nil, &v)
	return v.URL, err
}

// LogoutAll ends every browser's session: each must log in again.
func (c *Client) LogoutAll(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, apitype.PathLogoutAll, nil, nil, nil)
}

// Self describes the node.
func (c *Client) Self(ctx context.Context) (SelfView, error) {
	var v SelfView
	return v, c.do(ctx, http.MethodGet, apitype.PathSelf, nil, nil, &v)
}

// SetName changes the node's display name and returns who the node is now.
func (c *Client) SetName(ctx context.Context, name string) (SelfView, error) {
	var v SelfView
	return v, c.do(ctx, http.MethodPut, apitype.PathSelf, nil, apitype.SetNameRequest{Name: name}, &v)
}

// ResetInvite makes a new invite secret: short codes given out before stop
// working. It returns who we are, with the new code.
func (c *Client) ResetInvite(ctx context.Context) (SelfView, error) {
	var v SelfView
	return v, c.do(ctx, http.MethodPost, apitype.PathSelfInvite, nil, nil, &v)
}

// Contacts lists accepted contacts.
func (c *Client) Contacts(ctx context.Context) ([]ContactView, error) {
	var v []ContactView
	return v, c.do(ctx, http.MethodGet, apitype.PathContacts, nil, nil, &v)
}

// AddContact adds the contact whose invite code is given; a non-empty name
// overrides the one on the card.
func (c *Client) AddContact(ctx context.Context, invite, name string) (ContactView, error) {
	var v ContactView
	return v, c.do(ctx, http.MethodPost, apitype.PathContacts, nil, apitype.AddContactRequest{Invite: invite, Name: name}, &v)
}

// Requests lists strangers who wrote first.
func (c *Client) Requests(ctx context.Context) ([]ContactView, error) {
	var v []ContactView
	return v, c.do(ctx, http.MethodGet, apitype.PathRequests, nil, nil, &v)
}

// Accept turns the request from peerID into a contact.
func (c *Client) Accept(ctx context.Context, peerID string) (ContactView, error) {
	var v ContactView
	path := apitype.PathRequests + "/" + url.PathEscape(peerID) + "/accept"
	return v, c.do(ctx, http.MethodPost, path, nil, nil, &v)
}

// SetVerified marks a contact (name or peer ID) verified, or not.
func (c *Client) SetVerified(ctx context.Context, contact string, verified bool) (ContactView, error) {
	var v ContactView
	path := apitype.PathContacts + "/" + url.PathEscape(contact) + "/verify"
	return v, c.do(ctx, http.MethodPost, path, nil, apitype.VerifyRequest{Verified: verified}, &v)
}

// ScanSafetyQR sends an image (JPEG or PNG, at most apitype.MaxScanBytes)
// of the QR code a contact's Parley shows for us. The answer's Result says
// what it held (apitype.ScanMatch and the others); a match marks the
// contact verified, anything else changes nothing.
func (c *Client) ScanSafetyQR(ctx context.Context, contact string, image []byte) (SafetyScanView, error) {
	var v SafetyScanView
	path := apitype.PathContacts + "/" + url.PathEscape(contact) + "/safety/scan"
	ctype := http.DetectContentType(image)
	return v, c.send(ctx, http.MethodPost, path, nil, bytes.NewReader(image), int64(len(image)), ctype, &v)
}

// Conversations lists conversations, with unread counts.
func (c *Client) Conversations(ctx context.Context) ([]ConversationView, error) {
	var v []ConversationView
	return v, c.do(ctx, http.MethodGet, apitype.PathConversations, nil, nil, &v)
}

// Messages returns page p (parley.Page) of the conversation with a contact
// (name or peer ID), in display order. markRead marks them read, as
// viewing does.
func (c *Client) Messages(ctx context.Context, with string, p parley.Page, markRead bool) ([]MessageView, error) {
	q := pageQuery(p, markRead)
	q.Set("with", with)
	var v []MessageView
	return v, c.do(ctx, http.MethodGet, apitype.PathMessages, q, nil, &v)
}

// Send sends text to a contact (name or peer ID). It returns once the node
// has stored the message, not when it is delivered.
//
// Send is safe to retry: it picks a client ID for the message, and when a
// try's outcome is unknown (the connection broke mid-request, the node
// restarted) it tries again with the same ID until ctx ends; the node
// stores the message once and answers every try with it.
func (c *Client) Send(ctx context.Context, to, text string) (MessageView, error) {
	return c.SendRequest(ctx, apitype.SendRequest{To: to, Text: text})
}

// SendRequest is Send with the request as given: a bot that keeps its
// client IDs (across its own restarts, say) sets req.ClientID; left empty,
// a fresh one is picked.
func (c *Client) SendRequest(ctx context.Context, req apitype.SendRequest) (MessageView, error) {
	var v MessageView
	if err := checkTextSize(req.Text); err != nil {
		return v, err
	}
	if req.ClientID == "" {
		req.ClientID = parley.NewClientID().String()
	}
	return v, c.retrySend(ctx, func() error {
		return c.do(ctx, http.MethodPost, apitype.PathMessages, nil, req, &v)
	})
}

// checkTextSize refuses an oversized text before it is sent, so that it
// gets its own error rather than the server's generic "request body too
// large".
func checkTextSize(text string) error {
	if len(text) > parley.MaxTextBytes {
		return fmt.Errorf("%w (%d bytes, the limit is %d)", parley.ErrTextTooLong, len(text), parley.MaxTextBytes)
	}
	return nil
}

// GROUP arguments below are a group ID or an unambiguous group name;
// CONTACT and MEMBER arguments a contact name or a peer ID.

// CreateGroup starts a group with us as its only member and admin;
// history "" is the default (hidden).
func (c *Client) CreateGroup(ctx context.Context, name string, history parley.GroupHistory) (GroupView, error) {
	var v GroupView
	return v, c.do(ctx, http.MethodPost, apitype.PathGroups, nil, apitype.CreateGroupRequest{Name: name, History: history}, &v)
}

// Groups lists the groups we belong to or belonged to, most recent first.
func (c *Client) Groups(ctx context.Context) ([]GroupView, error) {
	var v []GroupView
	return v, c.do(ctx, http.MethodGet, apitype.PathGroups, nil, nil, &v)
}

// GroupInvites lists the groups we are invited to and have not answered.
func (c *Client) GroupInvites(ctx context.Context) ([]GroupView, error) {
	var v []GroupView
	return v, c.do(ctx, http.MethodGet, apitype.PathGroupInvites, nil, nil, &v)
}

// InviteToGroup invites a contact to a group (admins only).
func (c *Client) InviteToGroup(ctx context.Context, group, contact string) (GroupMemberView, error) {
	var v GroupMemberView
	return v, c.do(ctx, http.MethodPost, groupPath(group, "invite"), nil, apitype.InviteToGroupRequest{Contact: contact}, &v)
}

// AcceptGroup joins a group we were invited to.
func (c *Client) AcceptGroup(ctx context.Context, group string) (GroupView, error) {
	var v GroupView
	return v, c.do(ctx, http.MethodPost, groupPath(group, "accept"), nil, nil, &v)
}

// DeclineGroup turns an invitation down.
func (c *Client) DeclineGroup(ctx context.Context, group string) error {
	return c.do(ctx, http.MethodPost, groupPath(group, "decline"), nil, nil, nil)
}

// GroupMembers lists a group's members, admins first.
func (c *Client) GroupMembers(ctx context.Context, group string) ([]GroupMemberView, error) {
	var v []GroupMemberView
	return v, c.do(ctx, http.MethodGet, groupPath(group, "members"), nil, nil, &v)
}

// RemoveFromGroup removes a member (admins only); the member reads nothing
// sent after.
func (c *Client) RemoveFromGroup(ctx context.Context, group, member string) error {
	return c.do(ctx, http.MethodDelete, groupPath(group, "members", member), nil, nil, nil)
}

// SetGroupRole makes a member an admin or a plain member (admins only); the
// node refuses any other role with parley.ErrMalformed.
func (c *Client) SetGroupRole(ctx context.Context, group, member string, role parley.Role) (GroupMemberView, error) {
	var v GroupMemberView
	return v, c.do(ctx, http.MethodPost, groupPath(group, "members", member, "role"), nil, apitype.SetGroupRoleRequest{Role: role}, &v)
}

// SetGroupHistory sets whether members read what was written before they
// joined (admins only).
func (c *Client) SetGroupHistory(ctx context.Context, group string, h parley.GroupHistory) (GroupView, error) {
	var v GroupView
	return v, c.do(ctx, http.MethodPost, groupPath(group, "history"), nil, apitype.GroupHistoryRequest{History: h}, &v)
}

// RenameGroup renames a group (admins only).
func (c *Client) RenameGroup(ctx context.Context, group, name string) (GroupView, error) {
	var v GroupView
	return v, c.do(ctx, http.MethodPost, groupPath(group, "rename"), nil, apitype.RenameGroupRequest{Name: name}, &v)
}

// LeaveGroup leaves a group; its history stays readable.
func (c *Client) LeaveGroup(ctx context.Context, group string) error {
	return c.do(ctx, http.MethodPost, groupPath(group, "leave"), nil, nil, nil)
}

// SendToGroup sends text to a group. It returns once the node has stored
// the message, not when it is delivered. It is safe to retry, as Send.
func (c *Client) SendToGroup(ctx context.Context, group, text string) (MessageView, error) {
	return c.SendToGroupRequest(ctx, group, apitype.GroupSendRequest{Text: text})
}

// SendToGroupRequest is SendToGroup with the request as given, as
// SendRequest.
func (c *Client) SendToGroupRequest(ctx context.Context, group string, req apitype.GroupSendRequest) (MessageView, error) {
	var v MessageView
	if err := checkTextSize(req.Text); err != nil {
		return v, err
	}
	if req.ClientID == "" {
		req.ClientID = parley.NewClientID().String()
	}
	return v, c.retrySend(ctx, func() error {
		return c.do(ctx, http.MethodPost, groupPath(group, "messages"), nil, req, &v)
	})
}

// GroupMessages returns page p (parley.Page) of a group's messages, in
// display order. markRead marks them read, as viewing does.
func (c *Client) GroupMessages(ctx context.Context, group string, p parley.Page, markRead bool) ([]MessageView, error) {
	var v []MessageView
	return v, c.do(ctx, http.MethodGet, groupPath(group, "messages"), pageQuery(p, markRead), nil, &v)
}

// pageQuery is the query that asks for page p of a conversation, marked
// read when markRead (which the API refuses together with Before).
func pageQuery(p parley.Page, markRead bool) url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Before != nil {
		q.Set("before", p.Before.String())
	}
	if p.After != nil {
		q.Set("after", p.After.String())
	}
	if markRead {
		q.Set("read", "true")
	}
	return q
}

// groupPath is /api/v1/groups/GROUP/ELEM..., path-escaped: a group's name
// may hold spaces, slashes or anything else.
func groupPath(group string, elems ...string) string {
	p := apitype.PathGroups + "/" + escapeSegment(group)
	for _, e := range elems {
		p += "/" + escapeSegment(e)
	}
	return p
}

// escapeSegment escapes s as one path segment. "." and ".." are escaped
// too, or they would be read as the current and parent directory.
func escapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// Peers lists connected peers.
func (c *Client) Peers(ctx context.Context) ([]PeerView, error) {
	var v []PeerView
	return v, c.do(ctx, http.MethodGet, apitype.PathPeers, nil, nil, &v)
}

// Status reports the node's network state.
func (c *Client) Status(ctx context.Context) (NetworkStatusView, error) {
	var v NetworkStatusView
	return v, c.do(ctx, http.MethodGet, apitype.PathStatus, nil, nil, &v)
}

// Files are named by their ID (32 hex characters), as FileView.ID gives it.

// SendFile offers the file at path to a contact or a group (a name, a peer
// ID or a group ID). The node reads the file where it lies, so path must
// be absolute and on the node's machine; relative paths are made absolute
// here. It returns once the offer is stored, not when the file has
// arrived: follow it with File or the event stream.
func (c *Client) SendFile(ctx context.Context, to, path string) (FileView, error) {
	var v FileView
	abs, err := filepath.Abs(path)
	if err != nil {
		return v, err
	}
	return v, c.do(ctx, http.MethodPost, apitype.PathFiles, nil, apitype.SendFileRequest{To: to, Path: abs}, &v)
}

// Upload offers the bytes of body as a file named name to a contact or a
// group: for a file the node cannot read where it is. The node keeps a
// copy in its data dir and serves it from there. size is body's length,
// or -1 when unknown.
func (c *Client) Upload(ctx context.Context, to, name string, body io.Reader, size int64) (FileView, error) {
	var v FileView
	q := url.Values{"to": {to}, "name": {name}}
	return v, c.send(ctx, http.MethodPost, apitype.PathFileUpload, q, body, size, "application/octet-stream", &v)
}

// Files lists the files offered by us and to us, newest first.
func (c *Client) Files(ctx context.Context) ([]FileView, error) {
	var v []FileView
	return v, c.do(ctx, http.MethodGet, apitype.PathFiles, nil, nil, &v)
}

// File describes one file, with its progress now.
func (c *Client) File(ctx context.Context, id string) (FileView, error) {
	var v FileView
	return v, c.do(ctx, http.MethodGet, filePath(id, ""), nil, nil, &v)
}

// AcceptFile fetches a file offered to us (or tries again after a
// failure). It returns at once; the download goes on in the node.
func (c *Client) AcceptFile(ctx context.Context, id string) (FileView, error) {
	var v FileView
	return v, c.do(ctx, http.MethodPost, filePath(id, "accept"), nil, nil, &v)
}

// CancelFile stops a transfer: ours is no longer served, theirs stops and
// its partial data is deleted.
func (c *Client) CancelFile(ctx context.Context, id string) (FileView, error) {
	var v FileView
	return v, c.do(ctx, http.MethodPost, filePath(id, "cancel"), nil, nil, &v)
}

// FileContent opens the bytes of a complete file; the caller closes them.
func (c *Client) FileContent(ctx context.Context, id string) (io.ReadCloser, error) {
	path := filePath(id, "content")
	req, err := c.request(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(http.MethodGet, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp.Body, nil
}

func filePath(id, action string) string {
	p := apitype.PathFiles + "/" + escapeSegment(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// Settings reports the user's settings.
func (c *Client) Settings(ctx context.Context) (SettingsView, error) {
	var v SettingsView
	return v, c.do(ctx, http.MethodGet, apitype.PathSettings, nil, nil, &v)
}

// SetAutoAccept sets the size up to which files from contacts are fetched
// without asking (0 or -1: never) and returns the new settings.
func (c *Client) SetAutoAccept(ctx context.Context, limit int64) (SettingsView, error) {
	return c.ChangeSettings(ctx, apitype.SettingsRequest{AutoAcceptBytes: &limit})
}

// SetPublicDHT joins (on) or leaves the public IPFS DHT, now and after
// restarts, and returns the new settings. Joining is
// parley.ErrPrivateNetwork for a node with a swarm key.
func (c *Client) SetPublicDHT(ctx context.Context, on bool) (SettingsView, error) {
	return c.ChangeSettings(ctx, apitype.SettingsRequest{PublicDHT: &on})
}

// SetMailboxService starts (on) or stops the node's mailbox service ("Hold
// mail for others"), now and after restarts; parley.ErrSetAtStart when a
// `parley run` flag set it for this run.
func (c *Client) SetMailboxService(ctx context.Context, on bool) (SettingsView, error) {
	return c.ChangeSettings(ctx, apitype.SettingsRequest{MailboxService: &on})
}

// ChangeSettings changes the settings req names, in one request, and
// returns the new settings.
func (c *Client) ChangeSettings(ctx context.Context, req apitype.SettingsRequest) (SettingsView, error) {
	var v SettingsView
	return v, c.do(ctx, http.MethodPut, apitype.PathSettings, nil, req, &v)
}

// Passphrase reports whether a passphrase protects the node's keystore.
func (c *Client) Passphrase(ctx context.Context) (PassphraseView, error) {
	var v PassphraseView
	return v, c.do(ctx, http.MethodGet, apitype.PathPassphrase, nil, nil, &v)
}

// SetPassphrase seals the node's keystore with newPass, after opening it
// with old (empty when none is set): parley.ErrWrongPassphrase when old is
// wrong, and then nothing changes. Every start of the node then needs
// newPass.
func (c *Client) SetPassphrase(ctx context.Context, old, newPass string) (PassphraseView, error) {
	var v PassphraseView
	return v, c.do(ctx, http.MethodPut, apitype.PathPassphrase, nil, apitype.PassphraseRequest{Old: old, New: newPass}, &v)
}

// RemovePassphrase leaves the node's keystore in clear, after opening it
// with old: parley.ErrWrongPassphrase when old is wrong.
func (c *Client) RemovePassphrase(ctx context.Context, old string) (PassphraseView, error) {
	var v PassphraseView
	return v, c.do(ctx, http.MethodDelete, apitype.PathPassphrase, nil, apitype.PassphraseRequest{Old: old}, &v)
}

// Backup has the node stream an encrypted backup of itself (sealed with
// passphrase) into w. It returns nil only once the whole backup arrived: a
// node that failed mid-way cuts the connection, which is an error here, and
// w then holds a truncated backup, which restoring refuses.
func (c *Client) Backup(ctx context.Context, passphrase string, w io.Writer) error {
	body, err := json.Marshal(apitype.BackupRequest{Passphrase: passphrase})
	if err != nil {
		return err
	}
	req, err := c.request(ctx, http.MethodPost, apitype.PathBackup, nil, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(http.MethodPost, apitype.PathBackup, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// do sends one request with in (if not nil) as its JSON body and decodes
// the answer into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, query, nil, 0, "", out)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Escaping <, > and & would make text up to six times longer and push
	// a legal message past the body cap.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	// A bytes.Reader body can be sent again (Request.GetBody), as send
	// does after a restart of the node.
	return c.send(ctx, method, path, query, bytes.NewReader(buf.Bytes()), int64(buf.Len()), "application/json", out)
}

// send sends one request with body (size bytes, -1 if unknown, of type
// ctype) and decodes the answer into out. Refused for its token, it is
// sent once more if api.json now holds another (the node restarted since
// we read it; a refused request did nothing) and the body can be sent
// again.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body io.Reader, size int64, ctype string, out any) error {
	req, err := c.request(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && c.dataDir != "" && (body == nil || req.GetBody != nil) {
		changed, err := c.reload()
		if err != nil {
			return err // ErrNotRunning: the node stopped since
		}
		if changed {
			if body != nil {
				if body, err = req.GetBody(); err != nil {
					return err
				}
			}
			resp.Body.Close()
			return c.send(ctx, method, path, query, body, size, ctype, out)
		}
	}
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil { // 204 No Content
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

func (c *Client) request(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := c.url(path, query)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	_, token := c.endpoint()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// url is the URL of path, which is already escaped (its segments made with
// url.PathEscape), with query.
func (c *Client) url(path string, query url.Values) *url.URL {
	base, _ := c.endpoint()
	u := *base
	u.Path = path
	if p, err := url.PathUnescape(path); err == nil {
		// RawPath keeps an escaped "/" inside a segment from becoming a
		// separator, and stops a "%" from being escaped twice.
		u.Path, u.RawPath = p, path
	}
	u.RawQuery = query.Encode()
	return &u
}

// transportError turns "connection refused" into ErrNotRunning: api.json
// outlived its node (a crash or kill -9 leaves it behind).
func (c *Client) transportError(method, path string, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		base, _ := c.endpoint()
		return &notRunningError{dataDir: c.dataDir, url: base.String(), cause: err}
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

// readError decodes the API's error body; a body that is not one (a proxy,
// a different server) still gives a one-line error with the status.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &apitype.Error{}
	if err := json.Unmarshal(b, e); err != nil || e.Message == "" {
		e = &apitype.Error{Message: fmt.Sprintf("API answered %s", resp.Status)}
	}
	e.Status = resp.StatusCode
	return e
}

// notRunningError says how to start the node the user meant to reach.
type notRunningError struct {
	dataDir string
	url     string
	cause   error
}

func (e *notRunningError) Error() string {
	if e.dataDir == "" {
		return fmt.Sprintf("parley is not running at %s", e.url)
	}
	return fmt.Sprintf("parley is not running for data dir %s (start it with: parley --data %s)", e.dataDir, e.dataDir)
}

func (e *notRunningError) Unwrap() []error { return []error{parley.ErrNotRunning, e.cause} }

// Mailboxes lists the user's mailboxes.
func (c *Client) Mailboxes(ctx context.Context) ([]MailboxView, error) {
	var v []MailboxView
	return v, c.do(ctx, http.MethodGet, apitype.PathMailboxes, nil, nil, &v)
}

// AddMailbox registers with the mailbox at addr (a multiaddr ending in
// /p2p/ID, or its node's invite) and adds it; parley.ErrMailboxUnavailable
// when the mailbox is unreachable or refuses.
func (c *Client) AddMailbox(ctx context.Context, addr string) (MailboxView, error) {
	var v MailboxView
	return v, c.do(ctx, http.MethodPost, apitype.PathMailboxes, nil, apitype.AddMailboxRequest{Addr: addr}, &v)
}

// RemoveMailbox takes the mailbox with this peer ID off the user's list.
func (c *Client) RemoveMailbox(ctx context.Context, peerID string) error {
	return c.do(ctx, http.MethodDelete, apitype.PathMailboxes+"/"+url.PathEscape(peerID), nil, nil, nil)
}

// ResetMailbox moves the mailbox with this peer ID (all of them for "")
// to a new deposit key, revoking every capability issued there.
func (c *Client) ResetMailbox(ctx context.Context, peerID string) ([]MailboxView, error) {
	var v []MailboxView
	return v, c.do(ctx, http.MethodPost, apitype.PathMailboxReset, nil, apitype.ResetMailboxRequest{PeerID: peerID}, &v)
}

// RevokeMailbox revokes (revoke) or restores the contact's (a name or a
// peer ID) capability to deposit at the user's mailboxes.
func (c *Client) RevokeMailbox(ctx context.Context, contact string, revoke bool) (ContactView, error) {
	var v ContactView
	method := http.MethodDelete
	if revoke {
		method = http.MethodPost
	}
	return v, c.do(ctx, method, apitype.PathContacts+"/"+url.PathEscape(contact)+"/mailbox-revocation", nil, nil, &v)
}

// OfferMailbox offers this node to hold the contact's mail (a name or a
// peer ID) and returns the offer as sent; parley.ErrMailboxServiceOff
// while the node's mailbox service is off.
func (c *Client) OfferMailbox(ctx context.Context, contact string) (MessageView, error) {
	var v MessageView
	return v, c.do(ctx, http.MethodPost, apitype.PathContacts+"/"+url.PathEscape(contact)+"/mailbox-offer", nil, nil, &v)
}

// AcceptMailboxOffer adds the mailbox a contact offered in message id,
// registering with it.
func (c *Client) AcceptMailboxOffer(ctx context.Context, id string) (MailboxView, error) {
	var v MailboxView
	return v, c.do(ctx, http.MethodPost, "/api/v1/mailbox-offers/"+url.PathEscape(id)+"/accept", nil, nil, &v)
}

// DismissMailboxOffer closes the offer in message id unanswered.
func (c *Client) DismissMailboxOffer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/mailbox-offers/"+url.PathEscape(id)+"/dismiss", nil, nil, nil)
}
