package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelMaster is the master name the Sentinel set of StartSentinel
// monitors.
const SentinelMaster = "vsmtest"

// SentinelDownAfter is the sentinels' down-after-milliseconds: a master
// that stops answering is failed over a second or two after it. At 500ms
// the sentinels took the newly promoted master for down too, half a
// second after promoting it (their links to it were new).
const SentinelDownAfter = time.Second

// Sentinel is a master, its replica and three sentinels (quorum 2) on
// loopback, owned by one test: StartSentinel makes it, t.Cleanup kills it.
type Sentinel struct {
	tb        testing.TB
	bin       string
	dir       string
	data      []*proc // master first, then the replica
	sentinels []*proc
}

// StartSentinel starts a redis-server master, a replica of it and three
// sentinels monitoring it as SentinelMaster, and returns when every
// sentinel knows the master, its replica and the two other sentinels, and
// the replica's link is up.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	bin, _ := binaries(tb, 6)
	s := &Sentinel{tb: tb, bin: bin, dir: stateDir(tb)}
	tb.Cleanup(s.killAll)
	ports := freePorts(tb, 5)
	master := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	for i := 0; i < 2; i++ {
		port := strconv.Itoa(ports[i])
		p := &proc{addr: net.JoinHostPort("127.0.0.1", port), log: filepath.Join(s.dir, "redis-"+port+".log")}
		p.args = []string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
			"--save", "", "--appendonly", "no", "--daemonize", "no",
			"--loglevel", "warning", "--logfile", p.log}
		if i == 1 {
			p.args = append(p.args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		p.start(tb, bin)
		s.data = append(s.data, p)
	}
	for i := 2; i < 5; i++ {
		port := strconv.Itoa(ports[i])
		conf := filepath.Join(s.dir, "sentinel-"+port+".conf")
		log := filepath.Join(s.dir, "sentinel-"+port+".log")
		body := fmt.Sprintf("port %s\nbind 127.0.0.1\ndaemonize no\nlogfile %q\ndir %q\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 5000\n"+
			"sentinel parallel-syncs %s 1\n",
			port, log, s.dir, SentinelMaster, ports[0], SentinelMaster, SentinelDownAfter.Milliseconds(), SentinelMaster, SentinelMaster)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			tb.Fatal(err)
		}
		p := &proc{addr: net.JoinHostPort("127.0.0.1", port), log: log, args: []string{conf, "--sentinel"}}
		p.start(tb, bin)
		s.sentinels = append(s.sentinels, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.waitFor(ctx, "a ready Sentinel set", func() bool {
		for _, p := range s.sentinels {
			if got, err := s.masterFrom(p.addr); err != nil || got != master {
				return false
			}
			r, err := Do(p.addr, "SENTINEL", "REPLICAS", SentinelMaster)
			if err != nil || !strings.Contains(r, "name\n"+s.data[1].addr+"\n") {
				return false
			}
			o, err := Do(p.addr, "SENTINEL", "SENTINELS", SentinelMaster)
			if err != nil || strings.Count(o, "\nrunid\n") != 2 {
				return false
			}
		}
		repl, err := Do(s.data[1].addr, "INFO", "replication")
		return err == nil && infoField(repl, "master_link_status") == "up"
	})
	return s
}

// Addrs are the sentinels' host:port.
func (s *Sentinel) Addrs() []string {
	out := make([]string, len(s.sentinels))
	for i, p := range s.sentinels {
		out[i] = p.addr
	}
	return out
}

// Master is the master's address as the first answering sentinel says.
func (s *Sentinel) Master() string {
	s.tb.Helper()
	for _, p := range s.sentinels {
		if m, err := s.masterFrom(p.addr); err == nil {
			return m
		}
	}
	s.tb.Fatal("no sentinel answers")
	return ""
}

func (s *Sentinel) masterFrom(addr string) (string, error) {
	out, err := Do(addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
	if err != nil {
		return "", err
	}
	host, port, ok := strings.Cut(out, "\n")
	if !ok {
		return "", fmt.Errorf("reply %q", out)
	}
	return net.JoinHostPort(host, port), nil
}

// Kill kills the data node (master or replica) at addr at once.
func (s *Sentinel) Kill(addr string) {
	s.tb.Helper()
	for _, p := range s.data {
		if p.addr == addr {
			p.kill()
			return
		}
	}
	s.tb.Fatalf("no data node %s", addr)
}

// Restart starts the killed data node at addr again as a replica of the
// current master, as an operator brings a failed master back (the
// sentinels would convert a node that comes back as a master too, but
// only about 8s after they see it).
func (s *Sentinel) Restart(addr string) {
	s.tb.Helper()
	master := s.Master()
	host, port, _ := net.SplitHostPort(master)
	for _, p := range s.data {
		if p.addr == addr {
			if p.cmd != nil {
				s.tb.Fatalf("%s is running", addr)
			}
			args := p.args
			for i, a := range args {
				if a == "--replicaof" {
					args = args[:i]
					break
				}
			}
			p.args = append(args[:len(args):len(args)], "--replicaof", host, port)
			p.start(s.tb, s.bin)
			return
		}
	}
	s.tb.Fatalf("no data node %s", addr)
}

// WaitFailover waits within ctx until every sentinel names a master other
// than old and that node says it is a master.
func (s *Sentinel) WaitFailover(ctx context.Context, old string) {
	s.tb.Helper()
	s.waitFor(ctx, "a failover from "+old, func() bool {
		var now string
		for _, p := range s.sentinels {
			m, err := s.masterFrom(p.addr)
			if err != nil || m == old || (now != "" && m != now) {
				return false
			}
			now = m
		}
		repl, err := Do(now, "INFO", "replication")
		return err == nil && infoField(repl, "role") == "master"
	})
}

func (s *Sentinel) waitFor(ctx context.Context, what string, cond func() bool) {
	s.tb.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, p := range append(append([]*proc(nil), s.data...), s.sentinels...) {
				if log, err := os.ReadFile(p.log); err == nil {
					fmt.Fprintf(&b, "\n--- %s\n%s", p.addr, log)
				}
			}
			s.tb.Fatalf("no %s: %v%s", what, ctx.Err(), b.String())
		case <-tick.C:
		}
	}
}

func (s *Sentinel) killAll() {
	for _, p := range s.sentinels {
		p.kill()
	}
	for _, p := range s.data {
		p.kill()
	}
}
