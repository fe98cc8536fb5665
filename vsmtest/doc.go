// Package vsmtest is the test kit for users of vsm-connections (the seed's
// VsmConnections.TestHelpers): a mock HTTP service on a real loopback port
// whose behaviour a test programs while it runs.
//
//	svc := vsmtest.NewMockService(t)          // stopped by t.Cleanup
//	svc.RespondTo("GET /users", 200, `[]`, nil)
//	svc.FailNext(3, http.StatusServiceUnavailable)
//	svc.Latency(50 * time.Millisecond)
//	... call svc.URL() through the code under test ...
//	svc.Heal()
//
// Faults it injects, each against real sockets:
//
//   - FailNext(n, status): the next n requests get status.
//   - ResetNext(n): the next n requests see the connection reset (TCP RST)
//     after a partial response header, so the client gets an error, not a
//     response. ResetBodyNext(n) resets after the header and part of the
//     body, so the error comes while reading the body.
//   - Hang(): requests block until the client gives up (its request context
//     ends) or the service is killed or closed; nothing leaks.
//   - Latency(d): every response waits d first (cut short when the client
//     gives up).
//   - OversizeBody(n): responses carry n bytes of body, streamed without a
//     Content-Length so a client must count what it reads.
//   - Kill() / Restart(): the listener is closed (connections refused) and
//     every open connection reset, then the service listens again on the
//     same port.
//   - RefusedAddr(t): an address nothing listens on.
//
// Every request is recorded (method, path, headers, body); Requests counts
// them and WaitRequests blocks until a given number arrived, so tests wait
// on the service rather than sleep.
//
// For circuit breakers, SimulateFailures and SimulateSuccesses (the seed's
// simulate_failures) drive a breaker.Breaker through real calls, so a test
// can open it, or close it again after its recovery timeout, without a
// failing service.
package vsmtest
