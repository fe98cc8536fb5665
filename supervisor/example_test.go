package supervisor_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/supervisor"
)

type echo struct{}

func (echo) Receive(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok {
		ctx.Respond("echo " + s)
	}
}

func Example() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	env := supervisor.Env{Directory: supervisor.NewDirectory(), Events: sys.EventStream}
	echoProps := actor.PropsFromProducer(func() actor.Actor { return echo{} })

	// The node root is TopLevel; System 1 below it restarts rest-for-one.
	rootProps := supervisor.Props("", supervisor.Config{TopLevel: true}, env,
		supervisor.SupervisorChild("", "s1", supervisor.Config{Strategy: supervisor.RestForOne}, env,
			supervisor.Worker("pool/api", echoProps)))
	root, _ := sys.Root.SpawnNamed(rootProps, "node")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A request is handled after Started, so s1 is registered once List returns.
	_, _ = supervisor.List(ctx, sys.Root, root)
	s1, _ := env.Directory.Lookup("s1")
	_, _ = supervisor.List(ctx, sys.Root, s1)

	if _, err := supervisor.Start(ctx, sys.Root, s1, supervisor.Worker("breaker/api", echoProps)); err != nil {
		fmt.Println(err)
	}
	_, err := supervisor.Start(ctx, sys.Root, s1, supervisor.Worker("breaker/api", echoProps))
	fmt.Println(err)

	api, _ := env.Directory.Lookup("s1/pool/api")
	reply, _ := sys.Root.RequestFuture(api, "hi", time.Second).Result()
	fmt.Println(reply)

	var show func(n supervisor.TreeNode, indent string)
	show = func(n supervisor.TreeNode, indent string) {
		fmt.Printf("%s%q %s\n", indent, n.Name, n.Kind)
		for _, c := range n.Children {
			show(c, indent+"  ")
		}
	}
	show(env.Directory.Tree(), "")

	_ = sys.Root.StopFuture(root).Wait()
	fmt.Println(len(env.Directory.Names()), "registered after stop")
	// Output:
	// supervisor: duplicate child name: "breaker/api"
	// echo hi
	// "" supervisor
	//   "s1" supervisor
	//     "s1/pool/api" worker
	//     "s1/breaker/api" worker
	// 0 registered after stop
}
