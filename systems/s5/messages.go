package s5

import (
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// GetIdentity asks the policy actor who this node is. Reply: *Identity.
type GetIdentity struct{}

// Identity is the node's identity.
type Identity struct {
	Node    string    `json:"node"`
	Cluster string    `json:"cluster"`
	Started time.Time `json:"started"`
}

// GetStats asks for the alert counters. Reply: *StatsResult.
type GetStats struct{}

// StatsResult holds alert counts by severity, and the counters of the
// workers of handed-off actions.
type StatsResult struct {
	BySeverity map[string]uint64 `json:"by_severity"`
	Invalid    uint64            `json:"invalid"`
	Webhooks   DispatchStats     `json:"webhooks"`
	Sheds      DispatchStats     `json:"sheds"`
}

// Reaction is run by S5 for every alert it accepts. It runs on S5's alert
// lane (on the raiser's goroutine or the policy actor's), one alert at a
// time: it must be quick, must not block and must not wait for the policy
// actor.
type Reaction func(*algedonic.Alert)

// AddReaction adds a reaction at run time. Local only.
type AddReaction struct {
	Name string
	Fn   Reaction
}

// Ping is a liveness probe of the policy actor. With a sender it is answered
// with *Pong; sent bare it is simply consumed.
type Ping struct{}

// Pong answers Ping.
type Pong struct{}

// SetHooks replaces what the policy rules act on (breakers, pools, the
// cluster publisher). Local only. The node sends it once its units run; a
// later Ping from the same sender is answered after it is applied.
type SetHooks struct {
	Hooks Hooks
}
