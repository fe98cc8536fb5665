// Package wire holds what the connection actors share to speak the proto
// forms of their messages (package actors/pb): errors carried as the list
// of sentinels they matched, and times as Unix nanoseconds.
package wire
