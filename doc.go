// Package parley holds the domain language that every Parley package shares:
// peers, contacts, conversations, envelopes and messages, their IDs, the
// hybrid logical clock that orders them, and the errors the rest of the code
// returns. It imports only the standard library and protobuf.
//
// The envelope's wire format lives in the pb sub-package; PROTOCOL.md at the
// repository root specifies it.
//
// Layering (enforced by layers_test.go):
//
//	cmd → gui → node → pubsub → storage, identity → parley (this package)
package parley
