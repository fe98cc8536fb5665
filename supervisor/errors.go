package supervisor

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrDuplicateChild: a child of that name is already supervised (or
	// still stopping), or its stable name is taken.
	ErrDuplicateChild = errors.New("supervisor: duplicate child name")
	// ErrNoChild: the supervisor has no child of that name.
	ErrNoChild = errors.New("supervisor: no such child")
	// ErrStopped: the supervisor is stopped or stopping.
	ErrStopped = errors.New("supervisor: stopped")
	// ErrInvalidSpec: a ChildSpec without a name or props, or of unknown kind.
	ErrInvalidSpec = errors.New("supervisor: invalid child spec")
	// ErrStrategy: an unknown strategy name.
	ErrStrategy = errors.New("supervisor: unknown strategy")
	// ErrGaveUp is matched by a *GaveUpError.
	ErrGaveUp = errors.New("supervisor: gave up on child")
)

// GaveUpError is the reason a supervisor escalates to its parent when its
// children exceed its restart intensity (Child is the one whose failure
// exceeded it; Restarts those counted within Window before it). The parent
// sees it as the failure reason of the supervisor (in
// ActorRestarted.Reason, formatted).
type GaveUpError struct {
	Supervisor string        // stable name of the supervisor that gave up
	Child      string        // stable name of the child whose failure exceeded the intensity
	Restarts   int           // restarts performed within Window
	Window     time.Duration // the intensity window
	Cause      any           // the child's last panic value or error
}

func (e *GaveUpError) Error() string {
	sup := e.Supervisor
	if sup == "" {
		sup = "(root)"
	}
	return fmt.Sprintf("supervisor %s gave up on %s after %d restarts in %s: %v",
		sup, e.Child, e.Restarts, e.Window, e.Cause)
}

// Is makes errors.Is(err, ErrGaveUp) true.
func (e *GaveUpError) Is(target error) bool { return target == ErrGaveUp }

// Unwrap returns the cause when it is an error.
func (e *GaveUpError) Unwrap() error {
	if err, ok := e.Cause.(error); ok {
		return err
	}
	return nil
}
