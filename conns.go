package vsm

import (
	"context"

	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/ws"
)

// The node's WebSocket and gRPC pools: System 1's units, handed out here.
// They are the Go equivalents of the seed's request(:websocket, ...) and
// request(:grpc, ...): node.WebSocket(name).Send(ctx, key, msg) and
// pb.NewXClient(node.GRPC(name)).Method(ctx, req).

// connOptions are the Start options of the WebSocket and gRPC pools.
type connOptions struct {
	ws   map[string][]func(*ws.Config)
	grpc map[string][]func(*grpcpool.Config)
}

// WithWebSocketConfig lets fn change the config that Start builds for the
// WebSocket pool called pool from its YAML, before the pool dials: what a
// file cannot hold, such as the Handler that receives messages,
// Subscriptions replayed after every connect, OnReconnect, or a TLSConfig.
// fn runs once per pool, on Start's goroutine; several calls for one pool
// apply in order. A name that no websocket pool has is ignored.
func WithWebSocketConfig(pool string, fn func(*ws.Config)) Option {
	return optionFunc(func(o *options) {
		if fn == nil {
			return
		}
		if o.conns.ws == nil {
			o.conns.ws = map[string][]func(*ws.Config){}
		}
		o.conns.ws[pool] = append(o.conns.ws[pool], fn)
	})
}

// WithGRPCConfig lets fn change the config that Start builds for the gRPC
// pool called pool from its YAML: DialOptions (interceptors of the
// application's, which run inside the pool's), a ServiceConfig, a
// TLS configuration of its own. As WithWebSocketConfig.
func WithGRPCConfig(pool string, fn func(*grpcpool.Config)) Option {
	return optionFunc(func(o *options) {
		if fn == nil {
			return
		}
		if o.conns.grpc == nil {
			o.conns.grpc = map[string][]func(*grpcpool.Config){}
		}
		o.conns.grpc[pool] = append(o.conns.grpc[pool], fn)
	})
}

// tuneWebSocket and tuneGRPC hand the options to S1.
func (o connOptions) tuneWebSocket(pool string, c *ws.Config) {
	for _, fn := range o.ws[pool] {
		fn(c)
	}
}

func (o connOptions) tuneGRPC(pool string, c *grpcpool.Config) {
	for _, fn := range o.grpc[pool] {
		fn(c)
	}
}

// WebSocket returns the WebSocket pool called name (protocol websocket in
// pools:): Send(ctx, key, msg) on it sends on one of its connections
// (round robin, or sticky by key), Pick(key) gives a connection, Stats()
// its figures. Its connections are the actors "s1/pool/<name>/conn/<i>".
func (n *Node) WebSocket(name string) (*ws.Pool, bool) {
	if n.s1 == nil {
		return nil, false
	}
	return n.s1.WebSocket(name)
}

// WebSockets returns every WebSocket pool, sorted by name.
func (n *Node) WebSockets() []*ws.Pool {
	if n.s1 == nil {
		return nil
	}
	return n.s1.WebSockets()
}

// GRPC returns the gRPC pool called name (protocol grpc in pools:). The
// channel is a grpc.ClientConnInterface, so generated stubs take it
// unchanged: pb.NewUserServiceClient(ch). Each call goes through the
// pool's interceptors (deadline, retry, breaker, events); the channel
// actor "s1/pool/<name>" accepts *grpcpool.Invoke for actors that call by
// message (grpcpool.Call).
func (n *Node) GRPC(name string) (*grpcpool.Channel, bool) {
	if n.s1 == nil {
		return nil, false
	}
	return n.s1.GRPC(name)
}

// GRPCs returns every gRPC pool, sorted by name.
func (n *Node) GRPCs() []*grpcpool.Channel {
	if n.s1 == nil {
		return nil
	}
	return n.s1.GRPCs()
}

// closeConns closes the WebSocket and gRPC pools; Stop calls it once every
// system has stopped, so that no connection actor redials.
func (n *Node) closeConns(ctx context.Context) {
	if n.s1 == nil {
		return
	}
	if err := n.s1.Close(ctx); err != nil {
		n.logger.Warn("closing the websocket and grpc pools", zap.Error(err))
	}
}
