package dispatch

import "github.com/asynkron/protoactor-go/actor"

// StackBytes is the stack a mailbox run starts with, at least: room for
// protoactor's frames, a handler and a reply sent to another mailbox.
const StackBytes = 8 << 10

// DefaultThroughput is protoactor's default: the messages a mailbox
// handles in a row before it yields the processor.
const DefaultThroughput = 300

// New returns the dispatcher, with DefaultThroughput. It holds no state:
// one value may serve any number of actors and systems.
func New() actor.Dispatcher { return dispatcher(DefaultThroughput) }

type dispatcher int

var _ actor.Dispatcher = dispatcher(0)

// Schedule runs fn, a mailbox run, on a new goroutine.
func (dispatcher) Schedule(fn func()) { go run(fn) }

// Throughput implements actor.Dispatcher.
func (d dispatcher) Throughput() int { return int(d) }

func run(fn func()) {
	grow(0)
	fn()
}

// grow has a frame of most of StackBytes, so calling it at the base of a
// new goroutine makes the runtime grow the stack there (to the next power
// of two that fits, StackBytes), while one frame is on it. i is always 0:
// an index the compiler cannot see through keeps the frame.
//
//go:noinline
func grow(i int) byte {
	var pad [StackBytes - 2<<10]byte
	pad[i] = byte(i)
	return pad[len(pad)-1-i]
}
