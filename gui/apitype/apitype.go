// Package apitype holds the wire types of Parley's local HTTP API: the JSON
// views the server writes and the client reads, the request bodies, the
// error body, the routes and the API file. Server (package gui/localapi)
// and client (package gui/client) both import it, so the two cannot drift
// apart.
//
// The views (views.go) are the API's own format: the domain types in the
// root package carry no JSON, and golden files (testdata/) pin every
// view's JSON, which the web app and bots read. Views add what a screen
// needs to the domain types (display names, presence, safety numbers, a
// wall-clock time) and nothing the node keeps private (no keys beyond the
// contact's public HPKE key).
package apitype

import "github.com/parley-im/parley"

// Paths of the API, version 1. Placeholders in braces follow net/http's
// pattern syntax.
const (
	PathSelf          = "/api/v1/self"        // GET: who we are; PUT: set the display name
	PathSelfQR        = "/api/v1/self/qr.svg" // GET: the invite code as a QR code (SVG)
	PathSelfInvite    = "/api/v1/self/invite" // POST: a new invite secret; earlier short codes stop working
	PathContacts      = "/api/v1/contacts"
	PathRequests      = "/api/v1/requests"
	PathAccept        = "/api/v1/requests/{peer}/accept"
	PathVerify        = "/api/v1/contacts/{contact}/verify"     // POST: mark a contact verified, or not
	PathSafetyQR      = "/api/v1/contacts/{contact}/safety.svg" // GET: the safety number as a QR code (SVG)
	PathConversations = "/api/v1/conversations"
	PathMessages      = "/api/v1/messages"
	PathPeers         = "/api/v1/peers"
	PathStatus        = "/api/v1/status"
	PathEvents        = "/api/v1/events"
	PathLogin         = "/api/v1/login"      // POST: a fresh one-time login URL
	PathLogout        = "/api/v1/logout"     // POST: end this browser's session
	PathLogoutAll     = "/api/v1/logout/all" // POST: end every browser's session

	// {group} is a group ID (hex) or an unambiguous group name, {member} a
	// contact name or a peer ID; clients path-escape both.
	PathGroups        = "/api/v1/groups"         // GET: joined, left, removed; POST: create
	PathGroupInvites  = "/api/v1/groups/invites" // GET: pending invitations
	PathGroupInvite   = "/api/v1/groups/{group}/invite"
	PathGroupAccept   = "/api/v1/groups/{group}/accept"
	PathGroupDecline  = "/api/v1/groups/{group}/decline"
	PathGroupLeave    = "/api/v1/groups/{group}/leave"
	PathGroupMembers  = "/api/v1/groups/{group}/members"
	PathGroupMember   = "/api/v1/groups/{group}/members/{member}" // DELETE: remove
	PathGroupRole     = "/api/v1/groups/{group}/members/{member}/role"
	PathGroupRename   = "/api/v1/groups/{group}/rename"
	PathGroupHistory  = "/api/v1/groups/{group}/history"
	PathGroupMessages = "/api/v1/groups/{group}/messages"

	// {id} is a file's ID (32 hex characters).
	PathFiles      = "/api/v1/files"        // GET: every file, ours and theirs; POST: offer a file on the node's disk
	PathFileUpload = "/api/v1/files/upload" // POST ?to=&name=, the bytes as the body: offer them (browsers)
	PathFile       = "/api/v1/files/{id}"
	PathFileAccept = "/api/v1/files/{id}/accept"
	PathFileCancel = "/api/v1/files/{id}/cancel"
	// GET: a complete file's bytes, as application/octet-stream for
	// download; ?inline=1 serves a PNG, JPEG, GIF or WebP image as itself,
	// for previews (never HTML or SVG, which could run script here).
	PathFileContent = "/api/v1/files/{id}/content"
	PathSettings    = "/api/v1/settings" // GET; PUT: change the auto-accept limit, the public DHT, the mailbox service, read receipts

	// The user's mailboxes: GET lists them (MailboxView); POST adds one
	// (AddMailboxRequest), registering with it first; DELETE
	// /api/v1/mailboxes/{peer} takes one off the list.
	PathMailboxes = "/api/v1/mailboxes"
	PathMailbox   = "/api/v1/mailboxes/{peer}"
	// POST (ResetMailboxRequest): move a mailbox, or all, to the next
	// deposit key, revoking every capability issued there (200 []MailboxView).
	PathMailboxReset = "/api/v1/mailbox-reset"
	// POST revokes the contact's capability at every mailbox of the user,
	// DELETE restores it (200 ContactView).
	PathMailboxRevocation = "/api/v1/contacts/{contact}/mailbox-revocation"
	// POST: offer this node (its mailbox service on) to hold the
	// contact's mail; answers the offer's MessageView (201).
	PathMailboxOffer = "/api/v1/contacts/{contact}/mailbox-offer"
	// POST, {id} an offer message's ID: accept it (add the offering node
	// as a mailbox, registering with it; 201 MailboxView) or dismiss it
	// (204).
	PathMailboxOfferAccept  = "/api/v1/mailbox-offers/{id}/accept"
	PathMailboxOfferDismiss = "/api/v1/mailbox-offers/{id}/dismiss"

	// GET: is a passphrase set (PassphraseView); PUT: set or change it
	// (PassphraseRequest); DELETE: remove it (PassphraseRequest, Old only).
	PathPassphrase = "/api/v1/passphrase"
	// POST: the user skipped the GUI's offer to set a passphrase.
	PathPassphraseSkip = "/api/v1/passphrase/skip"

	// POST: an encrypted backup of the node (BackupRequest, as JSON or as
	// a form), streamed back as an attachment (application/octet-stream).
	PathBackup = "/api/v1/backup"

	// GET: the API's OpenAPI 3.1 description, the one route that needs no
	// token.
	PathOpenAPI = "/api/v1/openapi.json"

	// POST: a camera frame or photo (JPEG or PNG, at most MaxScanBytes) of
	// the contact's safety-number QR code, as the body; answers a
	// SafetyScanView, and marks the contact verified when the numbers
	// match.
	PathSafetyScan = "/api/v1/contacts/{contact}/safety/scan"
)

// FileName is the API file in the data dir. The server writes it (mode
// 0600) when it starts and removes it when it stops; clients read it to find
// the server.
const FileName = "api.json"

// File is the content of the API file.
type File struct {
	URL   string `json:"url"`   // http://127.0.0.1:PORT
	GUI   string `json:"gui"`   // http://NAME.localhost:PORT, where browsers log in (NAME is per install)
	Token string `json:"token"` // bearer token, fresh on every start
}

// MaxBodyBytes caps a request body. A message's text is at most
// parley.MaxTextBytes; the rest is room for JSON escaping. The upload route
// (PathFileUpload) alone takes more: a whole file, streamed to disk.
const MaxBodyBytes = 64 << 10

// SetNameRequest is the body of PUT /api/v1/self.
type SetNameRequest struct {
	Name string `json:"name"`
}

// AddContactRequest is the body of POST /api/v1/contacts.
type AddContactRequest struct {
	Invite string `json:"invite"`
	Name   string `json:"name,omitempty"` // overrides the name on the card
}

// VerifyRequest is the body of POST /api/v1/contacts/{contact}/verify:
// true once the user compared safety numbers, false to undo.
type VerifyRequest struct {
	Verified bool `json:"verified"`
}

// MaxScanBytes caps the image posted to PathSafetyScan: a camera frame the
// GUI scaled down is some 50 KiB, a phone photo scaled down a few hundred.
const MaxScanBytes = 2 << 20

// MaxScanSide and MaxScanPixels bound the size of that image, checked from
// its header before it is decoded: a small file can claim a huge image.
const (
	MaxScanSide   = 4096
	MaxScanPixels = 8 << 20
)

// Outcomes of a safety-number scan (SafetyScanView.Result).
const (
	// ScanMatch: the QR code holds the safety number we compute for this
	// contact: both sides hold each other's true keys. The contact is now
	// verified.
	ScanMatch = "match"
	// ScanMismatch: the QR code holds a safety number, but another one: a
	// key differs (another contact's code, an old key, or someone in the
	// middle). Nothing changes.
	ScanMismatch = "mismatch"
	// ScanNotSafetyNumber: a QR code that holds no safety number (an
	// invite, a web link). Nothing changes.
	ScanNotSafetyNumber = "not_safety_number"
	// ScanNoCode: no QR code could be read in the image; a camera keeps
	// scanning.
	ScanNoCode = "no_code"
)

// SafetyScanView answers POST /api/v1/contacts/{contact}/safety/scan.
type SafetyScanView struct {
	Result  string      `json:"result"`  // ScanMatch, ScanMismatch, ScanNotSafetyNumber or ScanNoCode
	Message string      `json:"message"` // what to tell the user, in a sentence
	Contact ContactView `json:"contact"` // the contact as it is now (verified after a match)
}

// SendRequest is the body of POST /api/v1/messages.
type SendRequest struct {
	To   string `json:"to"` // contact name or peer ID
	Text string `json:"text"`
	// ClientID, optional, is the send's idempotency key: 32 hex characters
	// (128 random bits) the client picks for this message and sends again
	// when it retries. A repeat stores and sends nothing and answers the
	// message stored the first time, even across a node restart; a
	// client ID used for another message is refused (400, "malformed").
	ClientID string `json:"client_id,omitempty"`
}

// CreateGroupRequest is the body of POST /api/v1/groups.
type CreateGroupRequest struct {
	Name string `json:"name"`
	// History: "hidden" (the default: members read from when they join)
	// or "shared" (members added later read the earlier history too).
	History parley.GroupHistory `json:"history,omitempty"`
}

// GroupHistoryRequest is the body of POST /api/v1/groups/{group}/history.
type GroupHistoryRequest struct {
	History parley.GroupHistory `json:"history"`
}

// InviteToGroupRequest is the body of POST /api/v1/groups/{group}/invite.
type InviteToGroupRequest struct {
	Contact string `json:"contact"` // contact name or peer ID
}

// RenameGroupRequest is the body of POST /api/v1/groups/{group}/rename.
type RenameGroupRequest struct {
	Name string `json:"name"`
}

// SetGroupRoleRequest is the body of POST
// /api/v1/groups/{group}/members/{member}/role.
type SetGroupRoleRequest struct {
	Role parley.Role `json:"role"` // admin or member
}

// GroupSendRequest is the body of POST /api/v1/groups/{group}/messages.
type GroupSendRequest struct {
	Text     string `json:"text"`
	ClientID string `json:"client_id,omitempty"` // as SendRequest's
}

// SendFileRequest is the body of POST /api/v1/files.
type SendFileRequest struct {
	To   string `json:"to"`   // a contact (name or peer ID) or a group (name or ID)
	Path string `json:"path"` // absolute path of a regular file on the node's machine
}

// PassphraseRequest is the body of PUT and DELETE /api/v1/passphrase. A
// wrong Old is 403 with code "wrong_passphrase", and changes nothing.
type PassphraseRequest struct {
	// Old is the current passphrase; empty when none is set.
	Old string `json:"old"`
	// New is the passphrase to seal the keystore with (PUT: required;
	// DELETE: absent).
	New string `json:"new,omitempty"`
}

// BackupRequest is the body of POST /api/v1/backup: as JSON, or as an
// HTML form (application/x-www-form-urlencoded, the GUI's way to have the
// browser save the answer as a download) with the same field names.
type BackupRequest struct {
	// Passphrase seals the backup (age, scrypt); required. Restoring asks
	// for it. It need not be the keystore's passphrase.
	Passphrase string `json:"passphrase"`
	// Confirm, when given, must equal Passphrase: a form's second field,
	// so that a mistyped passphrase makes no backup nobody can open.
	Confirm string `json:"confirm,omitempty"`
}

// BackupContentType is the answer's type: an age file (age-encryption.org).
const BackupContentType = "application/octet-stream"

// SettingsRequest is the body of PUT /api/v1/settings. A field left out
// (null) stays as it is; at least one is required.
type SettingsRequest struct {
	// AutoAcceptBytes: files from contacts up to this size are fetched
	// without asking; 0 or -1: never.
	AutoAcceptBytes *int64 `json:"auto_accept_bytes,omitempty"`
	// PublicDHT joins (true) or leaves (false) the public IPFS DHT, now
	// and after restarts. Joining is refused in a private network
	// (409, code "private_network").
	PublicDHT *bool `json:"public_dht,omitempty"`
	// MailboxService starts (true) or stops the mailbox service ("Hold
	// mail for others"), now and after restarts; 409 "set_at_start" when
	// a `parley run` flag set it for this run.
	MailboxService *bool `json:"mailbox_service,omitempty"`
	// TypingIndicators turns typing indicators on or off (off: we send
	// none and see none); LastSeen turns last seen on or off (off: we
	// share ours with no one and see no one's). Now and after restarts.
	TypingIndicators *bool `json:"typing_indicators,omitempty"`
	LastSeen         *bool `json:"last_seen,omitempty"`
	// ReadReceipts: send read receipts (true, the default) or not, to
	// contacts and group members.
	ReadReceipts *bool `json:"read_receipts,omitempty"`
}
