// Package pb holds the protobuf forms of the messages custom actors send to
// connection actors (breakers, HTTP, WebSocket and gRPC pools, state,
// health checks), so that they can cross to another member of a cluster:
// protoactor's remote carries only proto.Messages. The connection actors
// accept these next to their Go-struct messages and answer a proto message
// with a proto reply; their packages convert (and map Error back to the
// errors.Is sentinels) in typed helpers such as httppool.RemoteSend.
//
// messages.pb.go is generated and committed; after editing messages.proto
// run `go generate ./actors/pb` (protoc from Debian's protobuf-compiler,
// protoc-gen-go v1.36.12 on PATH or in ~/go/bin).
package pb

//go:generate sh -c "PATH=$PATH:$(go env GOPATH)/bin protoc --go_out=. --go_opt=paths=source_relative messages.proto"
