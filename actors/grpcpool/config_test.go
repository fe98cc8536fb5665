package grpcpool

import (
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/config"
)

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{Endpoints: []string{"127.0.0.1:1"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Balancing != PickFirst || c.MaxConns != DefaultMaxConns || c.ScaleUpRatio != DefaultScaleUpRatio ||
		c.IdleTimeout != DefaultIdleTimeout || c.Timeout != DefaultTimeout || c.Retry.MaxAttempts != DefaultMaxAttempts ||
		len(c.FailureCodes) != 4 || len(c.Retry.RetryableCodes) != 1 || c.Retry.MaxTokens != DefaultRetryMaxTokens {
		t.Fatalf("defaults %+v", c)
	}
	if c, _ := (Config{Endpoints: []string{"a:1", "b:1"}}).withDefaults(); c.Balancing != RoundRobin {
		t.Fatalf("several endpoints balance with %s, want round_robin", c.Balancing)
	}
	for _, bad := range []Config{
		{},
		{Endpoints: []string{"a:1"}, Target: "dns:///a:1"},
		{Endpoints: []string{"no-port"}},
		{Endpoints: []string{"a:1"}, Balancing: "random"},
		{Endpoints: []string{"a:1"}, MaxConns: -1},
		{Endpoints: []string{"a:1"}, Retry: RetryPolicy{MaxAttempts: -1}},
	} {
		if _, err := New(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", bad, err)
		}
	}
}

func TestTarget(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	ch := newChannel(t, Config{Target: "passthrough:///" + ts.addr})
	if r, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{Text: "t"}); err != nil || r.GetText() != "t" {
		t.Fatalf("call by target: %v, %v", r, err)
	}
	_ = ch.Close()
	_, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func TestFromConfig(t *testing.T) {
	c, err := FromConfig("users", config.Pool{Protocol: config.ProtocolGRPC, Host: "127.0.0.1", Port: 50051,
		LoadBalancing: "p2c", Timeout: config.Duration(2 * time.Second), Scheme: "grpcs"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "users" || len(c.Endpoints) != 1 || c.Endpoints[0] != "127.0.0.1:50051" || c.Balancing != LeastRequest ||
		c.Timeout != 2*time.Second || c.TLS == nil {
		t.Fatalf("config %+v", c)
	}
	if _, err := FromConfig("h", config.Pool{Protocol: config.ProtocolHTTP, Host: "a", Port: 1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("http pool: %v, want ErrConfig", err)
	}
}
