// Package pb holds the /parley/link/1.0.0 wire messages.
package pb

//go:generate sh -c "cd ../../.. && protoc --go_out=. --go_opt=paths=source_relative node/link/pb/link.proto"
