package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/config"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `usage:
  vsmnode run [--config FILE] [--admin-addr ADDR] [--log-level L] [--dev]
  vsmnode config check FILE
  vsmnode version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runNode(ctx, args[1:], stderr)
	case "config":
		if len(args) != 3 || args[1] != "check" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return checkConfig(args[2], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "vsmnode: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "vsmnode " + v
}

func checkConfig(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err == nil {
		err = cfg.WithDefaults().Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}

type runFlags struct {
	config, adminAddr, logLevel string
	dev                         bool
}

func runNode(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vsmnode run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	fs.StringVar(&f.config, "config", "", "YAML config `file` (default: the embedded default config)")
	fs.StringVar(&f.adminAddr, "admin-addr", "", "admin API `address`, overriding admin.addr (default 127.0.0.1:7070)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.BoolVar(&f.dev, "dev", false, "human-readable console logs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vsmnode run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if f.adminAddr != "" {
		cfg.Admin.Addr = f.adminAddr
	}
	logger, err := newLogger(f.logLevel, f.dev, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer func() { _ = logger.Sync() }()
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("vsmnode failed", zap.Error(err))
		var ce *config.Error
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse("embedded default config", config.DefaultYAML)
	}
	return config.Load(path)
}

func newLogger(level string, dev bool, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("vsmnode: --log-level: %w", err)
	}
	var enc zapcore.Encoder
	if dev {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

// serve runs the node and its admin API until ctx ends, then stops both.
func serve(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	// Listen first: a taken port fails before anything starts, and the
	// embedded default's self-pointing pool follows the real address.
	addr := cfg.Admin.Addr
	if addr == "" {
		addr = config.DefaultAdminAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	followAdmin(cfg, ln.Addr())
	node, err := vsm.Start(ctx, cfg, vsm.WithLogger(logger))
	if err != nil {
		_ = ln.Close()
		return err
	}
	c := node.Config()
	api := admin.New(node, adminRoutes(node)...)
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	logger.Info("admin API listening", zap.String("addr", ln.Addr().String()),
		zap.String("url", "http://"+ln.Addr().String()+"/"))
	logger.Info("node running: "+summary(c), zap.String("node", c.Node.Name), zap.String("cluster", c.Node.Cluster))

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("signal received, shutting down")
	case err := <-srvErr:
		runErr = fmt.Errorf("admin API: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	api.Close()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		runErr = errors.Join(runErr, fmt.Errorf("admin API shutdown: %w", err))
	}
	if err := node.Stop(sctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	return runErr
}

// selfPool is the embedded default config's example pool, which calls the
// node's own admin API.
const selfPool = "local"

// followAdmin points the self-calling example pool at the address the admin
// API really listens on (--admin-addr, or port 0), when it targets the
// default admin address.
func followAdmin(cfg *config.Config, addr net.Addr) {
	p, ok := cfg.Pools[selfPool]
	tcp, isTCP := addr.(*net.TCPAddr)
	if !ok || !isTCP || len(p.Endpoints) > 0 || net.JoinHostPort(p.Host, fmt.Sprint(p.Port)) != config.DefaultAdminAddr {
		return
	}
	p.Host, p.Port = tcp.IP.String(), tcp.Port
	cfg.Pools[selfPool] = p
}

func summary(c *config.Config) string {
	redis := "in-process state (no redis)"
	if c.Redis.Enabled() {
		redis = "redis " + c.Redis.Redacted()
	}
	return fmt.Sprintf("%d pools, %d circuit breakers, %d health checks, %s",
		len(c.Pools), len(c.CircuitBreakers), len(c.HealthChecks), redis)
}
