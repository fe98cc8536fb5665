package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/cluster"
)

var (
	memberDir  string
	buildOnce  sync.Once
	memberBin  string
	errBuild   error
	buildMutex sync.Mutex
)

// member builds the test member binary once per test run, without -race:
// protoactor's cluster code races under -race even with one member per
// process; our own code is race-checked in this test binary.
func member(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts OS processes")
	}
	buildOnce.Do(func() {
		buildMutex.Lock()
		defer buildMutex.Unlock()
		memberDir, errBuild = os.MkdirTemp("", "cluster-member-")
		if errBuild != nil {
			return
		}
		memberBin = filepath.Join(memberDir, "member")
		out, err := exec.Command("go", "build", "-o", memberBin, "./internal/clustertest/member").CombinedOutput()
		if err != nil {
			errBuild = fmt.Errorf("go build member: %v\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return memberBin
}

// line is one JSON line a member prints.
type line struct {
	Event      string           `json:"event"`
	Node       string           `json:"node"`
	InstanceID string           `json:"instance_id"`
	Address    string           `json:"address"`
	Gossip     string           `json:"gossip"`
	Value      string           `json:"value"`
	Err        string           `json:"err"`
	Kind       string           `json:"kind"`
	To         string           `json:"to"`
	N          uint64           `json:"n"`
	Took       int64            `json:"took"`
	Status     int              `json:"status"`
	Endpoint   string           `json:"endpoint"`
	Members    []cluster.Member `json:"members"`
	T          int64            `json:"t"`
}

func (l line) at() time.Time { return time.Unix(0, l.T) }

// proc is one member process.
type proc struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready line

	mu     sync.Mutex
	lines  []line
	change chan struct{} // closed and replaced on every new line or exit
	exited bool
	stderr strings.Builder
}

type ports struct{ remote, gossip int }

func (p ports) gossipAddr() string { return "127.0.0.1:" + strconv.Itoa(p.gossip) }

// freePorts reserves nothing: it asks the kernel for n free TCP ports on
// loopback and closes them, for members that must come back on the same
// ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func newPorts(t testing.TB, n int) []ports {
	p := freePorts(t, 2*n)
	out := make([]ports, n)
	for i := range out {
		out[i] = ports{p[2*i], p[2*i+1]}
	}
	return out
}

// launch starts a member process; it is killed in t.Cleanup.
func launch(t testing.TB, name string, pt ports, seeds []string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"-name", name, "-port", strconv.Itoa(pt.remote), "-gossip-port", strconv.Itoa(pt.gossip),
		"-seeds", strings.Join(seeds, ",")}, extra...)
	return run(t, name, member(t), args...)
}

func run(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	p := &proc{t: t, name: name, cmd: cmd, change: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				continue
			}
			p.mu.Lock()
			p.lines = append(p.lines, l)
			close(p.change)
			p.change = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	waited := make(chan struct{})
	go func() {
		<-readDone // Wait closes the pipe: read it all first
		_ = cmd.Wait()
		p.mu.Lock()
		p.exited = true
		close(p.change)
		p.change = make(chan struct{})
		p.mu.Unlock()
		close(waited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s stderr (tail):\n%s", name, tail(p.stderr.String(), 3000))
			p.mu.Unlock()
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.stderr.Len() < 1<<20 {
		w.p.stderr.Write(b)
	}
	return len(b), nil
}

// mark is where the next wait starts looking.
func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// waitFrom returns the first line from index from on that matches, waiting
// at most d for it; it fails the test if the process exits or d passes.
func (p *proc) waitFrom(from int, d time.Duration, what string, match func(line) bool) line {
	p.t.Helper()
	l, err := p.tryWaitFrom(from, d, match)
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v", p.name, what, err)
	}
	return l
}

func (p *proc) tryWaitFrom(from int, d time.Duration, match func(line) bool) (line, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for i := from; ; {
		p.mu.Lock()
		for ; i < len(p.lines); i++ {
			if l := p.lines[i]; match(l) {
				p.mu.Unlock()
				return l, nil
			} else if l.Event == "fatal" {
				p.mu.Unlock()
				return line{}, fmt.Errorf("member failed: %s", l.Err)
			}
		}
		exited, ch := p.exited, p.change
		p.mu.Unlock()
		if exited {
			return line{}, fmt.Errorf("process exited")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return line{}, ctx.Err()
		}
	}
}

func (p *proc) waitReady() {
	p.t.Helper()
	p.ready = p.waitFrom(0, 20*time.Second, "ready", func(l line) bool { return l.Event == "ready" })
}

// do sends a command and waits for the answer event.
func (p *proc) do(cmd, answer string) line {
	p.t.Helper()
	return p.doWithin(10*time.Second, cmd, answer)
}

// doWithin is do waiting at most d for the answer.
func (p *proc) doWithin(d time.Duration, cmd, answer string) line {
	p.t.Helper()
	m := p.mark()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, cmd, err)
	}
	return p.waitFrom(m, d, answer, func(l line) bool { return l.Event == answer })
}

func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: kill -9
		p.t.Fatal(err)
	}
}

func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.exited
}

func isEvent(kind, node string) func(line) bool {
	return func(l line) bool { return l.Event == kind && l.Node == node }
}

// events lists the member.joined/member.left lines seen so far, as
// "joined b" / "left b".
func (p *proc) events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if l.Event == "member.joined" || l.Event == "member.left" {
			out = append(out, strings.TrimPrefix(l.Event, "member.")+" "+l.Node)
		}
	}
	return out
}

func names(ms []cluster.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// formed launches one member per name, with extra[i] as member i's extra
// flags, and waits until each has seen every other join.
func formed(t testing.TB, all []string, extra [][]string) []*proc {
	t.Helper()
	pt := newPorts(t, len(all))
	var seeds []string
	for _, p := range pt {
		seeds = append(seeds, p.gossipAddr())
	}
	procs := make([]*proc, len(all))
	for i, n := range all {
		var ex []string
		if i < len(extra) {
			ex = extra[i]
		}
		procs[i] = launch(t, n, pt[i], seeds, ex...)
	}
	for _, p := range procs {
		p.waitReady()
		for _, n := range all {
			if n != p.name {
				p.waitFrom(0, formBound, "joined "+n, isEvent("member.joined", n))
			}
		}
	}
	return procs
}
