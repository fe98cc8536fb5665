// Package redistest gives tests a real redis-server: the shared one named by
// VSM_REDIS_ADDR (scripts/redis-test-server.sh starts it), or a process of
// the test's own that it can kill and start again on the same port.
//
// StartCluster runs a Redis Cluster of its own (3 masters, 3 replicas, made
// with `redis-cli --cluster create`, cluster-node-timeout
// ClusterNodeTimeout) and StartSentinel a Sentinel set (a master, a
// replica, 3 sentinels), both on free loopback ports, with what failover
// tests need: Kill, Restart, MasterOf, Promote, MoveSlot, WaitHealthy,
// WaitFailover. Every process is killed in t.Cleanup. Do checks servers with
// bare RESP, sharing nothing with the client under test.
//
// When what a test needs is missing (redis-server, redis-cli, Redis 7 for
// a cluster) it is skipped with a hint, except when the environment
// variable CI is set: there nothing may be skipped silently, so the test
// fails.
package redistest
