package cluster_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/cluster"
)

// TestPausedMember: a request in flight to a member that stops answering
// ends at its deadline; the member is declared dead; when it runs again
// under its old instance id protoactor's block list refuses it, and
// Members says so (status blocked) instead of pretending it is back.
func TestPausedMember(t *testing.T) {
	pt := newPorts(t, 2)
	seeds := []string{pt[0].gossipAddr(), pt[1].gossipAddr()}
	x := launch(t, "x", pt[0], seeds)
	y := launch(t, "y", pt[1], seeds)
	x.waitReady()
	y.waitReady()
	x.waitFrom(0, formBound, "y joined", isEvent("member.joined", "y"))
	if r := x.do("request y first", "reply"); r.Value != "y:first" {
		t.Fatalf("x -> y: %+v", r)
	}

	m := x.mark()
	if err := y.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// SIGSTOP is asynchronous: a request sent at once could still be
	// answered. Wait until the kernel shows the process stopped.
	waitStopped(t, y.cmd.Process.Pid)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = y.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume) // a stopped process ignores SIGKILL until resumed on some systems
	r := x.do("request y paused", "reply")
	if !strings.Contains(r.Err, "deadline exceeded") || time.Duration(r.Took) < 2*time.Second || time.Duration(r.Took) > 3*time.Second {
		t.Errorf("request to paused y: %+v, want a deadline error after 2s", r)
	}
	x.waitFrom(m, detectBound, "y left", isEvent("member.left", "y"))

	resume()
	deadline := time.Now().Add(10 * time.Second)
	var got []cluster.Member
	for time.Now().Before(deadline) {
		got = x.do("members", "members").Members
		if len(got) == 2 && got[1].Name == "y" && got[1].Status == cluster.StatusBlocked {
			break
		}
		<-time.After(100 * time.Millisecond) // poll: no event marks a refused rejoin
	}
	if len(got) != 2 || got[1].Name != "y" || got[1].Status != cluster.StatusBlocked || got[1].InstanceID != y.ready.InstanceID {
		t.Fatalf("x's members after y resumed: %+v, want y blocked under its old instance id", got)
	}
	if r := x.do("request y again", "reply"); !strings.Contains(r.Err, "unknown member") {
		t.Errorf("request to blocked y: %+v, want unknown member", r)
	}
	if ev := x.events(); len(ev) != 2 || ev[0] != "joined y" || ev[1] != "left y" {
		t.Errorf("x events %v, want [joined y left y]: no joined for a blocked member", ev)
	}
}

// waitStopped waits until /proc shows pid in state T (stopped).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(time.Millisecond) // the kernel gives no event to wait on
	defer tick.Stop()
	for ; ; <-tick.C {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped after SIGSTOP: %s", pid, b)
		}
	}
}
