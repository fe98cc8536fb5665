package supervisor

import "github.com/asynkron/protoactor-go/actor"

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
	Restarts int    // restarts since it was spawned
	State    string // "running", "restarting" (backoff pending) or "stopping"
}

// restartDue is sent by a backoff timer to its supervisor. Unexported so
// nobody else can trigger restarts.
type restartDue struct{ id uint64 }
