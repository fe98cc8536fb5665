package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestClusterRouteAlone(t *testing.T) {
	rec := httptest.NewRecorder()
	clusterRoutes(nil)[0].Handler(rec, httptest.NewRequest("GET", "/api/v1/cluster", nil))
	if got := strings.TrimSpace(rec.Body.String()); rec.Code != 200 || !strings.Contains(got, `"enabled": false`) || !strings.Contains(got, `"members": []`) {
		t.Errorf("GET /api/v1/cluster alone = %d %s", rec.Code, got)
	}
}

type clusterBody struct {
	Enabled bool `json:"enabled"`
	Members []struct {
		Name, Status string
	} `json:"members"`
}

func getCluster(addr string) (clusterBody, error) {
	var b clusterBody
	resp, err := http.Get("http://" + addr + "/api/v1/cluster")
	if err != nil {
		return b, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return b, fmt.Errorf("status %d", resp.StatusCode)
	}
	return b, json.NewDecoder(resp.Body).Decode(&b)
}

func memberNames(b clusterBody) []string {
	var out []string
	for _, m := range b.Members {
		out = append(out, m.Name)
	}
	return out
}

// waitMembers polls GET /api/v1/cluster until it lists want (no event
// reaches the test from another process).
func waitMembers(t *testing.T, addr string, want []string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last clusterBody
	var err error
	for time.Since(start) < d {
		if last, err = getCluster(addr); err == nil && slices.Equal(memberNames(last), want) {
			return time.Since(start)
		}
		<-time.After(50 * time.Millisecond)
	}
	t.Fatalf("%s: members %v (err %v), want %v within %s", addr, memberNames(last), err, want, d)
	return 0
}

// TestThreeNodeCluster runs the README's three commands: three vsmnode
// processes (built without -race: protoactor's cluster code races) form a
// cluster seen by GET /api/v1/cluster; one stopped with SIGTERM leaves every
// view at once.
func TestThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vsmnode and starts three")
	}
	bin := buildVsmnode(t)
	// Held until all are picked, so that they differ, then freed for the
	// nodes.
	ports := make([]int, 9)
	var held []net.Listener
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range held {
		l.Close()
	}
	var seeds []string
	for i := range 3 {
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", ports[6+i]))
	}
	var admins []string
	var cmds []*exec.Cmd
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range 3 {
		admin := fmt.Sprintf("127.0.0.1:%d", ports[i])
		admins = append(admins, admin)
		cmd := exec.CommandContext(ctx, bin, "run")
		cmd.Env = append(os.Environ(),
			fmt.Sprintf("VSM_NODE_NAME=n%d", i+1), "VSM_ADMIN_ADDR="+admin,
			fmt.Sprintf("VSM_CLUSTER_PORT=%d", ports[3+i]), fmt.Sprintf("VSM_CLUSTER_GOSSIP_PORT=%d", ports[6+i]),
			"VSM_CLUSTER_SEEDS="+strings.Join(seeds, ","))
		cmds = append(cmds, cmd)
	}
	var exited []chan error
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		go func() { ch <- cmd.Wait() }()
		exited = append(exited, ch)
	}
	t.Cleanup(func() {
		for i, cmd := range cmds {
			_ = cmd.Process.Kill()
			<-exited[i]
		}
	})
	all := []string{"n1", "n2", "n3"}
	for _, a := range admins {
		took := waitMembers(t, a, all, 30*time.Second)
		t.Logf("%s lists all three after %s", a, took.Round(time.Millisecond))
	}
	if err := cmds[1].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{admins[0], admins[2]} {
		took := waitMembers(t, a, []string{"n1", "n3"}, time.Second)
		t.Logf("%s dropped n2 %s after SIGTERM", a, took.Round(time.Millisecond))
	}
	select {
	case err := <-exited[1]:
		if err != nil {
			t.Errorf("n2 exit: %v, want 0", err)
		}
		exited[1] <- nil // for Cleanup
	case <-time.After(20 * time.Second):
		t.Error("n2 did not exit after SIGTERM")
	}
}
