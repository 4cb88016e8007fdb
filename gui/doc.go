// Package gui serves Parley's local API: JSON over HTTP and an event
// WebSocket, the one surface the web GUI, the CLI and bots use. It also
// serves the web GUI itself from embedded files.
//
// The API listens on loopback only. Every request must carry the token that
// New writes to the data dir's api.json (mode 0600): as a bearer token, or
// as the cookie a browser gets by opening a one-time login URL (NewLoginURL,
// `parley open`); the token itself is never put in a URL. Requests whose Host is not a
// loopback name (DNS rebinding) or that come from a foreign origin (CSRF,
// including reads: GET /api/v1/messages?read=true changes state) are
// refused before the token is even looked at.
//
// The package reaches the node only through the Node interface; it knows
// nothing of libp2p or storage. Wire types live in gui/api, shared with the
// Go client in gui/client.
package gui
