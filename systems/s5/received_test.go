package s5_test

import (
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// alert.raised carries when the alert was raised (At) and when S5 handled
// it (Received), so an observer can show the algedonic path's latency.
func TestAlertRaisedCarriesReceiveTime(t *testing.T) {
	h := startPolicy(t, s5.Env{Policy: s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Info}})
	raisedAt := time.Now().Add(-time.Hour).Round(0)
	before := time.Now()
	h.sys.Root.Send(h.pid, &algedonic.Alert{Severity: algedonic.Critical, Source: "s1/api", Reason: "down", Node: "n1", Time: raisedAt})
	h.sync()
	after := time.Now()
	select {
	case e := <-h.raised:
		if !e.At.Equal(raisedAt) || e.Source != "s1/api" || e.Severity != "critical" {
			t.Fatalf("event %+v, want At %v", e, raisedAt)
		}
		if e.Received.Before(before) || e.Received.After(after) {
			t.Fatalf("Received %v not within [%v, %v]", e.Received, before, after)
		}
	default:
		t.Fatal("no alert.raised event")
	}
}
