package supervisor

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Kinds of child.
const (
	KindWorker     = "worker"
	KindSupervisor = "supervisor"
)

// ChildSpec describes one supervised child.
type ChildSpec struct {
	// Name is unique among siblings and may contain '/' ("breaker/api").
	// The child's stable name is the supervisor's path + "/" + Name, and its
	// protoactor id is the supervisor's id + "/" + Name.
	Name string
	// Kind is KindWorker (default, "") or KindSupervisor.
	Kind string
	// Props produce the child; a child supervisor uses Props(...) (or build
	// the whole spec with SupervisorChild).
	Props *actor.Props
	// Restart says when the child is restarted; the zero value is Permanent.
	Restart Restart
	// Shutdown bounds the child's graceful stop: the supervisor poisons it
	// (it handles the messages already queued, then its Stopping), and stops
	// it (protoactor Stop: queued messages dropped) if it has not terminated
	// after Shutdown. 0 means DefaultShutdown for a worker and
	// ShutdownInfinity for a supervisor (which needs the time to stop its own
	// children in order); ShutdownBrutalKill stops it at once.
	Shutdown time.Duration
	// Significant children end their supervisor when they terminate by
	// themselves, as its AutoShutdown says. A significant child must be
	// Transient or Temporary, and its supervisor's AutoShutdown not Never.
	Significant bool
}

// Shutdown values with a meaning of their own.
const (
	// DefaultShutdown is a worker's shutdown timeout when its spec says 0
	// (OTP's default of 5000 ms).
	DefaultShutdown = 5 * time.Second
	// ShutdownBrutalKill stops the child at once, without a graceful phase
	// (OTP's brutal_kill; protoactor still runs its Stopping handler).
	ShutdownBrutalKill time.Duration = -1
	// ShutdownInfinity waits for the graceful stop however long it takes.
	ShutdownInfinity time.Duration = math.MaxInt64
)

// Restart is a child's restart type.
type Restart int

const (
	// Permanent children are always restarted, also after a normal exit
	// (the child stopping itself).
	Permanent Restart = iota
	// Transient children are restarted only after a failure (a panic, or an
	// escalation from a child supervisor), not after a normal exit.
	Transient
	// Temporary children are never restarted, not even when a sibling's
	// failure restarts the others (all-for-one, rest-for-one): they are
	// stopped then and forgotten.
	Temporary
)

var restartNames = [...]string{Permanent: "permanent", Transient: "transient", Temporary: "temporary"}

func (r Restart) String() string {
	if r < Permanent || r > Temporary {
		return fmt.Sprintf("restart(%d)", int(r))
	}
	return restartNames[r]
}

// ParseRestart accepts "permanent", "transient" or "temporary"
// (case-insensitive); "" means Permanent.
func ParseRestart(name string) (Restart, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return Permanent, nil
	}
	for i, v := range restartNames {
		if v == n {
			return Restart(i), nil
		}
	}
	return 0, fmt.Errorf("%w: restart type %q (want permanent, transient or temporary)", ErrInvalidSpec, name)
}

// Worker is the spec of a worker child.
func Worker(name string, props *actor.Props) ChildSpec {
	return ChildSpec{Name: name, Kind: KindWorker, Props: props}
}

// SupervisorChild is the spec of a child supervisor named name below the
// supervisor whose stable name is parentPath; it keeps the child's path
// consistent with where it is spawned.
func SupervisorChild(parentPath, name string, cfg Config, env Env, children ...ChildSpec) ChildSpec {
	return ChildSpec{Name: name, Kind: KindSupervisor, Props: Props(join(parentPath, name), cfg, env, children...)}
}

// StartChild asks a supervisor to spawn and supervise one more child. It
// takes its place after the existing children (which matters for
// rest-for-one) and is re-spawned when the supervisor restarts. Reply:
// *StartChildResult.
type StartChild struct{ Spec ChildSpec }

// StartChildResult answers StartChild. Err matches ErrDuplicateChild,
// ErrInvalidSpec or ErrStopped.
type StartChildResult struct {
	PID *actor.PID
	Err error
}

// StartChildren asks a supervisor to spawn and supervise several children,
// in order, after the existing ones, as one request: as many StartChild
// requests would, except that a one_for_one supervisor spawns them all
// before it waits for their Started (their starts run concurrently, each
// on its own actor), since none of its children is restarted with another.
// Other strategies start them one after another, each once the previous
// one has handled Started. The reply, *StartChildrenResult, comes once
// every child spawned has handled Started (or failed doing so).
//
// The first spec that cannot be spawned ends the batch: the children
// before it stay supervised, the rest are not spawned.
type StartChildren struct{ Specs []ChildSpec }

// StartChildrenResult answers StartChildren. PIDs are those of the
// children spawned, in the order of the specs; when Err is set (it matches
// ErrDuplicateChild, ErrInvalidSpec or ErrStopped, and names the child)
// the spec at index len(PIDs) is the one that failed.
type StartChildrenResult struct {
	PIDs []*actor.PID
	Err  error
}

// StopChild asks a supervisor to stop a child for good and forget its spec.
// The reply, *StopChildResult, is sent once the child has terminated, so
// its name may be reused at once. Err matches ErrNoChild or ErrStopped.
type StopChild struct{ Name string }

// StopChildResult answers StopChild.
type StopChildResult struct{ Err error }

// GetChildren asks for the supervisor's children in order. Reply: *Children.
type GetChildren struct{}

// Children answers GetChildren.
type Children struct{ Children []ChildInfo }

// ChildInfo is one child as its supervisor sees it.
type ChildInfo struct {
	Name     string // as in the spec
	Path     string // stable name
	PID      *actor.PID
	Kind     string
	Restarts int // restarts since it was spawned
	// State is "running", "starting" (spawned, Started not yet handled),
	// "restarting" (failed or stopped, waiting for its turn or its backoff)
	// or "stopping".
	State string
}

// The messages below are unexported so that nobody else can trigger
// restarts or forge acknowledgements.

// restartDue is sent by a backoff timer to its supervisor.
type restartDue struct{ id uint64 }

// shutdownDue is sent when a child's shutdown timeout elapses.
type shutdownDue struct{ id uint64 }

// startAck is forwarded by an ackProcess once the child answered Touch,
// i.e. once it has handled Started.
type startAck struct{ gen uint64 }

// touchReq is how a supervisor sees a Touch: it answers once its own
// initial children have started, so that its parent's start of it is
// finished only then (as OTP's start_link of a supervisor).
type touchReq struct{ replyTo *actor.PID }

// poisonReq is how a supervisor sees a PoisonPill: it stops its children
// in reverse start order, then itself. restart: its parent will spawn it
// again, so it keeps its child specs and defers requests.
type poisonReq struct{ restart bool }

// restartHeader marks the PoisonPill a supervisor sends a sibling it will
// spawn again.
const restartHeader = "vsm-supervisor-restart"
