// Package gui is everything a person or a bot touches, split by role as
// tailscale does:
//
//   - gui/localapi is the local HTTP + WebSocket API server, the one
//     surface for the web app, the CLI and bots: handlers, the token and
//     session guard, the event stream, and page serving. It reaches the node
//     only through small role interfaces (messages, groups, files, network,
//     events), which cmd/parley fills with node.Messenger.
//   - gui/apitype holds the API's wire types: paths, request bodies, error
//     codes and the JSON views of the domain types. The views are the API's
//     own format, pinned by golden files: the domain types carry no JSON.
//   - gui/client is the API's Go client, for the CLI, tests and bots.
//   - gui/web holds the web app's assets behind an embed.FS, with no build
//     step.
//
// This package itself holds no code.
package gui
