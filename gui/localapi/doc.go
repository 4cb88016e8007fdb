// Package localapi serves Parley's local API: JSON over HTTP and an event
// WebSocket, the one surface the web GUI, the CLI and bots use. It also
// serves the web app itself (package gui/web: plain HTML, CSS and ES
// modules, no build step), under a Content-Security-Policy that allows only
// those files: no inline script or style.
//
// The API listens on loopback only, on the port it had last time when it is
// free (remembered in the data dir). Every request must carry the token that
// New writes to the data dir's api.json (mode 0600, fresh on every start) as
// a bearer token, or a browser session cookie. A browser gets the cookie by
// opening a one-time login URL (NewLoginURL, `parley open`) on a host name
// of this install's own under .localhost (GUIURL), the only host that takes
// the cookie; the cookie is signed with a key kept in the data dir, so it
// outlives restarts until the browser logs out (or every browser is logged
// out), and the token itself is never put in a URL or a cookie. Requests whose Host is not
// a loopback name (DNS rebinding) or that come from a foreign origin (CSRF,
// including reads: GET /api/v1/messages?read=true changes state) are
// refused before the token is even looked at. The GUI's static files need
// no session (they hold nothing private); the page itself, without one,
// says how to log in. Nor does the API's OpenAPI description
// (openapi.json, served at GET /api/v1/openapi.json), which the repository
// holds anyway.
//
// Files are offered from where they lie when a client gives a path (the
// CLI); a browser uploads the bytes instead, which are streamed to
// DATA/uploads and served from there until the offer is cancelled. A
// file's bytes are served back only once complete, as an attachment, and
// inline only as a PNG, JPEG, GIF or WebP image, for previews.
//
// The package reaches the node only through the role interfaces of Config;
// it knows nothing of libp2p or storage. Wire types live in gui/apitype,
// shared with the Go client in gui/client.
package localapi
