// Package statetest is the behaviour suite every state.Store backend runs
// (the in-process one and Redis), so that both keep the same semantics.
//
//	func TestSuite(t *testing.T) {
//		statetest.Run(t, func(t *testing.T) state.Store { return newStore(t) })
//	}
//
// Each subtest gets a new store from newStore and closes it at the end. Keys
// and channels carry a random per-subtest prefix, so the suite can run
// against a Redis server other tests also use.
//
// Time: with [WithClock] the suite moves a fake clock (the memory backend
// reads it) and checks expiry boundaries exactly; without it, it uses short
// real TTLs and polls for the key to vanish within a bound, never sleeping
// as an assertion.
package statetest
