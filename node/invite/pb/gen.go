// Package pb holds the /parley/card/1.0.0 wire messages.
package pb

//go:generate sh -c "cd ../../.. && protoc --go_out=. --go_opt=paths=source_relative node/invite/pb/invite.proto"
