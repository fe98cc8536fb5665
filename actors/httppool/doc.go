// Package httppool is the HTTP/HTTPS adapter and its pool actor: one
// Client per configured pool (a tuned net/http Transport, a pool of slots,
// a balancer over the pool's endpoints, an optional circuit breaker and
// retry defaults), and the supervised actor that owns it in S1 as
// "s1/pool/<name>".
//
// # The request path
//
// Client.Do (and node.Request, which finds the pool) runs, for each call:
//
//	retry (fault.Do: Request.Retry after the pool's defaults)
//	  └─ per attempt: breaker.Allow → slot checkout → balancer.Pick →
//	     RoundTrip → read the whole body (at most MaxResponseBody) →
//	     classify → breaker Done, endpoint Done, stats
//
// Retry is outermost so that each attempt asks the breaker again (an open
// breaker stops the retries) and picks an endpoint again (a retry does not
// return to the endpoint that just failed, round robin permitting). The
// breaker comes before the checkout so that an open breaker rejects at once
// without taking a slot; the endpoint is picked after the checkout so that
// P2C's in-flight counts are requests actually sent and a checkout wait is
// never charged to an endpoint. A checkout that times out is neither a
// success nor a failure for the breaker.
//
// The pool's resource is a slot, a permission to have one request in flight,
// not a connection: net/http owns the TCP connections and reuses them
// (keep-alive, most recently used first, closed after IdleTimeout). The
// slot pool bounds concurrency at Size, hence the connections in use per
// endpoint, queues the excess with the checkout timeout, and measures
// waits, so Stats shows the same figures as every other protocol's pool;
// ConnsOpened/ConnsClosed count the transport's TCP connections. A resize
// (update_pool) resizes the slots only: the transport and its idle
// connections stay, so a grown pool dials only for its extra concurrency
// and a shrunk one dials nothing; the connections a shrunk pool no longer
// needs are the least recently used and close after IdleTimeout. (The
// transport's own per-host limits cannot change once it is in use, so they
// are not where the size is enforced: until this version a resize replaced
// the transport and dropped every idle connection.) Redirects are not
// followed: a 3xx is returned as is.
//
// Outcomes are judged by a Classifier; by default transport errors, timeouts
// and 5xx count against the breaker and the endpoint (outlier ejection) and
// are retried, 429 is retried but is not a failure, other 4xx are successes
// returned to the caller. A 429 or 503 with Retry-After is retried after the
// delay the server asked for (StatusError.RetryAfter feeds fault's hint),
// but never after more than the retry's MaxDelay unless the caller opts in
// with fault.MaxRetryAfter: a hostile "Retry-After: 86400" waits MaxDelay. A
// caller that cancels its context counts for nothing; a body above
// MaxResponseBody fails with ErrBodyTooLarge and no body.
//
// # Timeouts
//
// Each attempt, checkout included, is bounded by the tightest of: the
// pool's Timeout, or the request's Timeout instead when set (longer or
// shorter); the call_timeout of the breaker guarding it; the caller's
// context, which also bounds the whole call (fault never sleeps past its
// deadline). How the limit is kept costs the request path differently, so
// it is kept the cheapest exact way: when the caller's deadline comes first
// the attempt runs on the caller's context with no timer of its own; when
// neither the checkout (whose own timer is the pool's Timeout) nor a new
// connection (DialTimeout, plus TLSHandshakeTimeout for https) can outlast
// the limit, which holds by default for http pools, the limit is a
// deadline set on the connection the transport hands the attempt
// (httptrace GotConn), bounding the request's write, the reply and the body
// read, and cleared when the body has been read (unless the transport has
// given the connection to another request by then); otherwise a context
// timer keeps it. A context timer per attempt costs ~1.5 µs and 7
// allocations and makes net/http register a child context under it.
// A timeout is a *TimeoutError
// whose Limit names the bound that fired (LimitPool, LimitRequest,
// LimitBreaker, LimitCaller, or LimitTransport for the dial, TLS handshake
// and a response-header timeout set below Timeout) with its value; it
// matches context.DeadlineExceeded, and ErrTimeout unless the caller's
// deadline fired. The breaker's call_timeout firing is, for the breaker, a
// failure and a timeout (breaker.Stats().Timeouts), as in breaker.Call:
// the error holds a *breaker.TimeoutError naming it and matches
// breaker.ErrTimeout.
//
// # Events
//
// Publishing on protoactor's event stream runs every subscriber on the
// publisher's goroutine (and takes the stream's lock), so a per-request
// event is paid by every request. event.PoolCheckout and
// event.AdapterRequest, one per attempt, are therefore opt-in
// (Config.RequestEvents, request_events in the config): a pool without them
// takes no lock and publishes nothing per request, whoever subscribes (the
// dashboard included). Their counts are exact in Stats whether or not they
// are published (Requests by status class, Calls, the duration and
// checkout-wait histograms), and Prometheus metrics are read from Stats at
// scrape time. The actor publishes event.PoolResized,
// event.EndpointEjected and event.EndpointRestored, which are rare.
//
// # The actor
//
// It accepts:
//
//	*DoRequest  → *Response or *Failure   the call runs on a goroutine of
//	                                      the actor's, at most Env.MaxRequests
//	                                      at once; the reply goes to the sender
//	*GetStats   → *StatsResult
//	*ResizePool → *StatsResult or *Failure (update_pool)
//
// It owns the ejection timer (balancer.Next, then Tick, so a restored
// endpoint is announced without waiting for traffic), resizes and the rare
// events. It is the only writer of the pool's size: the *Client has no
// exported resize, so every change goes through *ResizePool (System 3's
// Resize, the admin API and node.Pool(name).Resize all send it) and is
// announced by an event.PoolResized. It keeps no state of its own: the *Client it is given holds the
// stats, the size, the balancer and the transport, so a restart loses
// nothing. When it stops it cancels the message requests still running and
// closes the transport's connections (idle ones at once, busy ones when
// their request ends).
//
// Send, PoolStats and Resize are typed, context-aware helpers over those
// messages.
//
// # From another member
//
// The actor also answers the proto forms of package actors/pb
// (*pb.HttpDoRequest, *pb.HttpGetStats, *pb.HttpResizePool) with proto
// replies, so a caller on another cluster member gets the same answers:
// RemoteSend, RemotePoolStats and RemoteResize wrap them, and rebuild errors
// that errors.Is matches as locally (a *StatusError keeps its Response).
package httppool
