package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// SkipOrFail skips tb for reason, or fails it when CI is set.
func SkipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI is set and %s", reason)
	}
	tb.Skip(reason)
}

// Addr is the shared test server's address, from VSM_REDIS_ADDR.
func Addr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("VSM_REDIS_ADDR")
	if addr == "" {
		SkipOrFail(tb, "VSM_REDIS_ADDR is unset: start a server with `scripts/redis-test-server.sh start` and export the line it prints")
	}
	return addr
}

// Server is a redis-server process owned by one test.
type Server struct {
	tb      testing.TB
	bin     string
	port    int
	cmd     *exec.Cmd
	tlsArgs []string
}

// Start runs a redis-server on a free loopback port, without persistence,
// and kills it when the test ends.
func Start(tb testing.TB) *Server { return StartTLS(tb, nil) }

// StartTLS is Start serving TLS only, with tlsArgs (--tls-cert-file ...)
// added to the command line; nil tlsArgs means plain TCP.
func StartTLS(tb testing.TB, tlsArgs []string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		SkipOrFail(tb, "redis-server is not on PATH (apt-get install -y redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{tb: tb, bin: bin, port: port, tlsArgs: tlsArgs}
	s.Restart()
	tb.Cleanup(s.Kill)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://host:port (rediss:// for TLS).
func (s *Server) URL() string {
	if s.tlsArgs != nil {
		return "rediss://" + s.Addr()
	}
	return "redis://" + s.Addr()
}

// Restart starts the server (again, after Kill) on the same port and waits
// until it answers PING.
func (s *Server) Restart() {
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
	for Ping(s.Addr(), s.tlsArgs != nil) != nil {
		select {
		case <-ctx.Done():
			s.tb.Fatalf("redis-server on %s did not answer within 10s", s.Addr())
		case <-tick.C:
		}
	}
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP): the kernel still accepts
// connections and buffers requests, but nothing is answered, as with a hung
// server or a network that drops packets. Resume undoes it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server run again (SIGCONT); it then answers the
// requests it had buffered.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	if s.cmd == nil || s.cmd.Process == nil {
		s.tb.Fatalf("redis-server on %s is not running", s.Addr())
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("signal %v to redis-server: %v", sig, err)
	}
}

// Ping checks a server with a bare RESP PING, without go-redis.
func Ping(addr string, useTLS bool) error {
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
