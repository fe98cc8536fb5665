package grpcpool

import (
	"time"

	"github.com/viable-systems/vsm-connections/event"
)

// Event kinds published by the channel actor. They are not (yet) in the
// event package's catalogue; event.Event is an open interface.
const (
	KindConnOpened = "grpc.conn_opened"
	KindConnClosed = "grpc.conn_closed"
)

// ConnOpened: the channel actor opened another ClientConn because the
// streams in flight reached the scale-up ratio of the advertised limit.
type ConnOpened struct {
	Pool        string    `json:"pool"`
	Conns       int       `json:"conns"` // after the change
	InFlight    int64     `json:"in_flight"`
	StreamLimit int64     `json:"stream_limit"` // before the change
	At          time.Time `json:"at"`
}

// Kind is "grpc.conn_opened".
func (*ConnOpened) Kind() string { return KindConnOpened }

// ConnClosed: the channel actor closed an extra ClientConn.
type ConnClosed struct {
	Pool   string    `json:"pool"`
	Conns  int       `json:"conns"`  // after the change
	Reason string    `json:"reason"` // "idle" or "stopped"
	At     time.Time `json:"at"`
}

// Kind is "grpc.conn_closed".
func (*ConnClosed) Kind() string { return KindConnClosed }

var (
	_ event.Event = (*ConnOpened)(nil)
	_ event.Event = (*ConnClosed)(nil)
)
