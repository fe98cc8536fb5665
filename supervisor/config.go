package supervisor

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// Strategy chooses which children restart when one fails.
type Strategy int

const (
	// OneForOne restarts only the failed child.
	OneForOne Strategy = iota
	// AllForOne restarts every live child when one fails.
	AllForOne
	// RestForOne restarts the failed child and every live child started
	// after it (static children in spec order, then dynamic ones in the
	// order StartChild added them).
	RestForOne
)

var strategyNames = [...]string{OneForOne: "one_for_one", AllForOne: "all_for_one", RestForOne: "rest_for_one"}

func (s Strategy) String() string {
	if s < OneForOne || s > RestForOne {
		return fmt.Sprintf("strategy(%d)", int(s))
	}
	return strategyNames[s]
}

// ParseStrategy accepts "one_for_one", "all_for_one" or "rest_for_one"
// (case-insensitive, '-' accepted for '_'); "" means OneForOne.
func ParseStrategy(name string) (Strategy, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
	if n == "" {
		return OneForOne, nil
	}
	for i, v := range strategyNames {
		if v == n {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want one_for_one, all_for_one or rest_for_one)", ErrStrategy, name)
}

// MarshalText writes the strategy's name.
func (s Strategy) MarshalText() ([]byte, error) {
	if s < OneForOne || s > RestForOne {
		return nil, fmt.Errorf("%w %d", ErrStrategy, int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a strategy's name.
func (s *Strategy) UnmarshalText(b []byte) error {
	v, err := ParseStrategy(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Defaults applied to a zero Config.
//
// The intensity is counted per supervisor, as in OTP: DefaultMaxRestarts
// restarts of any of its children within DefaultWindow are allowed, the next
// one makes it give up. OTP's default is 1 in 5s and Ergo's 5 in 5s; 3 in 5s
// sits between them: a node's system supervisors hold several independent
// units (pools, breakers, checkers), so one restart would make two
// unrelated flukes a second apart take a whole system down, while a real
// crash loop (a child failing at start) still exhausts 3 restarts in
// milliseconds and escalates at once.
const (
	DefaultMaxRestarts = 3
	DefaultWindow      = 5 * time.Second
	DefaultBackoffMax  = time.Second
)

// AutoShutdown says when a supervisor stops itself because its significant
// children have terminated by themselves (OTP 24's auto_shutdown).
type AutoShutdown int

const (
	// Never: significant children are refused (ErrInvalidSpec).
	Never AutoShutdown = iota
	// AnySignificant: the supervisor shuts down (stops its other children in
	// reverse start order, then itself, a normal exit) as soon as one
	// significant child terminates by itself: a transient one exiting
	// normally, a temporary one exiting or failing.
	AnySignificant
	// AllSignificant: the supervisor shuts down once every significant child
	// has terminated by itself.
	AllSignificant
)

var autoShutdownNames = [...]string{Never: "never", AnySignificant: "any_significant", AllSignificant: "all_significant"}

func (a AutoShutdown) String() string {
	if a < Never || a > AllSignificant {
		return fmt.Sprintf("auto_shutdown(%d)", int(a))
	}
	return autoShutdownNames[a]
}

// Config is a supervisor's restart policy. The zero value is one-for-one,
// at most 3 restarts of its children (all of them together) in 5s, no
// backoff, escalating on give-up, no automatic shutdown.
type Config struct {
	Strategy Strategy
	// MaxRestarts is the restart intensity: at most this many restarts of
	// this supervisor's children (any of them, counted together) within
	// Window; one more makes the supervisor give up: it stops all its
	// children in reverse start order and escalates (TopLevel: stops
	// itself). 0 means DefaultMaxRestarts; negative means never restart (a
	// failed child is stopped, nothing escalates).
	MaxRestarts int
	// Window of the restart intensity. 0 means DefaultWindow.
	Window time.Duration
	// IntensityPerChild counts MaxRestarts for each child on its own
	// instead of for the supervisor as a whole (this package's behaviour
	// before it followed OTP): children that crash in turn then never make
	// the supervisor give up.
	IntensityPerChild bool
	// Backoff delays restarts; zero restarts at once. The delay grows with
	// the number of restarts counted within the window.
	Backoff Backoff
	// TopLevel marks a supervisor with none of ours above it: on give-up it
	// raises an Emergency alert, stops its children and then itself, instead
	// of escalating.
	TopLevel bool
	// AutoShutdown lets significant children end the supervisor; the zero
	// value is Never.
	AutoShutdown AutoShutdown

	// clock is injected by tests; nil means the wall clock.
	clock clock
}

func (c Config) normalized() Config {
	if c.MaxRestarts == 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.clock == nil {
		c.clock = wallClock{}
	}
	return c
}

// Backoff is an exponential delay between restarts of a child: the n-th
// restart within the window waits Initial * 2^(n-1), capped at Max. A zero
// Initial restarts at once; a zero Max means DefaultBackoffMax.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay is the wait before the n-th restart (n counted from 1) within the
// window.
func (b Backoff) Delay(n int) time.Duration {
	if b.Initial <= 0 || n < 1 {
		return 0
	}
	limit := b.Max
	if limit <= 0 {
		limit = DefaultBackoffMax
	}
	d := b.Initial
	// Doubling until the cap avoids overflowing 2^(n-1) for large n.
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Env is what every supervisor of one node shares.
type Env struct {
	// Directory maps stable names to PIDs and holds the tree snapshot. nil
	// gives each supervisor a private one (fine in tests, useless for a
	// node).
	Directory *Directory
	// Events receives the typed events of package event; nil publishes none.
	Events *eventstream.EventStream
	// Alerts receives give-up alerts; nil raises none.
	Alerts algedonic.Raiser
	// Logger receives unknown messages and spawn errors; nil discards.
	Logger *slog.Logger
}

// clock is the time source of restart intensity and backoff.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) timer
}

type timer interface{ Stop() bool }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }
