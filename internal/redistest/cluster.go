package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterNodeTimeout is the cluster-node-timeout of the clusters
// StartCluster makes: a master that stops answering is failed over by its
// replica about two to three times this after it died. It is short so that
// the failover tests take seconds; production clusters use longer ones.
const ClusterNodeTimeout = time.Second

// Cluster is a Redis Cluster of 3 masters and 3 replicas (one each) on
// loopback, owned by one test: StartCluster makes it, t.Cleanup kills it.
type Cluster struct {
	tb    testing.TB
	bin   string
	dir   string
	nodes []*proc
}

// proc is one redis-server process the helpers own.
type proc struct {
	addr string
	args []string
	cmd  *exec.Cmd
	log  string
}

func (p *proc) start(tb testing.TB, bin string) {
	tb.Helper()
	p.cmd = exec.Command(bin, p.args...)
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
}

func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// freePorts reserves n distinct free loopback ports (they are released
// before return: a process started right after binds them).
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, 0, n)
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// binaries finds redis-server and redis-cli, skipping (or failing under
// CI) when either is missing or the server is older than minMajor.
func binaries(tb testing.TB, minMajor int) (server, cli string) {
	tb.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		SkipOrFail(tb, "redis-server is not on PATH (apt-get install -y redis-server)")
	}
	cli, err = exec.LookPath("redis-cli")
	if err != nil {
		SkipOrFail(tb, "redis-cli is not on PATH (apt-get install -y redis-tools)")
	}
	out, err := exec.Command(server, "--version").Output()
	if err != nil {
		tb.Fatalf("redis-server --version: %v", err)
	}
	m := regexp.MustCompile(`v=(\d+)\.`).FindSubmatch(out)
	if m == nil {
		tb.Fatalf("redis-server --version printed %q", out)
	}
	if major, _ := strconv.Atoi(string(m[1])); major < minMajor {
		SkipOrFail(tb, fmt.Sprintf("redis-server is %s; these tests need Redis %d or later", strings.TrimSpace(string(out)), minMajor))
	}
	return server, cli
}

// StartCluster starts six cluster-enabled redis-servers on free loopback
// ports (each with its cluster bus on another free port), joins them with
// `redis-cli --cluster create --cluster-replicas 1`, and returns when every
// node says cluster_state:ok, knows the five others, and every replica's
// link to its master is up. It needs Redis 7 (sharded pub/sub). Every
// process is killed when the test ends.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin, cli := binaries(tb, 7)
	c := &Cluster{tb: tb, bin: bin, dir: stateDir(tb)}
	tb.Cleanup(c.killAll)
	ports := freePorts(tb, 12)
	ms := strconv.Itoa(int(ClusterNodeTimeout / time.Millisecond))
	for i := 0; i < 6; i++ {
		port, bus := strconv.Itoa(ports[i]), strconv.Itoa(ports[6+i])
		p := &proc{
			addr: net.JoinHostPort("127.0.0.1", port),
			log:  filepath.Join(c.dir, "redis-"+port+".log"),
		}
		p.args = []string{"--port", port, "--bind", "127.0.0.1", "--dir", c.dir,
			"--cluster-enabled", "yes", "--cluster-port", bus,
			"--cluster-config-file", filepath.Join(c.dir, "nodes-"+port+".conf"),
			"--cluster-node-timeout", ms,
			// A replica may always take over, however long since it heard
			// from its master; the other shards serve while one fails over.
			"--cluster-replica-validity-factor", "0",
			"--cluster-require-full-coverage", "no",
			// Replicas sync at once, without an RDB file on disk.
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
			"--save", "", "--appendonly", "no", "--daemonize", "no",
			"--loglevel", "warning", "--logfile", p.log}
		p.start(tb, bin)
		c.nodes = append(c.nodes, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range c.nodes {
		c.waitFor(ctx, "PING from "+p.addr, func() bool { return Ping(p.addr, false) == nil })
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.fatal("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy(ctx)
	return c
}

// Addrs are the six nodes' host:port, in the order they were created
// (redis-cli makes the first three masters).
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		out[i] = p.addr
	}
	return out
}

// Slot asks a live node which hash slot key belongs to (CLUSTER KEYSLOT).
func (c *Cluster) Slot(key string) int {
	c.tb.Helper()
	out, err := c.do("CLUSTER", "KEYSLOT", key)
	if err != nil {
		c.tb.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		c.tb.Fatalf("CLUSTER KEYSLOT %s = %q", key, out)
	}
	return n
}

// MasterOf returns the address of the master serving key's slot, as a
// live node sees it.
func (c *Cluster) MasterOf(key string) string {
	c.tb.Helper()
	slot := c.Slot(key)
	out, err := c.do("CLUSTER", "NODES")
	if err != nil {
		c.tb.Fatalf("CLUSTER NODES: %v", err)
	}
	for _, n := range parseNodes(out) {
		if n.master && !n.failed && n.serves(slot) {
			return n.addr
		}
	}
	c.tb.Fatalf("no live master serves slot %d:\n%s", slot, out)
	return ""
}

// ReplicaOf returns the address of a replica of the master at addr.
func (c *Cluster) ReplicaOf(master string) string {
	c.tb.Helper()
	out, err := c.do("CLUSTER", "NODES")
	if err != nil {
		c.tb.Fatalf("CLUSTER NODES: %v", err)
	}
	nodes := parseNodes(out)
	for _, m := range nodes {
		if m.addr != master {
			continue
		}
		for _, n := range nodes {
			if n.masterID == m.id && !n.failed {
				return n.addr
			}
		}
	}
	c.tb.Fatalf("no live replica of %s:\n%s", master, out)
	return ""
}

// Promote makes the replica at addr take over from its live master
// (CLUSTER FAILOVER: the master stops, the replica catches up and takes
// the slots, the master becomes its replica), and waits within ctx until
// the cluster is healthy with addr a master.
func (c *Cluster) Promote(ctx context.Context, addr string) {
	c.tb.Helper()
	out, err := Do(addr, "CLUSTER", "NODES")
	if err != nil {
		c.tb.Fatalf("CLUSTER NODES: %v", err)
	}
	var self, old clusterNode
	nodes := parseNodes(out)
	for _, n := range nodes {
		if n.addr == addr {
			self = n
		}
	}
	for _, n := range nodes {
		if n.id == self.masterID {
			old = n
		}
	}
	if old.id == "" {
		c.tb.Fatalf("%s is not a replica:\n%s", addr, out)
	}
	if _, err := Do(addr, "CLUSTER", "FAILOVER"); err != nil {
		c.tb.Fatalf("CLUSTER FAILOVER on %s: %v", addr, err)
	}
	c.waitFor(ctx, addr+" as a master", func() bool {
		repl, err := Do(addr, "INFO", "replication")
		if err != nil || infoField(repl, "role") != "master" || infoField(repl, "connected_slaves") != "1" {
			return false // the old master is not its replica yet
		}
		// Every node, addr included, knows the old master as addr's
		// replica (only then does addr forward sharded messages to it).
		for _, p := range c.nodes {
			if p.cmd == nil {
				continue
			}
			out, err := Do(p.addr, "CLUSTER", "NODES")
			if err != nil {
				return false
			}
			for _, n := range parseNodes(out) {
				if n.id == old.id && n.masterID != self.id {
					return false
				}
			}
		}
		return c.healthy()
	})
}

// MoveSlot gives key's slot, which must hold no keys, to the master at to
// (CLUSTER SETSLOT ... NODE on every node, as a resharding ends), and
// waits within ctx until every live node says so.
func (c *Cluster) MoveSlot(ctx context.Context, key, to string) {
	c.tb.Helper()
	slot := strconv.Itoa(c.Slot(key))
	from := c.MasterOf(key)
	out, err := c.do("CLUSTER", "NODES")
	if err != nil {
		c.tb.Fatalf("CLUSTER NODES: %v", err)
	}
	ids := make(map[string]string)
	for _, n := range parseNodes(out) {
		ids[n.addr] = n.id
	}
	steps := [][]string{
		{to, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[from]},
		{from, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[to]},
		{to, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]},
		{from, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]},
	}
	for _, p := range c.nodes {
		if p.cmd != nil && p.addr != to && p.addr != from {
			steps = append(steps, []string{p.addr, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]})
		}
	}
	for _, s := range steps {
		if _, err := Do(s[0], s[1:]...); err != nil && !strings.Contains(err.Error(), "only with masters") {
			c.tb.Fatalf("%v on %s: %v", s[1:], s[0], err)
		}
	}
	c.waitFor(ctx, "slot "+slot+" on "+to, func() bool {
		for _, p := range c.nodes {
			if p.cmd == nil {
				continue
			}
			out, err := Do(p.addr, "CLUSTER", "NODES")
			if err != nil {
				return false
			}
			n, _ := strconv.Atoi(slot)
			for _, node := range parseNodes(out) {
				if node.serves(n) && node.addr != to {
					return false
				}
			}
		}
		return c.healthy()
	})
}

// Kill kills the node at addr at once (SIGKILL), as a crash would.
func (c *Cluster) Kill(addr string) {
	c.tb.Helper()
	for _, p := range c.nodes {
		if p.addr == addr {
			p.kill()
			return
		}
	}
	c.tb.Fatalf("no cluster node %s", addr)
}

// Restart starts the killed node at addr again, with its cluster state
// file: a master that was failed over rejoins as a replica of the node
// that took its slots.
func (c *Cluster) Restart(addr string) {
	c.tb.Helper()
	for _, p := range c.nodes {
		if p.addr == addr {
			if p.cmd != nil {
				c.tb.Fatalf("%s is running", addr)
			}
			p.start(c.tb, c.bin)
			return
		}
	}
	c.tb.Fatalf("no cluster node %s", addr)
}

// WaitHealthy waits, within ctx, until every live node says
// cluster_state:ok with all 16384 slots served by masters that no node
// marks as failed, sees every killed node as failed, and every live
// replica's link to its master is up: after Kill of a master, that is
// when its replica has taken over.
func (c *Cluster) WaitHealthy(ctx context.Context) {
	c.tb.Helper()
	c.waitFor(ctx, "a healthy cluster", c.healthy)
}

func (c *Cluster) healthy() bool {
	dead := make(map[string]bool)
	for _, p := range c.nodes {
		if p.cmd == nil {
			dead[p.addr] = true
		}
	}
	live := 0
	for _, p := range c.nodes {
		if p.cmd == nil {
			continue
		}
		live++
		info, err := Do(p.addr, "CLUSTER", "INFO")
		if err != nil || infoField(info, "cluster_state") != "ok" || infoField(info, "cluster_slots_ok") != "16384" {
			return false
		}
		if infoField(info, "cluster_known_nodes") != strconv.Itoa(len(c.nodes)) {
			return false
		}
		nodes, err := Do(p.addr, "CLUSTER", "NODES")
		if err != nil {
			return false
		}
		for _, n := range parseNodes(nodes) {
			if (n.failed || dead[n.addr]) && len(n.slots) > 0 {
				return false // a dead master still owns slots here
			}
			if dead[n.addr] && !n.failed {
				return false // not yet seen as failed
			}
		}
		repl, err := Do(p.addr, "INFO", "replication")
		if err != nil {
			return false
		}
		if infoField(repl, "role") == "slave" && infoField(repl, "master_link_status") != "up" {
			return false
		}
	}
	return live > 0
}

func (c *Cluster) waitFor(ctx context.Context, what string, cond func() bool) {
	c.tb.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			c.fatal("no %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// fatal fails the test with the nodes' logs, which say why a cluster did
// not form or fail over.
func (c *Cluster) fatal(format string, args ...any) {
	c.tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	for _, p := range c.nodes {
		if log, err := os.ReadFile(p.log); err == nil {
			fmt.Fprintf(&b, "\n--- %s\n%s", p.addr, log)
		}
	}
	c.tb.Fatal(b.String())
}

// do runs a command on the first live node.
func (c *Cluster) do(args ...string) (string, error) {
	var err error
	for _, p := range c.nodes {
		if p.cmd == nil {
			continue
		}
		var out string
		if out, err = Do(p.addr, args...); err == nil {
			return out, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("no live node")
	}
	return "", err
}

func (c *Cluster) killAll() {
	for _, p := range c.nodes {
		p.kill()
	}
}

type clusterNode struct {
	id, masterID   string
	addr           string
	master, failed bool
	slots          [][2]int
}

func (n clusterNode) serves(slot int) bool {
	for _, r := range n.slots {
		if slot >= r[0] && slot <= r[1] {
			return true
		}
	}
	return false
}

// parseNodes reads CLUSTER NODES: id ip:port@bus[,hostname] flags master
// ping pong epoch link slot...
func parseNodes(out string) []clusterNode {
	var nodes []clusterNode
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		n := clusterNode{id: f[0], masterID: f[3], addr: addr}
		for _, flag := range strings.Split(f[2], ",") {
			switch flag {
			case "master":
				n.master = true
			case "fail", "fail?":
				n.failed = true
			}
		}
		for _, r := range f[8:] {
			if strings.HasPrefix(r, "[") {
				continue // a slot being migrated
			}
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil {
				n.slots = append(n.slots, [2]int{a, b})
			}
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// stateDir is where a cluster's or Sentinel set's servers keep their
// files. Both rewrite and fsync them on every change of view (nodes.conf,
// the sentinel config); on a disk under a busy test run one such fsync
// stalled a sentinel for 2.8 s, long enough for it to enter TILT mode and
// hold the failover for 30 s. tmpfs makes the fsync free; without
// /dev/shm it is the test's temporary directory.
func stateDir(tb testing.TB) string {
	if dir, err := os.MkdirTemp("/dev/shm", "vsm-redistest-"); err == nil {
		tb.Cleanup(func() { _ = os.RemoveAll(dir) })
		return dir
	}
	return tb.TempDir()
}
