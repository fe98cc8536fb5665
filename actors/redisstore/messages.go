package redisstore

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/state"
)

// Messages the state actor (Props) accepts. They are local: values are Go
// values, not protobuf. Each request may carry a Deadline (zero: the store's
// timeout alone bounds it); each reply carries an Err matched with
// errors.Is (state.ErrNotFound, state.ErrUnavailable, ErrBusy...). A request
// sent without a sender is carried out and not answered.

// Get reads Key; the reply is a *GetResult with the raw stored bytes (decode
// them with state.Decode).
type Get struct {
	Key      string
	Deadline time.Time
}

// GetResult answers Get.
type GetResult struct {
	Key   string
	Value []byte
	Err   error
}

// Set stores Value (encoded as state.Store.Set does) under Key, expiring
// after TTL when TTL > 0; the reply is a *Result.
type Set struct {
	Key      string
	Value    any
	TTL      time.Duration
	Deadline time.Time
}

// Del deletes Keys; the reply is a *CountResult with how many existed.
type Del struct {
	Keys     []string
	Deadline time.Time
}

// Incr adds By (0 means 1) to the integer under Key; the reply is a
// *CountResult with the new value.
type Incr struct {
	Key      string
	By       int64
	Deadline time.Time
}

// Publish publishes Value on Channel; the reply is a *Result.
type Publish struct {
	Channel  string
	Value    any
	Deadline time.Time
}

// Subscribe makes Subscriber receive a *Published for every message on
// Channel (a pattern when it holds "*?["); the reply is a *Result once the
// subscription is active. The actor watches Subscriber and drops its
// subscriptions when it terminates. Subscribing twice to one channel is a
// no-op. The subscription survives restarts of the actor and of its
// supervisor (see Props); if it cannot be made again after one, Subscriber
// receives a *SubscriptionLost.
type Subscribe struct {
	Channel    string
	Subscriber *actor.PID
	Deadline   time.Time
}

// Unsubscribe ends Subscriber's subscription to Channel; the reply is a
// *Result.
type Unsubscribe struct {
	Channel    string
	Subscriber *actor.PID
}

// Ping checks the backend; the reply is a *Result.
type Ping struct {
	Deadline time.Time
}

// Result answers Set, Publish, Subscribe, Unsubscribe and Ping.
type Result struct {
	Err error
}

// CountResult answers Del and Incr.
type CountResult struct {
	N   int64
	Err error
}

// Published is what a subscriber actor receives for each message.
type Published struct {
	state.Message
}

// SubscriptionLost tells a subscriber that its subscription to Channel,
// made by Subscribe, has ended without its asking: the state actor
// restarted and could not subscribe again (Err says why; a store that is
// only unavailable is retried, not given up). It receives nothing more
// from Channel unless it subscribes again.
type SubscriptionLost struct {
	Channel string
	Err     error
}
