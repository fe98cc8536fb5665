package admin

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/supervisor"
)

// mailboxDepth reads protoactor's unexported mailbox: this fails first if
// an upgrade of protoactor moves it.
func TestMailboxDepth(t *testing.T) {
	sys := actor.NewActorSystem()
	// inside has room for the first signal, so that it is not lost when
	// the test is not receiving yet; later messages find it full.
	inside, release := make(chan struct{}, 1), make(chan struct{})
	pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(int); ok {
			select {
			case inside <- struct{}{}:
			default:
			}
			<-release
		}
	}), "slow")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(release)
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Error(err)
		}
		sys.Shutdown()
	}()
	if d, ok := mailboxDepth(sys, supervisor.PIDString(pid)); !ok || d != 0 {
		t.Fatalf("idle depth = %d %v, want 0 true", d, ok)
	}
	sys.Root.Send(pid, 0)
	select {
	case <-inside:
	case <-time.After(10 * time.Second):
		t.Fatal("actor never got its first message")
	}
	for i := 1; i <= 5; i++ {
		sys.Root.Send(pid, i)
	}
	if d, ok := mailboxDepth(sys, supervisor.PIDString(pid)); !ok || d != 5 {
		t.Fatalf("depth = %d %v, want 5 true", d, ok)
	}
	if _, ok := mailboxDepth(sys, supervisor.PIDString(pid)+"-gone"); ok {
		t.Fatal("depth of an unknown actor")
	}
	if _, ok := mailboxDepth(sys, ""); ok {
		t.Fatal("depth of an empty PID")
	}
}
