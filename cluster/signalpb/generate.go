package signalpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative signal.proto
