package redis_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// skipOrFail skips a test that needs something missing, except in CI (env
// CI set), where nothing may be skipped silently.
func skipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI is set and %s", reason)
	}
	tb.Skip(reason)
}

// redisAddr is the shared test server, from VSM_REDIS_ADDR.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("VSM_REDIS_ADDR")
	if addr == "" {
		skipOrFail(tb, "VSM_REDIS_ADDR is unset: start a server with `scripts/redis-test-server.sh start` and export the line it prints")
	}
	return addr
}

// server is a redis-server process owned by one test, so it can be killed
// and restarted.
type server struct {
	tb   testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	// tlsArgs, when set, serve TLS only (on port) with these file options.
	tlsArgs []string
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func startServer(tb testing.TB) *server { return startServerArgs(tb, nil) }

func startServerArgs(tb testing.TB, tlsArgs []string) *server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(tb, "redis-server is not on PATH (apt-get install -y redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &server{tb: tb, bin: bin, port: port, tlsArgs: tlsArgs}
	s.start()
	tb.Cleanup(s.kill)
	return s
}

func (s *server) start() {
	s.tb.Helper()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}
	if s.tlsArgs != nil {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.port))
		args = append(args, s.tlsArgs...)
	}
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if pingRaw(s.addr(), s.tlsArgs != nil) == nil {
			return
		}
		select {
		case <-ctx.Done():
			s.tb.Fatalf("redis-server on %s did not answer within 10s", s.addr())
		case <-tick.C:
		}
	}
}

func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// pingRaw checks a server with a bare RESP PING, without go-redis.
func pingRaw(addr string, useTLS bool) error {
	var c net.Conn
	var err error
	if useTLS {
		d := &net.Dialer{Timeout: time.Second}
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // readiness only
	} else {
		c, err = net.DialTimeout("tcp", addr, time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
