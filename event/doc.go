// Package event is the catalogue of typed events a node publishes on the
// protoactor event stream, and the bounded subscriptions that read them.
//
// Every event implements [Event]; its Kind is a stable dotted name used as the
// SSE event name, the Prometheus label and the JSON "kind" field.
//
// Catalogue:
//
//	kind                    type                   published by
//	actor.started           *ActorStarted          supervisor, when a child is spawned
//	actor.restarted         *ActorRestarted        supervisor, when it restarts a child (failed, exited, or a sibling's)
//	actor.stopped           *ActorStopped          supervisor, when a child terminates
//	actor.shutdown          *ActorShutdown         supervisor, when a child it stopped has terminated: graceful, forced, brutal_kill or crashed
//	supervision.escalated   *SupervisionEscalated  supervisor, when its children exceed its restart intensity
//	alert.raised            *AlertRaised           S5, for every algedonic alert its policy publishes
//	policy.decided          *PolicyDecided         S5, for each action of a matching policy rule (or no match)
//	breaker.state_changed   *BreakerStateChanged   breaker actor, after a transition is stored
//	pool.checkout           *PoolCheckout          HTTP pools, one per attempt with request_events (off by default)
//	pool.resized            *PoolResized           pool actor, after update_pool
//	adapter.request         *AdapterRequest        protocol adapters, one per request when enabled (HTTP: request_events)
//	endpoint.ejected        *EndpointEjected       load balancer, outlier ejection
//	endpoint.restored       *EndpointRestored      load balancer, ejection expired
//	health.result           *HealthResult          health checkers (S4), one per probe
//	health.changed          *HealthChanged         health checkers (S4), when a status changes
//	control.action          *ControlAction         S3, for each action of its policies and each S3* audit finding, with its reason
//	member.joined           *MemberJoined          cluster membership
//	member.left             *MemberLeft            cluster membership
//
// Adapters define the events of their own protocol in their package (each
// implements Event, so subscriptions, SSE and metrics treat them alike):
//
//	ws.dial_attempted       *ws.DialAttempted      actors/ws, every dial of a connection
//	ws.connected            *ws.Connected          actors/ws, a connection is open
//	ws.disconnected         *ws.Disconnected       actors/ws, a connection was lost or closed
//	ws.send_dropped         *ws.SendDropped        actors/ws, a queued send expired or was refused
//	grpc.conn_opened        *grpcpool.ConnOpened   actors/grpcpool, the channel opened a ClientConn
//	grpc.conn_closed        *grpcpool.ConnClosed   actors/grpcpool, the channel closed one (idle or on stop)
//
// protoactor runs every subscriber on the publisher's goroutine. [Subscribe]
// therefore never calls the user's function there: the stream's callback only
// offers the event to a bounded queue (dropping, and counting the drop, when
// it is full) and a goroutine of the subscription drains it. A subscriber that
// blocks loses events; it never slows a publisher.
package event
