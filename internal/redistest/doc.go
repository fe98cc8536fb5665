// Package redistest gives tests a real redis-server: the shared one named by
// VSM_REDIS_ADDR (scripts/redis-test-server.sh starts it), or a process of
// the test's own that it can kill and start again on the same port.
//
// When what a test needs is missing it is skipped with a hint, except when
// the environment variable CI is set: there nothing may be skipped silently,
// so the test fails.
package redistest
