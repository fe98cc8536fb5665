package algedonic_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
)

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]algedonic.Severity{
		"info": algedonic.Info, "WARNING": algedonic.Warning, " critical ": algedonic.Critical, "emergency": algedonic.Emergency,
	} {
		got, err := algedonic.ParseSeverity(in)
		if err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fatal", "1", "warn"} {
		if _, err := algedonic.ParseSeverity(bad); !errors.Is(err, algedonic.ErrSeverity) {
			t.Errorf("ParseSeverity(%q) error = %v; want ErrSeverity", bad, err)
		}
	}
}

func TestSeverityOrderAndJSON(t *testing.T) {
	if !(algedonic.Info < algedonic.Warning && algedonic.Warning < algedonic.Critical && algedonic.Critical < algedonic.Emergency) {
		t.Fatal("severities are not ordered")
	}
	b, err := json.Marshal(algedonic.Alert{Severity: algedonic.Critical, Source: "s", Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	var back algedonic.Alert
	if err := json.Unmarshal(b, &back); err != nil || back.Severity != algedonic.Critical {
		t.Fatalf("round trip: %s -> %+v, %v", b, back, err)
	}
	if _, err := json.Marshal(algedonic.Severity(9)); !errors.Is(err, algedonic.ErrSeverity) {
		t.Fatalf("marshal invalid severity: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"severity":"loud"}`), &back); !errors.Is(err, algedonic.ErrSeverity) {
		t.Fatalf("unmarshal invalid severity: %v", err)
	}
}

func TestAlertPriorityAboveDefault(t *testing.T) {
	// protoactor's default message priority is 4 and the range ends at 7.
	if got := (&algedonic.Alert{}).GetPriority(); got != 7 {
		t.Fatalf("priority = %d, want 7", got)
	}
}

func TestChannelUnboundCountsLost(t *testing.T) {
	sys := actor.NewActorSystem()
	ch := algedonic.NewChannel(sys.Root, "n1")
	ch.Raise(algedonic.Critical, "src", "nobody listening")
	if ch.Lost() != 1 || ch.Sent() != 0 {
		t.Fatalf("lost=%d sent=%d, want 1 and 0", ch.Lost(), ch.Sent())
	}
	got := make(chan *algedonic.Alert, 1)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if a, ok := c.Message().(*algedonic.Alert); ok {
			got <- a
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ch.Bind(pid)
	ch.Raise(algedonic.Critical, "src", "now bound")
	var a *algedonic.Alert
	select {
	case a = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the alert never arrived")
	}
	if a.Node != "n1" || a.Source != "src" || a.Reason != "now bound" || a.Severity != algedonic.Critical || a.Time.IsZero() {
		t.Fatalf("alert = %+v", a)
	}
	if ch.Sent() != 1 {
		t.Fatalf("sent = %d, want 1", ch.Sent())
	}
}
