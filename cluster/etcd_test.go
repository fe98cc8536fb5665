package cluster_test

import (
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/internal/redistest"
)

// etcdServer is a real etcd (Debian's etcd-server) on loopback ports, in a
// temporary data directory.
type etcdServer struct {
	t       *testing.T
	dir     string
	client  string // http://127.0.0.1:port
	peer    string
	proc    *proc
	started int
}

func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	if testing.Short() {
		t.Skip("starts etcd")
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		redistest.SkipOrFail(t, "etcd is not installed (apt-get install etcd-server; scripts/test installs it)")
	}
	p := freePorts(t, 2)
	e := &etcdServer{t: t, dir: t.TempDir(),
		client: fmt.Sprintf("http://127.0.0.1:%d", p[0]), peer: fmt.Sprintf("http://127.0.0.1:%d", p[1])}
	e.start()
	return e
}

// start runs etcd (again, on the same data: a restart) and waits until it
// answers.
func (e *etcdServer) start() {
	e.t.Helper()
	e.started++
	e.proc = run(e.t, fmt.Sprintf("etcd#%d", e.started), "etcd", "--name", "test", "--data-dir", e.dir,
		"--listen-client-urls", e.client, "--advertise-client-urls", e.client,
		"--listen-peer-urls", e.peer, "--initial-advertise-peer-urls", e.peer,
		"--initial-cluster", "test="+e.peer, "--log-level", "error")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(e.client + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if !e.proc.alive() {
			e.t.Fatal("etcd exited")
		}
		<-time.After(50 * time.Millisecond) // poll: etcd prints nothing we can wait on
	}
	e.t.Fatal("etcd did not become healthy")
}

func (e *etcdServer) clientFor(t *testing.T) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.client}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// waitKeys waits until exactly the registrations of ids are in etcd.
func waitKeys(t *testing.T, cli *clientv3.Client, ids []string, d time.Duration) {
	t.Helper()
	want := slices.Clone(ids)
	slices.Sort(want)
	var got []string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); <-time.After(50 * time.Millisecond) {
		resp, err := cli.Get(t.Context(), "/vsm/vsm/members/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			continue
		}
		got = got[:0]
		for _, kv := range resp.Kvs {
			got = append(got, strings.TrimPrefix(string(kv.Key), "/vsm/vsm/members/"))
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("registrations in etcd %v, want %v", got, want)
}

// TestEtcdProvider: members find each other through a real etcd; a kill -9
// is gone within the lease TTL, a clean stop at once; an etcd restart after
// an outage longer than the lease leaves the membership intact; a lost
// registration is made again; a restarted member rejoins.
func TestEtcdProvider(t *testing.T) {
	e := startEtcd(t)
	pt := newPorts(t, 3)
	args := []string{"-provider", "etcd", "-etcd", e.client, "-lease-ttl", "2s"}
	start := time.Now()
	a := launch(t, "a", pt[0], nil, args...)
	b := launch(t, "b", pt[1], nil, args...)
	c := launch(t, "c", pt[2], nil, args...)
	for _, p := range []*proc{a, b, c} {
		p.waitReady()
	}
	for _, p := range []*proc{a, b, c} {
		for _, n := range []string{"a", "b", "c"} {
			if n != p.name {
				p.waitFrom(0, formBound, n+" joined", isEvent("member.joined", n))
			}
		}
	}
	t.Logf("formed through etcd in %s", time.Since(start).Round(time.Millisecond))
	if r := a.do("request c via-etcd", "reply"); r.Value != "c:via-etcd" {
		t.Fatalf("a -> c: %+v", r)
	}

	// kill -9: gone when its 2 s lease expires.
	m := a.mark()
	killed := time.Now()
	b.kill()
	l := a.waitFrom(m, 4*time.Second, "b left", isEvent("member.left", "b"))
	t.Logf("kill -9 seen after %s (lease TTL 2s)", l.at().Sub(killed).Round(time.Millisecond))

	// etcd down for 5 s (longer than the lease), then back: etcd restores
	// leases on restart, and the members' keepalives resume, so the
	// membership is intact and no one left.
	m = a.mark()
	e.proc.kill()
	<-time.After(5 * time.Second) // the outage itself, not a wait for a result
	e.start()
	if r := c.do("request a after-outage", "reply"); r.Value != "a:after-outage" {
		t.Errorf("c -> a after the outage: %+v", r)
	}
	cli := e.clientFor(t)
	waitKeys(t, cli, []string{a.ready.InstanceID, c.ready.InstanceID}, 10*time.Second)
	if got := names(a.do("members", "members").Members); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("a's members after the outage %v, want [a c]", got)
	}
	if _, err := a.tryWaitFrom(m, 0, isEvent("member.left", "c")); err == nil {
		t.Error("a saw c leave during an etcd outage shorter than etcd's lease restore")
	}

	// A lost registration (deleted here; an expired lease is the same) is
	// registered again by c. Whether the others notice depends on timing:
	// if their refresh ran between the delete and the new put, they saw c
	// leave, and protoactor's block list refuses its instance id from then
	// on (a shows it blocked); if not, c never left. Either way a's view
	// must be consistent with its events.
	m = a.mark()
	if _, err := cli.Delete(t.Context(), "/vsm/vsm/members/"+c.ready.InstanceID); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, cli, []string{a.ready.InstanceID, c.ready.InstanceID}, 5*time.Second)
	// a's watch delivers the delete and the put in order: once its view has
	// settled on c again, the events are final.
	var ms []cluster.Member
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); <-time.After(50 * time.Millisecond) {
		if ms = a.do("members", "members").Members; len(ms) == 2 && ms[1].Name == "c" {
			break
		}
	}
	_, leftErr := a.tryWaitFrom(m, 0, isEvent("member.left", "c"))
	switch {
	case len(ms) != 2 || ms[1].Name != "c":
		t.Errorf("a's members after c re-registered: %+v, want a and c", ms)
	case leftErr == nil && ms[1].Status != cluster.StatusBlocked:
		t.Errorf("a saw c leave, and c is back as %q: want blocked", ms[1].Status)
	case leftErr != nil && ms[1].Status != cluster.StatusAlive:
		t.Errorf("a never saw c leave, yet c is %q", ms[1].Status)
	default:
		t.Logf("lost registration: a saw c leave: %v; c is %s", leftErr == nil, ms[1].Status)
	}

	// A restarted b joins again.
	m = a.mark()
	b2 := launch(t, "b", pt[1], nil, args...)
	b2.waitReady()
	a.waitFrom(m, formBound, "b rejoined", func(l line) bool {
		return l.Event == "member.joined" && l.Node == "b" && l.InstanceID == b2.ready.InstanceID
	})

	// Clean stop: gone at once, not after the lease.
	m = a.mark()
	asked := time.Now()
	if _, err := b2.stdin.Write([]byte("leave\n")); err != nil {
		t.Fatal(err)
	}
	l = a.waitFrom(m, time.Second, "b left", isEvent("member.left", "b"))
	t.Logf("clean leave seen after %s", l.at().Sub(asked).Round(time.Millisecond))
	if s := b2.waitFrom(0, 10*time.Second, "b stopped", func(l line) bool { return l.Event == "stopped" }); s.Err != "" {
		t.Errorf("b stop: %s", s.Err)
	}
	waitKeys(t, cli, []string{a.ready.InstanceID, c.ready.InstanceID}, time.Second)
}
