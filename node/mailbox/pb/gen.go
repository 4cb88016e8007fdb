// Package pb holds the /parley/mailbox/1.0.0 wire messages.
package pb

//go:generate sh -c "cd ../../.. && protoc --go_out=. --go_opt=paths=source_relative node/mailbox/pb/mailbox.proto"
