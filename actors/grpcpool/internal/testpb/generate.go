// Package testpb is the test service of package grpcpool, generated from
// test.proto. It is internal: only the tests and benchmarks use it.
package testpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative test.proto
