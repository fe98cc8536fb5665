package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/config"
)

func write(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigCheckShowsEffectiveConfig: config check prints the config run
// would use (file, environment over it, defaults), secrets redacted, and
// warns about variables that name no key.
func TestConfigCheckShowsEffectiveConfig(t *testing.T) {
	pw := write(t, "pw", "filepw\n")
	path := write(t, "vsm.yaml", `node:
  name: file-node
pools:
  api: {host: api.internal, port: 443, scheme: https}
redis:
  url: redis://vsm:urlpw@redis.internal:6379/0
  password_file: `+pw+`
`)
	env := []string{"VSM_NODE_NAME=env-node", "VSM_POOLS_API_SIZE=7", "VSM_REDIS_ADDR=127.0.0.1:1", "HOME=/root"}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", path}, env, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	if !strings.HasPrefix(text, "# "+path+": ok\n") {
		t.Errorf("output does not start with the verdict:\n%s", text)
	}
	for _, secret := range []string{"urlpw", "filepw"} {
		if strings.Contains(text, secret) {
			t.Errorf("output shows the secret %q:\n%s", secret, text)
		}
	}
	if want := "warning: $VSM_REDIS_ADDR: names no key; ignored; did you mean VSM_REDIS_ADDRS?\n"; errb.String() != want {
		t.Errorf("stderr = %q, want %q", errb.String(), want)
	}
	// The output is a config: it parses back to the effective one.
	eff, err := config.Parse("out.yaml", out.Bytes())
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, text)
	}
	api := eff.Pools["api"]
	if eff.Node.Name != "env-node" || api.Size != 7 || api.Timeout.D() != 5*time.Second || api.Protocol != "http" ||
		eff.FaultTolerance.DefaultMaxAttempts != 3 || eff.Admin.Addr != config.DefaultAdminAddr {
		t.Errorf("effective config lacks the environment or the defaults:\n%s", text)
	}
	if eff.Redis.URL != "redis://vsm:xxxxx@redis.internal:6379/0" || eff.Redis.PasswordFile != pw || eff.Redis.Password != "" {
		t.Errorf("redis = %v", eff.Redis)
	}

	// No FILE: the embedded default, with the environment.
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"config", "check"}, []string{"VSM_ADMIN_ADDR=127.0.0.1:9999"}, &out, &errb); code != 0 ||
		!strings.HasPrefix(out.String(), "# embedded default config: ok\n") || !strings.Contains(out.String(), "addr: 127.0.0.1:9999\n") {
		t.Errorf("check of the default: %d\n%s\n%s", code, out.String(), errb.String())
	}
}

func TestConfigCheckErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	good := write(t, "good.yaml", "pools:\n  api: {host: h, port: 1}\n")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"bad env value", []string{"config", "check", good}, []string{"VSM_POOLS_API_SIZE=zero"},
			`$VSM_POOLS_API_SIZE: pools.api.size: want an integer, got "zero"`},
		{"ambiguous env", []string{"config", "check", write(t, "amb.yaml", "pools:\n  a: {host: h, port: 1}\n  a_dial: {host: h, port: 1}\n")},
			[]string{"VSM_POOLS_A_DIAL_TIMEOUT=1s"},
			`$VSM_POOLS_A_DIAL_TIMEOUT: ambiguous: it names pools.a.dial_timeout and pools.a_dial.timeout; rename one of the entries`},
		{"no adapter", []string{"config", "check", write(t, "redis.yaml", "pools:\n  cache:\n    protocol: redis\n    host: h\n    port: 1\n")}, nil,
			"redis.yaml:3: pools.cache.protocol: protocol redis has no adapter yet; a pool can use http, websocket, grpc"},
		{"missing secret", []string{"config", "check", write(t, "pw.yaml", "redis:\n  url: redis://h:1\n  password_file: "+missing+"\n")}, nil,
			"pw.yaml:3: redis.password_file: open " + missing + ": no such file or directory"},
		{"missing secret from env", []string{"config", "check", good}, []string{"VSM_REDIS_PASSWORD_FILE=" + missing},
			"$VSM_REDIS_PASSWORD_FILE: redis.password_file: open " + missing + ": no such file or directory"},
		{"run with bad env", []string{"run", "--config", good, "--admin-addr", "127.0.0.1:0"}, []string{"VSM_POOLS_API_TIMEOUT=soon"},
			`$VSM_POOLS_API_TIMEOUT: pools.api.timeout: invalid duration "soon"`},
		{"run with no adapter", []string{"run", "--admin-addr", "127.0.0.1:0"}, []string{"VSM_POOLS_LOCAL_PROTOCOL=redis"},
			"$VSM_POOLS_LOCAL_PROTOCOL: pools.local.protocol: protocol redis has no adapter yet; a pool can use http, websocket, grpc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if code := run(ctx, tc.args, tc.env, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant 2 and %q", code, errb.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}

// TestStopKeepsServingReadyz: on shutdown the node stops first while the
// admin API still answers, so /readyz says 503 during the stop instead of
// refusing the connection.
func TestStopKeepsServingReadyz(t *testing.T) {
	cfg, _, err := loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Admin.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type answer struct {
		code int
		body string
		err  error
	}
	get := func(url string) answer {
		resp, err := http.Get(url)
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(b), err}
	}
	before, during := make(chan answer, 1), make(chan answer, 1)
	hook := func(n *vsm.Node, addr net.Addr) {
		url := "http://" + addr.String() + "/readyz"
		before <- get(url)
		// User actors are the first the node stops.
		props := actor.PropsFromFunc(func(c actor.Context) {
			if _, ok := c.Message().(*actor.Stopping); ok {
				during <- get(url)
			}
		})
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if _, err := n.Spawn(sctx, "watcher", props); err != nil {
			t.Error(err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- serve(ctx, cfg, zap.NewNop(), hook) }()
	wait := func(ch chan answer) answer {
		select {
		case a := <-ch:
			return a
		case err := <-served:
			t.Fatalf("serve returned early: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("no answer")
		}
		return answer{}
	}
	if a := wait(before); a.err != nil || a.code != 200 || a.body != "ok" {
		t.Fatalf("readyz before the stop = %+v", a)
	}
	cancel() // as SIGTERM does
	if a := wait(during); a.err != nil || a.code != 503 || a.body != "[-]shutdown failed: vsm: not ready: the node is stopping\nreadyz check failed\n" {
		t.Fatalf("readyz during the stop = %+v", a)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return")
	}
}
