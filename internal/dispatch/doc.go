// Package dispatch is the dispatcher of the connection actors: it runs
// each mailbox as protoactor's default does (a goroutine per run,
// DefaultThroughput messages before yielding), but first grows the new
// goroutine's stack to StackBytes at its base.
//
// Why: protoactor starts a fresh goroutine whenever an idle mailbox gets
// a message, so an actor answering one request at a time runs every
// request on a new goroutine with the runtime's small starting stack.
// The request and its reply go a dozen frames deep (mailbox, context,
// handler, Respond, the sender's mailbox queue) and outgrow it, and the
// runtime copies the stack there, walking every frame: in a profile of a
// request/reply between two actors that copying was over half the CPU,
// about 1.1 µs per message. Grown at the base, the copy has one frame to
// move and costs about a quarter of that.
//
// A goroutine's stack is the runtime's to size; a handler that goes
// deeper than StackBytes still grows it as usual. The cost is memory
// only while a mailbox runs: an idle actor has no goroutine.
package dispatch
