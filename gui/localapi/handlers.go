package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// route is one endpoint. The table in routes is the API at a glance.
type route struct {
	method, path string
	handle       http.HandlerFunc
}

// routeTable is every route the API serves; openapi.json describes each
// (TestOpenAPIRoutes holds the two together).
func (s *Server) routeTable() []route {
	return []route{
		{http.MethodGet, "/{$}", s.handleIndex},
		{http.MethodGet, apitype.PathSelf, s.handleSelf},
		{http.MethodPut, apitype.PathSelf, s.handleSetName},
		{http.MethodGet, apitype.PathSelfQR, s.handleSelfQR},
		{http.MethodPost, apitype.PathSelfInvite, s.handleResetInvite},
		{http.MethodGet, apitype.PathDevices, s.handleDevices},
		{http.MethodPost, apitype.PathLink, s.handleStartLink},
		{http.MethodGet, apitype.PathLink, s.handleLinkStatus},
		{http.MethodPost, apitype.PathAcceptLink, s.handleAcceptLink},
		{http.MethodPost, apitype.PathConfirmLink, s.handleConfirmLink},
		{http.MethodGet, apitype.PathContacts, s.handleContacts},
		{http.MethodPost, apitype.PathContacts, s.handleAddContact},
		{http.MethodGet, apitype.PathPendingContacts, s.handlePendingContacts},
		{http.MethodDelete, apitype.PathPendingContact, s.handleCancelPending},
		{http.MethodGet, apitype.PathRequests, s.handleRequests},
		{http.MethodPost, apitype.PathAccept, s.handleAccept},
		{http.MethodPost, apitype.PathVerify, s.handleVerify},
		{http.MethodGet, apitype.PathSafetyQR, s.handleSafetyQR},
		{http.MethodPost, apitype.PathSafetyScan, s.handleSafetyScan},
		{http.MethodGet, apitype.PathConversations, s.handleConversations},
		{http.MethodGet, apitype.PathMessages, s.handleMessages},
		{http.MethodPost, apitype.PathMessages, s.handleSend},
		{http.MethodPost, apitype.PathActions, s.handleAction},
		{http.MethodPost, apitype.PathTyping, s.handleTyping},
		{http.MethodGet, apitype.PathMessageInfo, s.handleMessageInfo},
		{http.MethodGet, apitype.PathTimer, s.handleTimer},
		{http.MethodPut, apitype.PathTimer, s.handleSetTimer},
		{http.MethodGet, apitype.PathSearch, s.handleSearch},
		{http.MethodGet, apitype.PathPeers, s.handlePeers},
		{http.MethodGet, apitype.PathStatus, s.handleStatus},
		{http.MethodGet, apitype.PathGroups, s.handleGroups},
		{http.MethodPost, apitype.PathGroups, s.handleCreateGroup},
		{http.MethodGet, apitype.PathGroupInvites, s.handleGroupInvites},
		{http.MethodPost, apitype.PathGroupInvite, s.handleInviteToGroup},
		{http.MethodPost, apitype.PathGroupAccept, s.handleAcceptGroup},
		{http.MethodPost, apitype.PathGroupDecline, s.handleDeclineGroup},
		{http.MethodPost, apitype.PathGroupLeave, s.handleLeaveGroup},
		{http.MethodGet, apitype.PathGroupMembers, s.handleGroupMembers},
		{http.MethodDelete, apitype.PathGroupMember, s.handleRemoveFromGroup},
		{http.MethodPost, apitype.PathGroupRole, s.handleSetGroupRole},
		{http.MethodPost, apitype.PathGroupRename, s.handleRenameGroup},
		{http.MethodPost, apitype.PathGroupHistory, s.handleGroupHistory},
		{http.MethodGet, apitype.PathGroupMessages, s.handleGroupMessages},
		{http.MethodPost, apitype.PathGroupMessages, s.handleGroupSend},
		{http.MethodGet, apitype.PathFiles, s.handleFiles},
		{http.MethodPost, apitype.PathFiles, s.handleSendFile},
		{http.MethodPost, apitype.PathFileUpload, s.handleUpload},
		{http.MethodGet, apitype.PathFile, s.handleFile},
		{http.MethodPost, apitype.PathFileAccept, s.handleAcceptFile},
		{http.MethodPost, apitype.PathFileCancel, s.handleCancelFile},
		{http.MethodGet, apitype.PathFileContent, s.handleFileContent},
		{http.MethodGet, apitype.PathSettings, s.handleSettings},
		{http.MethodPut, apitype.PathSettings, s.handleSetSettings},
		{http.MethodGet, apitype.PathMailboxes, s.handleMailboxes},
		{http.MethodPost, apitype.PathMailboxes, s.handleAddMailbox},
		{http.MethodDelete, apitype.PathMailbox, s.handleRemoveMailbox},
		{http.MethodPost, apitype.PathMailboxReset, s.handleResetMailbox},
		{http.MethodPost, apitype.PathMailboxRevocation, s.handleRevokeMailbox},
		{http.MethodDelete, apitype.PathMailboxRevocation, s.handleRevokeMailbox},
		{http.MethodPost, apitype.PathMailboxOffer, s.handleOfferMailbox},
		{http.MethodPost, apitype.PathMailboxOfferAccept, s.handleAcceptMailboxOffer},
		{http.MethodPost, apitype.PathMailboxOfferDismiss, s.handleDismissMailboxOffer},
		{http.MethodGet, apitype.PathPassphrase, s.handlePassphrase},
		{http.MethodPut, apitype.PathPassphrase, s.handleSetPassphrase},
		{http.MethodDelete, apitype.PathPassphrase, s.handleRemovePassphrase},
		{http.MethodPost, apitype.PathPassphraseSkip, s.handleSkipPassphrase},
		{http.MethodPost, apitype.PathBackup, s.handleBackup},
		{http.MethodGet, apitype.PathEvents, s.handleEvents},
		{http.MethodPost, apitype.PathLogin, s.handleNewLogin},
		{http.MethodPost, apitype.PathLogout, s.handleLogout},
		{http.MethodPost, apitype.PathLogoutAll, s.handleLogoutAll},
		{http.MethodGet, apitype.PathOpenAPI, s.handleOpenAPI},
		{http.MethodGet, apitype.PathBlocked, s.handleBlocked},
		{http.MethodPost, apitype.PathBlocked, s.handleBlock},
		{http.MethodDelete, apitype.PathBlockedPeer, s.handleUnblock},
		{http.MethodPost, apitype.PathConversationState, s.handleConversationState},
	}
}

func (s *Server) routes() http.Handler {
	table := s.routeTable()
	mux := http.NewServeMux()
	allowed := make(map[string][]string) // path → methods
	for _, rt := range table {
		mux.HandleFunc(rt.method+" "+rt.path, rt.handle)
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// Without these, ServeMux would answer a wrong method or an unknown
	// API path in plain text; API clients expect the JSON error body. They
	// name each other method rather than none: a pattern without a method
	// ("/api/v1/files/upload") would conflict with a route whose path is
	// less specific but whose method is not ("GET /api/v1/files/{id}").
	// Other methods fall through to the API's 404.
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		wrong := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, &apitype.Error{Status: http.StatusMethodNotAllowed, Code: apitype.CodeMethod,
				Message: r.Method + " not allowed here; use " + allow})
		}
		for _, m := range otherMethods(methods) {
			mux.HandleFunc(m+" "+path, wrong)
		}
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound,
			Message: "no such API endpoint: " + r.URL.Path})
	})
	return mux
}

// otherMethods are the usual methods a route does not take. GET covers
// HEAD.
func otherMethods(allowed []string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if !slices.Contains(allowed, m) && (m != http.MethodHead || !slices.Contains(allowed, http.MethodGet)) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) handleSelf(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.selfView(s.messages.Self()))
}

func (s *Server) selfView(self parley.Self) apitype.SelfView {
	return apitype.NewSelfView(self, s.defaultName == "" || self.Name != s.defaultName)
}

func (s *Server) handleSetName(w http.ResponseWriter, r *http.Request) {
	var req apitype.SetNameRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		s.fail(w, r, badRequest("no name given"))
		return
	}
	self, err := s.messages.SetName(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.selfView(self))
}

func (s *Server) handleResetInvite(w http.ResponseWriter, r *http.Request) {
	self, err := s.messages.ResetInvite(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.selfView(self))
}

func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request) {
	cs, err := s.messages.Contacts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.contactViews(cs))
}

func (s *Server) handleAddContact(w http.ResponseWriter, r *http.Request) {
	var req apitype.AddContactRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Invite) == "" {
		s.fail(w, r, fmt.Errorf("%w: no invite code given", parley.ErrInvalidInvite))
		return
	}
	c, warning, err := s.messages.AddContact(r.Context(), strings.TrimSpace(req.Invite), req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c.State == parley.ContactPending {
		// Kept, to be added once the inviter is reachable: no key yet,
		// so no safety number.
		writeJSON(w, http.StatusAccepted, apitype.NewContactView(c, false, ""))
		return
	}
	v := s.contactView(c)
	v.Warning = warning
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleRequests(w http.ResponseWriter, r *http.Request) {
	cs, err := s.messages.Requests(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.contactViews(cs))
}

func (s *Server) handleAccept(w http.ResponseWriter, r *http.Request) {
	c, err := s.messages.Accept(r.Context(), r.PathValue("peer"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.contactView(c))
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	var req apitype.VerifyRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.messages.SetVerified(r.Context(), r.PathValue("contact"), req.Verified)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.contactView(c))
}

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) {
	convs, err := s.messages.Conversations(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := s.newNamer(r.Context())
	views := make([]apitype.ConversationView, 0, len(convs))
	for _, c := range convs {
		name, online := c.Name, false // a group's
		if c.Peer != "" {
			name, online = n.name(c.Peer), s.network.Online(c.Peer)
		}
		views = append(views, apitype.NewConversationView(c, name, online, s.lastMessage(r.Context(), n, c)))
	}
	writeJSON(w, http.StatusOK, views)
}

// lastMessage is the newest message of a conversation, for the list's
// preview; nil if there is none or it cannot be read (the list still
// shows).
func (s *Server) lastMessage(ctx context.Context, n *namer, c parley.Conversation) *apitype.MessageView {
	var msgs []parley.Message
	var err error
	if c.Kind == parley.ConversationGroup {
		msgs, err = s.groups.GroupMessages(ctx, c.ID.String(), parley.Page{Limit: 1}, false)
		if err == nil && len(msgs) == 1 && !msgs[0].Outgoing {
			n.addMembers(c.ID.String())
		}
	} else {
		msgs, err = s.messages.Messages(ctx, c.Peer, parley.Page{Limit: 1}, false)
	}
	if err != nil {
		s.log.Debug("last message of a conversation", "conversation", c.ID, "err", err)
		return nil
	}
	if len(msgs) == 0 {
		return nil
	}
	v := n.messageView(msgs[len(msgs)-1])
	return &v
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, markRead, err := pageQuery(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	with, err := contactArg(q.Get("with"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgs, err := s.messages.Messages(r.Context(), with, p, markRead)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := s.newNamer(r.Context())
	views := make([]apitype.MessageView, 0, len(msgs))
	for _, m := range msgs {
		views = append(views, n.messageView(m))
	}
	writeJSON(w, http.StatusOK, views)
}

// pageQuery reads the query of a message listing into a page and whether
// to mark it read: limit (0 or absent: all), before or after (a message
// ID: the page above or below it, as parley.Page says) and read (true:
// mark the messages shown read). read=true cannot go with before: an
// older page is not what a user opening the conversation sees, and a GUI
// marks the newest read on opening.
func pageQuery(q url.Values) (p parley.Page, markRead bool, err error) {
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, false, badRequest("limit must be a whole number, 0 for all")
		}
		p.Limit = n
	}
	if v := q.Get("read"); v != "" {
		if markRead, err = strconv.ParseBool(v); err != nil {
			return p, false, badRequest("read must be true or false")
		}
	}
	if p.Before, err = messageIDArg(q, "before"); err != nil {
		return p, false, err
	}
	if p.After, err = messageIDArg(q, "after"); err != nil {
		return p, false, err
	}
	if markRead && p.Before != nil {
		return p, false, badRequest("read=true applies to the newest messages: it cannot be combined with before")
	}
	return p, markRead, nil
}

// messageIDArg reads an optional message ID from the query.
func messageIDArg(q url.Values, name string) (*parley.EnvelopeID, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	id, err := parley.ParseEnvelopeID(v)
	if err != nil {
		return nil, badRequest(name + " must be a message ID (64 hex characters)")
	}
	return &id, nil
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req apitype.SendRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := contactArg(req.To)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cid, err := clientIDArg(req.ClientID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.messages.Send(r.Context(), to, req.Text, cid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.newNamer(r.Context()).messageView(m))
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	peers := s.network.Peers()
	views := make([]apitype.PeerView, 0, len(peers)) // [] rather than null
	for _, p := range peers {
		views = append(views, apitype.NewPeerView(p))
	}
	writeJSON(w, http.StatusOK, views)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apitype.NewNetworkStatusView(s.network.Status()))
}

// contactArg is a request's CONTACT argument, which the node resolves
// (and names in its errors): here only a missing one is refused, as a
// malformed request rather than an unknown contact.
func contactArg(contact string) (string, error) {
	if strings.TrimSpace(contact) == "" {
		return "", badRequest("no contact given: pass a name or a peer ID")
	}
	return contact, nil
}

// clientIDArg is a send's optional client_id: zero when absent.
func clientIDArg(s string) (parley.ClientID, error) {
	if s == "" {
		return parley.ClientID{}, nil
	}
	cid, err := parley.ParseClientID(s)
	if err != nil {
		return cid, badRequest("client_id must be 32 hex characters, not all zeros")
	}
	return cid, nil
}

func (s *Server) contactViews(cs []parley.Contact) []apitype.ContactView {
	views := make([]apitype.ContactView, 0, len(cs))
	for _, c := range cs {
		views = append(views, s.contactView(c))
	}
	return views
}

func (s *Server) contactView(c parley.Contact) apitype.ContactView {
	sn, err := s.messages.SafetyNumber(c.PeerID)
	if err != nil {
		// Still list the contact: a missing safety number only means there
		// is nothing to compare yet.
		s.log.Warn("safety number", "peer", c.PeerID, "err", err)
	}
	return apitype.NewContactView(c, s.network.Online(c.PeerID), sn)
}

// namer resolves peer IDs to display names, once per peer per request.
type namer struct {
	ctx       context.Context
	messages  Messages
	groups    Groups
	mailboxes Mailboxes // reads mailbox offers
	log       *slog.Logger
	self      parley.Self
	names     map[string]string
}

func (s *Server) newNamer(ctx context.Context) *namer {
	self := s.messages.Self()
	return &namer{ctx: ctx, messages: s.messages, groups: s.groups, mailboxes: s.network, log: s.log, self: self,
		names: map[string]string{self.PeerID: self.Name}}
}

// name is the contact's name, or "" for a peer that is not a contact.
func (n *namer) name(peerID string) string {
	if peerID == "" {
		return ""
	}
	if name, ok := n.names[peerID]; ok {
		return name
	}
	c, err := n.messages.Resolve(n.ctx, peerID)
	if err != nil {
		c.Name = ""
	}
	n.names[peerID] = c.Name
	return c.Name
}

func (n *namer) messageView(m parley.Message) apitype.MessageView {
	if m.To == "" && !m.Outgoing && !n.isGroupMessage(m) {
		m.To = n.self.PeerID // a DM received was addressed to us
	}
	v := apitype.NewMessageView(m, n.name(m.From), n.name(m.To))
	if v.Quote != nil && v.Quote.From != "" {
		v.Quote.FromName = n.name(v.Quote.From)
	}
	if m.Kind == parley.KindMailboxOffer {
		o, err := n.mailboxes.MailboxOffer(n.ctx, m)
		if err != nil {
			// Still shown: the card then offers what the message holds.
			n.log.Warn("reading a mailbox offer", "id", m.ID, "err", err)
			o = parley.MailboxOffer{Mailbox: parley.Mailbox{PeerID: m.From}, State: parley.OfferOpen}
		}
		v.Text, v.MailboxOffer = "", apitype.NewMailboxOfferView(o)
	}
	return v
}

func badRequest(msg string) error {
	return &apitype.Error{Status: http.StatusBadRequest, Code: apitype.CodeBadRequest, Message: msg}
}

// decodeBody reads exactly one JSON object with only known fields.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &apitype.Error{Status: http.StatusRequestEntityTooLarge, Code: apitype.CodeTooLarge,
			Message: fmt.Sprintf("request body too large (limit %d bytes)", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty: expected a JSON object")
	default:
		return badRequest("invalid JSON body: " + err.Error())
	}
}

// fail writes err as the API's error body. Errors the caller can fix keep
// their message; the rest are logged and answered with a bare 500, since
// their text may describe internals.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := apitype.ErrorFor(err)
	if !ok {
		if r.Context().Err() != nil {
			s.log.Debug("request abandoned", "method", r.Method, "path", r.URL.Path, "err", err)
		} else {
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *apitype.Error) {
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// An error here means the client went away; there is no one to tell.
	_ = enc.Encode(v)
}
