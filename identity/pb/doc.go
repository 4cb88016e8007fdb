// Package pb holds the protobuf messages of package identity: the signed
// contact card, the keystore's plaintext, and a person's chain of keys and
// signed device list (devices.proto). The .pb.go files are generated from
// the .proto files beside them:
//
//	protoc --go_out=. --go_opt=paths=source_relative identity/pb/*.proto
//
// run from the module root.
package pb
