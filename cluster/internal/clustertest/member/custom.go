package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/actors/pb"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/internal/ask"
)

// Names of the connection actors every member runs ("pool" only with
// -pool). A vsm node names them s1/pool/<name> and s1/breaker/<name>; this
// member has no node, so short names do.
const (
	poolName    = "pool"
	breakerName = "breaker"
)

// spawnConnections starts a breaker actor and, when upstream is set, an
// HTTP pool actor whose only endpoint is upstream.
func spawnConnections(sys *actor.ActorSystem, upstream string) error {
	if _, err := sys.Root.SpawnNamed(breakeractor.Props(cb.New(breakerName, cb.Settings{}), breakeractor.Env{}), breakerName); err != nil {
		return err
	}
	if upstream == "" {
		return nil
	}
	c, err := httppool.New(httppool.Config{Name: poolName, Endpoints: []string{upstream}, Size: 4, Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	_, err = sys.Root.SpawnNamed(httppool.Props(c, httppool.Env{}), poolName)
	return err
}

// customActor is what a user of the library writes: an actor of its own
// that calls a pool actor, maybe on another member, with ctx.Request (the
// reply comes back to it as a message; no blocking in Receive), and hands
// the outcome to done.
type customActor struct {
	pool *actor.PID
	url  string
	done func(*httppool.Response, error)
}

func (a *customActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		// The deadline bounds the pool's work on its member; the receive
		// timeout bounds our wait when the member never answers.
		ctx.Request(a.pool, &pb.HttpDoRequest{Method: "GET", Url: a.url, DeadlineUnixNano: time.Now().Add(5 * time.Second).UnixNano()})
		ctx.SetReceiveTimeout(5 * time.Second)
	case *pb.HttpResponse, *pb.HttpFailure:
		r, err := httppool.ReplyFromProto(m)
		a.finish(ctx, r, err)
	case *actor.DeadLetterResponse:
		// The member has no such actor: protoactor answers a request with
		// a dead letter, which a custom actor must handle or time out.
		a.finish(ctx, nil, fmt.Errorf("custom actor: %s: %w", a.pool.GetId(), ask.ErrNoActor))
	case *actor.ReceiveTimeout:
		a.finish(ctx, nil, errors.New("custom actor: no reply from the pool"))
	}
}

func (a *customActor) finish(ctx actor.Context, r *httppool.Response, err error) {
	ctx.CancelReceiveTimeout()
	a.done(r, err)
	ctx.Stop(ctx.Self())
}

// runCustom spawns a custom actor that requests url from member's pool
// actor and prints its outcome as a "custom" line.
func runCustom(sys *actor.ActorSystem, node *cluster.Node, member, url string) {
	fields := map[string]any{"to": member}
	pid, err := node.PID(member, poolName)
	if err != nil {
		fields["err"], fields["kind"] = err.Error(), errKind(err)
		emit("custom", fields)
		return
	}
	start := time.Now()
	props := actor.PropsFromProducer(func() actor.Actor {
		return &customActor{pool: pid, url: url, done: func(r *httppool.Response, err error) {
			fields["took"] = time.Since(start).Nanoseconds()
			if err != nil {
				fields["err"], fields["kind"] = err.Error(), errKind(err)
			} else {
				fields["status"] = r.Status
				fields["value"] = string(r.Body)
				fields["endpoint"] = r.Endpoint
			}
			emit("custom", fields)
		}}
	})
	sys.Root.Spawn(props)
}

// runBench makes n sequential requests and prints their total time as a
// "benched" line: local asks this member's breaker actor for its stats
// (Go messages, no serialisation); remote asks member's breaker actor the
// same through the cluster (proto messages over the remote); bare-remote
// is a bare protoactor request of a StringValue to member's echo actor,
// over the same remote connection, through no code of this module.
func runBench(ctx context.Context, sys *actor.ActorSystem, node *cluster.Node, mode, member string, n int) {
	fields := map[string]any{"kind": mode, "to": member, "n": n}
	err := bench(ctx, sys, node, mode, member, n, func(d time.Duration) { fields["took"] = d.Nanoseconds() })
	if err != nil {
		fields["err"] = err.Error()
	}
	emit("benched", fields)
}

func bench(ctx context.Context, sys *actor.ActorSystem, node *cluster.Node, mode, member string, n int, took func(time.Duration)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var one func() error
	switch mode {
	case "local":
		pid := sys.NewLocalPID(breakerName)
		one = func() error { _, err := breakeractor.Stats(ctx, sys.Root, pid); return err }
	case "remote":
		pid, err := node.PID(member, breakerName)
		if err != nil {
			return err
		}
		one = func() error { _, err := breakeractor.RemoteStats(ctx, node, pid); return err }
	case "bare-remote":
		pid, err := node.PID(member, "echo")
		if err != nil {
			return err
		}
		msg := wrapperspb.String("x")
		one = func() error {
			r, err := sys.Root.RequestFuture(pid, msg, 2*time.Second).Result()
			if err != nil {
				return err
			}
			if _, ok := r.(*wrapperspb.StringValue); !ok {
				return fmt.Errorf("bare-remote: reply %T", r)
			}
			return nil
		}
	default:
		return fmt.Errorf("unknown bench mode %q", mode)
	}
	start := time.Now()
	for range n {
		if err := one(); err != nil {
			return err
		}
	}
	took(time.Since(start))
	return nil
}

// errKind names the sentinel err matches, so the driving test can check
// the identity that crossed the members, not only the text.
func errKind(err error) string {
	switch {
	case errors.Is(err, httppool.ErrBadRequest):
		return "httppool.bad_request"
	case errors.Is(err, ask.ErrNoActor):
		return "ask.no_actor"
	case errors.Is(err, cluster.ErrUnknownMember):
		return "cluster.unknown_member"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return ""
}
