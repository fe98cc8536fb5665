package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

// Member statuses in a Members snapshot.
const (
	// StatusAlive: memberlist holds the member alive (or only suspected).
	StatusAlive = "alive"
	// StatusUnresponsive: still a member, but no direct probe of ours has
	// been answered for three probe rounds; memberlist has not (yet)
	// declared it dead. (memberlist only: etcd has no probes.)
	StatusUnresponsive = "unresponsive"
	// StatusBlocked: the provider holds the member alive, but protoactor
	// refuses it: it was declared dead (a false positive: it paused longer
	// than the failure detector allows, or lost its etcd lease) and came
	// back with the same
	// instance id, which protoactor's block list never forgets (upstream
	// #1083). It gets no events, PID refuses it, and it stays so until its
	// process restarts (a new instance id).
	StatusBlocked = "blocked"
)

// Member is one member in a Members snapshot.
type Member struct {
	Name       string `json:"name"`
	InstanceID string `json:"instance_id"` // new at every start of the process
	// Address is the remote (actor) address, host:port: the Address of
	// the member's PIDs.
	Address       string `json:"address"`
	GossipAddress string `json:"gossip_address"`
	Status        string `json:"status"`
	// LastSeen is the last direct probe ack (memberlist) or registration
	// change (etcd); now for Self.
	LastSeen time.Time `json:"last_seen"`
	Self     bool      `json:"self,omitempty"`
}

// Node is this process's membership in a cluster: protoactor's remote and
// cluster on top of the memberlist or etcd provider. Start it once per process
// (protoactor's remote replaces gRPC's global logger) and Stop it before
// the actor system goes.
type Node struct {
	sys    *actor.ActorSystem
	cl     *cluster.Cluster
	prov   *provider
	cfg    Config
	panics atomic.Uint64

	stopOnce sync.Once
	stopped  atomic.Bool
}

// Start makes sys a member of the cluster cfg describes: it binds the
// remote port and the gossip port on cfg.Host only, joins the seeds (in the
// background while none answers; with etcd: registers there) and starts publishing event.MemberJoined
// and event.MemberLeft on sys's event stream for the other members.
//
// It takes about a second (protoactor's StartMember waits that long) and
// cannot be cancelled half-way; ctx is checked before and after. On error
// sys's remote may be half started: discard sys.
func Start(ctx context.Context, sys *actor.ActorSystem, cfg Config) (*Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	port := cfg.Port
	if port == 0 {
		// The remote port goes into the gossip metadata before protoactor
		// listens, so pick it now; the window in which another process
		// could take it is a few milliseconds, and Start then fails.
		var err error
		if port, err = freePort(cfg.Host); err != nil {
			return nil, err
		}
	}
	n := &Node{sys: sys, cfg: cfg}
	logger := sys.Logger()
	prov, err := newProvider(cfg, meta{InstanceID: sys.ID, Host: cfg.Host, Port: port}, logger)
	if err != nil {
		return nil, err
	}
	n.prov = prov
	srvOpts, dialOpts := grpcOptions(cfg, logger, &n.panics)
	rc := remote.Configure(cfg.Host, port, remote.WithServerOptions(srvOpts...), remote.WithDialOptions(dialOpts...))
	cc := cluster.Configure(cfg.Cluster, prov, disthash.New(), rc)
	if err := n.startMember(cc); err != nil {
		_ = prov.Shutdown(false)
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		_ = n.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	logger.Info("cluster: member started", slog.String("name", cfg.Name), slog.String("address", sys.Address()),
		slog.String("gossip", prov.gossipAddr()), slog.String("instance_id", sys.ID))
	return n, nil
}

// startMember runs protoactor's StartMember, which reports failures (a
// port in use) by panicking.
func (n *Node) startMember(cc *cluster.Config) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", ErrStart, v)
		}
	}()
	n.cl = cluster.New(n.sys, cc)
	n.cl.StartMember()
	return nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrStart, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop leaves the cluster cleanly: the others drop this member at once
// (memberlist's leave is gossiped before anything else stops), then the
// gossip, identity and remote layers stop; the actor system itself is left
// to its owner. ctx bounds the wait for the remote's graceful stop (the
// rest goes on in the background). Idempotent.
//
// It does not call protoactor's Cluster.Shutdown, which sleeps two seconds
// and shuts the actor system down (closing a channel its owner closes
// again when it stops the system: a panic).
func (n *Node) Stop(ctx context.Context) error {
	var err error
	n.stopOnce.Do(func() {
		n.stopped.Store(true)
		// protoactor peers block an id that announces a graceful leave, as
		// they would on its departure from the topology anyway.
		n.cl.Gossip.SetState(cluster.GracefullyLeftKey, &emptypb.Empty{})
		// Leave first and synchronously: it is what makes "gone at once"
		// true, and it is the part a caller waits for.
		err = n.prov.Shutdown(true)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				// protoactor's endpoint manager can send, while stopping, on
				// a channel an endpoint reader has already closed
				// (remote/endpoint_manager.go, stop): a panic that would
				// take the process down on its way out. This member has
				// left already; the stop carries on.
				if v := recover(); v != nil {
					n.sys.Logger().Warn("cluster: protoactor's remote panicked while stopping; ignored", slog.Any("panic", v))
				}
			}()
			n.cl.IdentityLookup.Shutdown()
			n.cl.Gossip.Shutdown()
			n.cl.Remote.Shutdown(true)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
	})
	return err
}

// Self is this member as the others see it.
func (n *Node) Self() Member {
	return Member{
		Name: n.cfg.Name, InstanceID: n.sys.ID, Address: n.sys.Address(),
		GossipAddress: n.prov.gossipAddr(), Status: StatusAlive, LastSeen: time.Now(), Self: true,
	}
}

// Members is a snapshot of the cluster as this member sees it, sorted by
// name, this member included (Self). A member that left cleanly is absent
// at once; one that died is absent once failure detection has declared it.
func (n *Node) Members() []Member { return n.prov.members() }

// RemotePanics counts the remote streams dropped because a peer's frame
// made protoactor's receiver panic.
func (n *Node) RemotePanics() uint64 { return n.panics.Load() }

// PID resolves the actor registered under id (its process name, e.g.
// "vsm/s1/pool/api", vsm.PoolActorID) on the member named member to a PID. It does not check
// that the actor exists: a request to a missing one gets ask.ErrNoActor
// back, one to a member that died times out at its deadline.
func (n *Node) PID(member, id string) (*actor.PID, error) {
	if n.stopped.Load() {
		return nil, ErrStopped
	}
	for _, m := range n.prov.current().members {
		if m.Name == member && m.Status != StatusBlocked {
			return actor.NewPID(m.Address, id), nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownMember, member)
}

// isRemote reports whether pid lives in another process than sender's.
func isRemote(sender actor.SenderContext, pid *actor.PID) bool {
	a := pid.GetAddress()
	// "nonhost" is protoactor's address of a system with no remote.
	return a != "" && a != "nonhost" && a != sender.ActorSystem().Address()
}

// check refuses what protoactor would mishandle: a nil message (a mailbox
// spins on it), a non-proto message for another member (dropped with a log
// line, the caller only times out) and an address that is no member now.
// The last one matters beyond failing fast: protoactor creates an endpoint
// writer for any address sent to, which retries a dead one for 10 s with
// its mailbox blocked, and when it finally gives up it terminates whatever
// endpoint then serves that address: the endpoint of the member restarted
// there meanwhile, dropping its queued messages. (One stopped before that
// did the same; quietClose, in remote.go, keeps it quiet.)
func (n *Node) check(sender actor.SenderContext, pid *actor.PID, msg any) error {
	if n.stopped.Load() {
		return ErrStopped
	}
	if msg == nil || pid == nil {
		return fmt.Errorf("cluster: nil message or PID")
	}
	if !isRemote(sender, pid) {
		return nil
	}
	if _, ok := msg.(proto.Message); !ok {
		return fmt.Errorf("%w: %T to %s", ErrNotProto, msg, pid)
	}
	if n.prov.current().reachable(pid.GetAddress()) {
		return nil
	}
	return fmt.Errorf("%w: no member at %s (for %s)", ErrUnknownMember, pid.GetAddress(), pid.GetId())
}

// Send sends msg to pid from sender (an actor's context or the root). For
// a PID on another member msg must be a proto.Message (ErrNotProto here,
// where protoactor would drop it with a log line) and the member must be
// in the cluster now (ErrUnknownMember).
func (n *Node) Send(sender actor.SenderContext, pid *actor.PID, msg any) error {
	if err := n.check(sender, pid, msg); err != nil {
		return err
	}
	sender.Send(pid, msg)
	return nil
}

// Request sends msg to pid through n and waits for a reply of type T until
// ctx ends (ask.DefaultTimeout without a deadline). The reply to a remote
// request crosses the network too, so T is normally a proto message
// pointer. It fails at once as Send does; a member that dies with the
// request in flight gives context.DeadlineExceeded at the deadline, never
// a hang; a missing actor gives ask.ErrNoActor. Inside an actor prefer
// ctx.Request with a reply handler: blocking the mailbox for a network round
// trip stalls the actor.
func Request[T any](ctx context.Context, n *Node, sender actor.SenderContext, pid *actor.PID, msg any) (T, error) {
	if err := n.check(sender, pid, msg); err != nil {
		var zero T
		return zero, err
	}
	return ask.Ask[T](ctx, sender, pid, msg)
}
