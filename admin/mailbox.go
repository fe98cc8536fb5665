package admin

import (
	"reflect"
	"strings"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"
)

// mailboxDepth is the number of user messages queued for a local actor, or
// false when it cannot be read.
//
// protoactor has the figure (Mailbox.UserMessageCount, an atomic load) but
// does not export the mailbox of a registered process: ActorProcess keeps
// it in an unexported field. Wrapping every mailbox at spawn time would
// need a hook in every Props of the tree, so this reads the field by
// reflection instead. The pinned protoactor version sets the field once, in
// NewActorProcess, before the process is registered, so the read does not
// race. If a protoactor upgrade renames or retypes the field, the depth is
// simply not shown (TestMailboxDepth fails and says so).
func mailboxDepth(sys *actor.ActorSystem, pid string) (int, bool) {
	// Tree PIDs are "address/id"; the registry is keyed by id.
	id, ok := strings.CutPrefix(pid, sys.Address()+"/")
	if !ok || id == "" {
		return 0, false
	}
	proc, ok := sys.ProcessRegistry.GetLocal(id)
	if !ok {
		return 0, false
	}
	ap, ok := proc.(*actor.ActorProcess)
	if !ok {
		return 0, false
	}
	mb, ok := mailboxOf(ap)
	if !ok {
		return 0, false
	}
	return mb.UserMessageCount(), true
}

var mailboxType = reflect.TypeFor[actor.Mailbox]()

func mailboxOf(ap *actor.ActorProcess) (actor.Mailbox, bool) {
	f := reflect.ValueOf(ap).Elem().FieldByName("mailbox")
	if !f.IsValid() || f.Type() != mailboxType {
		return nil, false
	}
	mb, _ := reflect.NewAt(mailboxType, unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(actor.Mailbox)
	return mb, mb != nil
}
