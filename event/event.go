package event

import "time"

// Event is implemented by every event in the catalogue. The set is open:
// packages outside this one may publish their own types that implement it.
type Event interface {
	// Kind is the stable dotted name of the event type.
	Kind() string
}

// ActorStarted: a supervisor spawned a child.
type ActorStarted struct {
	Name       string    `json:"name"` // stable name, e.g. "s1/breaker/api"
	PID        string    `json:"pid"`
	Supervisor string    `json:"supervisor"`
	ActorKind  string    `json:"actor_kind"` // "supervisor" or "worker"
	At         time.Time `json:"at"`
}

// ActorRestarted: a supervisor restarted a child that failed or exited, or a
// sibling of one (after Backoff, if any).
type ActorRestarted struct {
	Name       string        `json:"name"`
	PID        string        `json:"pid"`
	Supervisor string        `json:"supervisor"`
	Reason     string        `json:"reason"` // the panic value or error, formatted
	Restarts   int           `json:"restarts"`
	Backoff    time.Duration `json:"backoff"`
	At         time.Time     `json:"at"`
}

// ActorStopped: a supervised child terminated and will not be restarted.
type ActorStopped struct {
	Name       string    `json:"name"`
	PID        string    `json:"pid"`
	Supervisor string    `json:"supervisor"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// ActorShutdown: a supervisor finished stopping a child it had asked to stop
// (to restart it with its siblings, on request, or because the supervisor
// itself is shutting down), and says how the child went. ActorStopped or
// ActorRestarted follows when the child is forgotten or spawned again.
type ActorShutdown struct {
	Name       string `json:"name"`
	PID        string `json:"pid"`
	Supervisor string `json:"supervisor"`
	// How: "graceful" (poisoned; it handled its queued messages and stopped
	// within Timeout), "forced" (still running after Timeout, then
	// stopped), "brutal_kill" (stopped at once, as its spec asks) or
	// "crashed" (it had failed; stopping it only ended the dead instance).
	How     string        `json:"how"`
	Timeout time.Duration `json:"timeout"` // the child's shutdown timeout; 0 for brutal_kill, crashed or infinity
	At      time.Time     `json:"at"`
}

// SupervisionEscalated: a supervisor's children were restarted more than
// MaxRestarts times within the window (Child is the one whose failure
// exceeded it); the supervisor gave up, stopped its children and escalated
// to its own parent.
type SupervisionEscalated struct {
	Supervisor string        `json:"supervisor"`
	Child      string        `json:"child"`
	Reason     string        `json:"reason"`
	Restarts   int           `json:"restarts"`
	Window     time.Duration `json:"window"`
	At         time.Time     `json:"at"`
}

// AlertRaised: S5 received an algedonic alert.
type AlertRaised struct {
	Severity string `json:"severity"`
	Source   string `json:"source"`
	Reason   string `json:"reason"`
	Node     string `json:"node"`
	// At is when the alert was raised, Received when S5 handled it.
	At       time.Time `json:"at"`
	Received time.Time `json:"received,omitzero"`
}

// PolicyDecided: S5 applied (or tried to apply) one action of a policy rule
// to an alert, or found that no rule matched it (Rule and Action empty,
// Outcome "no_match"). Actions handed off to a worker (shed_pool, webhook)
// are published when they finish, or at once when their queue is full.
type PolicyDecided struct {
	Alert   AlertRaised `json:"alert"`
	Rule    string      `json:"rule,omitempty"`
	Action  string      `json:"action,omitempty"` // log, publish, open_breaker, shed_pool, webhook
	Target  string      `json:"target,omitempty"` // the level, breaker, pool or URL acted on
	Outcome string      `json:"outcome"`          // done, skipped, failed, dropped, no_match
	Reason  string      `json:"reason"`           // why the rule matched, or why none did
	Detail  string      `json:"detail,omitempty"` // what was done, e.g. "size 8 -> 4", "HTTP 204"
	Err     string      `json:"err,omitempty"`
	At      time.Time   `json:"at"`
}

// BreakerStateChanged: a circuit breaker moved from one state to another.
type BreakerStateChanged struct {
	Name   string `json:"name"`
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
	Forced bool   `json:"forced,omitempty"`
	// Generation numbers the breaker's transitions: events of one breaker
	// arrive in increasing generation (gaps are transitions no one can
	// see, such as a hold of a breaker already open).
	Generation uint64    `json:"generation"`
	At         time.Time `json:"at"`
}

// PoolCheckout: a resource was checked out of a pool.
type PoolCheckout struct {
	Pool string        `json:"pool"`
	Wait time.Duration `json:"wait"`
	At   time.Time     `json:"at"`
}

// PoolResized: a pool's size changed.
type PoolResized struct {
	Pool string    `json:"pool"`
	From int       `json:"from"`
	To   int       `json:"to"`
	At   time.Time `json:"at"`
}

// AdapterRequest: a protocol adapter finished a request.
type AdapterRequest struct {
	Protocol string        `json:"protocol"`
	Pool     string        `json:"pool"`
	Endpoint string        `json:"endpoint"`
	Method   string        `json:"method"`
	Status   int           `json:"status"`
	Duration time.Duration `json:"duration"`
	Err      string        `json:"err,omitempty"`
	At       time.Time     `json:"at"`
}

// EndpointEjected: outlier detection took an endpoint out of rotation.
type EndpointEjected struct {
	Pool     string        `json:"pool"`
	Endpoint string        `json:"endpoint"`
	For      time.Duration `json:"for"`
	At       time.Time     `json:"at"`
}

// EndpointRestored: an ejected endpoint came back into rotation.
type EndpointRestored struct {
	Pool     string    `json:"pool"`
	Endpoint string    `json:"endpoint"`
	At       time.Time `json:"at"`
}

// HealthResult: a health check finished.
type HealthResult struct {
	Check   string        `json:"check"`
	Target  string        `json:"target"`
	Healthy bool          `json:"healthy"`
	Latency time.Duration `json:"latency"`
	Err     string        `json:"err,omitempty"`
	At      time.Time     `json:"at"`
	// Status is the checker's status once this result was counted:
	// "unknown", "healthy" or "unhealthy".
	Status string `json:"status,omitempty"`
}

// HealthChanged: a health check's status changed (the thresholds were
// crossed). Reason is the error of the result that crossed them, or
// "probe succeeded".
type HealthChanged struct {
	Check  string    `json:"check"`
	Target string    `json:"target"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// ControlAction: System 3 acted on a unit, or its S3* audit found (or no
// longer finds) a disagreement between a unit's actor and its handle.
// Reason always says why, so an operator can see why something happened.
type ControlAction struct {
	// Action is open_breaker, close_breaker, eject_endpoint,
	// restore_endpoint, none (a policy that only reports), audit (a
	// disagreement found) or audit_resolved.
	Action string `json:"action"`
	// Target is what was acted on: "breaker/api", "pool/api/10.0.0.1:80",
	// "pool/api".
	Target string `json:"target"`
	Reason string `json:"reason"`
	// Err is set when the action failed.
	Err string    `json:"err,omitempty"`
	At  time.Time `json:"at"`
}

// MemberJoined: a node joined the cluster.
type MemberJoined struct {
	Node string `json:"node"` // the member's stable name
	// InstanceID is new at every start of the member's process, so a
	// member that restarts is a MemberLeft then a MemberJoined.
	InstanceID string    `json:"instance_id,omitempty"`
	Address    string    `json:"address"` // its remote (actor) address, host:port
	At         time.Time `json:"at"`
}

// MemberLeft: a node left the cluster.
type MemberLeft struct {
	Node string `json:"node"` // the member's stable name
	// InstanceID is new at every start of the member's process, so a
	// member that restarts is a MemberLeft then a MemberJoined.
	InstanceID string    `json:"instance_id,omitempty"`
	Address    string    `json:"address"` // its remote (actor) address, host:port
	At         time.Time `json:"at"`
}

func (*ActorStarted) Kind() string         { return "actor.started" }
func (*ActorRestarted) Kind() string       { return "actor.restarted" }
func (*ActorStopped) Kind() string         { return "actor.stopped" }
func (*SupervisionEscalated) Kind() string { return "supervision.escalated" }
func (*ActorShutdown) Kind() string        { return "actor.shutdown" }
func (*AlertRaised) Kind() string          { return "alert.raised" }
func (*PolicyDecided) Kind() string        { return "policy.decided" }
func (*BreakerStateChanged) Kind() string  { return "breaker.state_changed" }
func (*PoolCheckout) Kind() string         { return "pool.checkout" }
func (*PoolResized) Kind() string          { return "pool.resized" }
func (*AdapterRequest) Kind() string       { return "adapter.request" }
func (*EndpointEjected) Kind() string      { return "endpoint.ejected" }
func (*EndpointRestored) Kind() string     { return "endpoint.restored" }
func (*HealthResult) Kind() string         { return "health.result" }
func (*HealthChanged) Kind() string        { return "health.changed" }
func (*ControlAction) Kind() string        { return "control.action" }
func (*MemberJoined) Kind() string         { return "member.joined" }
func (*MemberLeft) Kind() string           { return "member.left" }
