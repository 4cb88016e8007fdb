// Package presencepb holds the presence messages (PROTOCOL.md §10.1):
// /parley/presence/1.0.0 frames and group typing. None is an envelope.
package presencepb

//go:generate sh -c "cd ../.. && protoc --go_out=. --go_opt=paths=source_relative pb/presencepb/presence.proto"
