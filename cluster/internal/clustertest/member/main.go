// Command member is a test-only cluster member: the cluster package's
// tests build it (without -race: protoactor's cluster code races) and drive
// several copies as OS processes. It prints one JSON object per line on
// stdout and reads commands, one per line, on stdin:
//
//	members                  print the Members snapshot
//	request <member> <text>  request the member's "echo" actor; print the reply
//	requestpid <addr> <text> the same to echo at a remote address (no lookup)
//	sendplain <member>       send a non-proto value to its echo; print the error
//	panics                   print how many remote streams panicked
//	custom <member> <url>    a custom actor requests url from the member's
//	                         "pool" actor with ctx.Request; print the reply
//	bench <mode> <member> <n> n requests (local, remote or bare-remote: see
//	                         runBench); print the total time
//	leave                    stop cleanly, print "stopped", exit
//
// Every member runs a breaker actor named "breaker"; with -pool host:port
// also an HTTP pool actor named "pool" with that only endpoint.
//
// With -attack host:port it starts no member: it sends each kind of
// malformed remote frame to that address and prints what happened.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actorsys"
)

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(kind string, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["event"] = kind
	fields["t"] = time.Now().UnixNano()
	out.Lock()
	defer out.Unlock()
	_ = out.enc.Encode(fields)
}

func main() {
	var (
		cfg                    cluster.Config
		seeds, keyFile         string
		caFile, certFile, keyF string
		attack, only, etcd     string
		logLevel, upstream     string
	)
	flag.StringVar(&cfg.Name, "name", "", "member name")
	flag.StringVar(&cfg.Host, "host", "127.0.0.1", "bind host")
	flag.IntVar(&cfg.Port, "port", 0, "remote port")
	flag.IntVar(&cfg.GossipPort, "gossip-port", 0, "gossip port")
	flag.StringVar(&seeds, "seeds", "", "comma-separated gossip seeds")
	flag.StringVar(&cfg.Provider, "provider", "", "memberlist or etcd")
	flag.StringVar(&etcd, "etcd", "", "comma-separated etcd endpoints")
	flag.DurationVar(&cfg.Etcd.LeaseTTL, "lease-ttl", 0, "etcd lease TTL")
	flag.StringVar(&keyFile, "key-file", "", "gossip key file (raw bytes)")
	flag.StringVar(&caFile, "tls-ca", "", "CA file")
	flag.StringVar(&certFile, "tls-cert", "", "certificate file")
	flag.StringVar(&keyF, "tls-key", "", "key file")
	flag.DurationVar(&cfg.Timings.ProbeInterval, "probe-interval", 0, "")
	flag.DurationVar(&cfg.Timings.ProbeTimeout, "probe-timeout", 0, "")
	flag.IntVar(&cfg.Timings.SuspicionMult, "suspicion-mult", 0, "")
	flag.StringVar(&attack, "attack", "", "send malformed frames to this remote address and exit")
	flag.StringVar(&only, "only", "", "with -attack: send only this kind")
	flag.StringVar(&logLevel, "log", "warn", "log level")
	flag.StringVar(&upstream, "pool", "", "run a pool actor with this only endpoint (host:port)")
	flag.Parse()

	if attack != "" {
		runAttack(attack, only)
		return
	}
	if seeds != "" {
		cfg.Seeds = strings.Split(seeds, ",")
	}
	if etcd != "" {
		cfg.Etcd.Endpoints = strings.Split(etcd, ",")
	}
	if keyFile != "" {
		k, err := os.ReadFile(keyFile)
		if err != nil {
			fatal(err)
		}
		cfg.GossipKey = k
	}
	if caFile != "" {
		var err error
		if cfg.TLS, cfg.ClientTLS, err = cluster.LoadTLS(caFile, certFile, keyF); err != nil {
			fatal(err)
		}
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(logLevel))
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	sys := actorsys.New(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))

	// Events are printed from a queue, not on the publisher's goroutine.
	sub := event.Subscribe(sys.EventStream, func(ev event.Event) {
		switch e := ev.(type) {
		case *event.MemberJoined:
			emit(e.Kind(), map[string]any{"node": e.Node, "instance_id": e.InstanceID, "address": e.Address})
		case *event.MemberLeft:
			emit(e.Kind(), map[string]any{"node": e.Node, "instance_id": e.InstanceID, "address": e.Address})
		}
	}, event.WithFilter(func(ev event.Event) bool {
		switch ev.(type) {
		case *event.MemberJoined, *event.MemberLeft:
			return true
		}
		return false
	}))
	defer sub.Cancel()

	ctx := context.Background()
	name := cfg.Name
	if _, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(wrapperspb.String(name + ":" + m.GetValue()))
		}
	}), "echo"); err != nil {
		fatal(err)
	}
	if err := spawnConnections(sys, upstream); err != nil {
		fatal(err)
	}
	node, err := cluster.Start(ctx, sys, cfg)
	if err != nil {
		fatal(err)
	}
	self := node.Self()
	emit("ready", map[string]any{"node": self.Name, "instance_id": self.InstanceID, "address": self.Address, "gossip": self.GossipAddress})

	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "members":
			emit("members", map[string]any{"members": node.Members()})
		case "request", "requestpid":
			var pid *actor.PID
			var err error
			if f[0] == "request" {
				pid, err = node.PID(f[1], "echo")
			} else {
				pid = actor.NewPID(f[1], "echo")
			}
			fields := map[string]any{"to": f[1]}
			if err == nil {
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				start := time.Now()
				var r *wrapperspb.StringValue
				r, err = cluster.Request[*wrapperspb.StringValue](rctx, node, sys.Root, pid, wrapperspb.String(f[2]))
				cancel()
				fields["took"] = time.Since(start).Nanoseconds()
				if err == nil {
					fields["value"] = r.GetValue()
				}
			}
			if err != nil {
				fields["err"] = err.Error()
			}
			emit("reply", fields)
		case "sendplain":
			fields := map[string]any{"to": f[1]}
			pid, err := node.PID(f[1], "echo")
			if err == nil {
				err = node.Send(sys.Root, pid, struct{ Hello string }{"plain"})
			}
			if err != nil {
				fields["err"] = err.Error()
			}
			emit("sent", fields)
		case "custom":
			if len(f) != 3 {
				emit("error", map[string]any{"err": "usage: custom <member> <url>"})
				continue
			}
			runCustom(sys, node, f[1], f[2])
		case "bench":
			n, err := strconv.Atoi(f[len(f)-1])
			if len(f) != 4 || err != nil {
				emit("error", map[string]any{"err": "usage: bench <mode> <member> <n>"})
				continue
			}
			runBench(ctx, sys, node, f[1], f[2], n)
		case "panics":
			emit("panics", map[string]any{"n": node.RemotePanics()})
		case "leave":
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := node.Stop(sctx)
			cancel()
			fields := map[string]any{}
			if err != nil {
				fields["err"] = err.Error()
			}
			emit("stopped", fields)
			return
		default:
			emit("error", map[string]any{"err": "unknown command " + f[0]})
		}
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		fatal(err)
	}
}

func fatal(err error) {
	emit("fatal", map[string]any{"err": err.Error()})
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
