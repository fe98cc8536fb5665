package coord

// Ping is answered with *Pong by the coordinator and the alert bridge. Both
// subscribe and join in their Started, so a Pong means they are connected
// (or retrying, when the store was unreachable).
type Ping struct{}

// Pong answers Ping.
type Pong struct{}
