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
	"go.yaml.in/yaml/v3"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/config"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `usage:
  vsmnode run [--config FILE] [--admin-addr ADDR] [--log-level L] [--dev]
  vsmnode run --demo [--demo-up 20s] [--demo-down 15s] [--admin-addr ADDR]
  vsmnode config check [FILE]
  vsmnode version

Every config key can be set by an environment variable: VSM_ and its key
path in upper case with '_' between keys (VSM_NODE_NAME, VSM_REDIS_URL,
VSM_POOLS_API_SIZE). Flags win over the environment, which wins over FILE.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command, given its arguments and environment.
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runNode(ctx, args[1:], env, stdout, stderr)
	case "config":
		if len(args) < 2 || len(args) > 3 || args[1] != "check" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		path := ""
		if len(args) == 3 {
			path = args[2]
		}
		return checkConfig(path, env, stdout, stderr)
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

// checkConfig validates the config as run would start it (file, then
// environment, defaults, secret files readable) and prints the effective
// config with its secrets redacted.
func checkConfig(path string, env []string, stdout, stderr io.Writer) int {
	cfg, ignored, err := loadConfig(path, env)
	for _, p := range ignored {
		fmt.Fprintf(stderr, "warning: %s\n", p)
	}
	var eff *config.Config
	if err == nil {
		eff = cfg.WithDefaults()
		err = eff.Validate()
	}
	if err == nil {
		// Read, not kept: a missing or empty secret file fails here
		// rather than at start, and the output shows only its name.
		_, err = eff.ReadSecrets()
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	out, err := yaml.Marshal(eff.Redacted())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "# %s: ok\n# the effective config: defaults and the environment applied, secrets redacted\n%s", configName(path), out)
	return 0
}

type runFlags struct {
	config, adminAddr, logLevel string
	dev                         bool
	demo                        bool
	demoUp, demoDown            time.Duration
}

func runNode(ctx context.Context, args, env []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vsmnode run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	fs.StringVar(&f.config, "config", "", "YAML config `file` (default: the embedded default config)")
	fs.StringVar(&f.adminAddr, "admin-addr", "", "admin API `address`, overriding admin.addr (default 127.0.0.1:7070)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.BoolVar(&f.dev, "dev", false, "human-readable console logs")
	fs.BoolVar(&f.demo, "demo", false, "run the demo: flaky HTTP, WebSocket and gRPC services on loopback, pooled and broken by the node")
	fs.DurationVar(&f.demoUp, "demo-up", defaultDemoUp, "with --demo, how long each demo service stays healthy")
	fs.DurationVar(&f.demoDown, "demo-down", defaultDemoDown, "with --demo, how long each demo service then fails")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vsmnode run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if f.demo {
		return runDemoNode(ctx, f, env, stdout, stderr)
	}
	cfg, ignored, err := loadConfig(f.config, env)
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
	for _, p := range ignored {
		logger.Warn("environment variable ignored", zap.String("variable", p.Env), zap.String("reason", p.Msg))
	}
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

// runDemoNode is runNode for --demo.
func runDemoNode(ctx context.Context, f runFlags, env []string, stdout, stderr io.Writer) int {
	if f.config != "" {
		fmt.Fprintln(stderr, errDemoFlags)
		return 2
	}
	if f.demoUp <= 0 || f.demoDown <= 0 {
		fmt.Fprintf(stderr, "vsmnode run: --demo-up and --demo-down must be positive, got %s and %s\n", f.demoUp, f.demoDown)
		return 2
	}
	logger, err := newLogger(f.logLevel, f.dev, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer func() { _ = logger.Sync() }()
	if err := runDemo(ctx, f, env, stdout, logger); err != nil {
		logger.Error("vsmnode demo failed", zap.Error(err))
		var ce *config.Error
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	return 0
}

// loadConfig reads the file (or the embedded default) and applies the
// environment over it; ignored lists VSM_ variables that name no key.
func loadConfig(path string, env []string) (_ *config.Config, ignored []config.Problem, err error) {
	var cfg *config.Config
	if path == "" {
		cfg, err = config.Parse(configName(path), config.DefaultYAML)
	} else {
		cfg, err = config.Load(path)
	}
	if err != nil {
		return nil, nil, err
	}
	return cfg.WithEnv(env)
}

func configName(path string) string {
	if path == "" {
		return "embedded default config"
	}
	return path
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

// serve runs the node and its admin API until ctx ends, then stops both:
// the node first, while the admin API still answers, so that /readyz fails
// (503) from the start of the stop and a load balancer polling it sees the
// node leave instead of a refused connection. Each started hook runs once
// the API serves (tests use it to reach the node).
func serve(ctx context.Context, cfg *config.Config, logger *zap.Logger, started ...func(*vsm.Node, net.Addr)) error {
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
	hub, hubOpts := newHub(cfg, logger)
	node, err := vsm.Start(ctx, cfg, append([]vsm.Option{vsm.WithLogger(logger)}, hubOpts...)...)
	if err != nil {
		_ = ln.Close()
		return err
	}
	c := node.Config()
	member, err := startCluster(ctx, node, c, hub)
	if err != nil {
		_ = ln.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return errors.Join(err, node.Stop(sctx))
	}
	api := admin.New(node, append(adminRoutes(node, member.node()), admin.WithRoutes(clusterRoutes(member)...),
		admin.WithRoutes(remoteRoutes(member.node())...))...)
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	logger.Info("admin API listening", zap.String("addr", ln.Addr().String()),
		zap.String("url", "http://"+ln.Addr().String()+"/"))
	logger.Info("node running: "+summary(c, len(node.AllHealth())), zap.String("node", c.Node.Name), zap.String("cluster", c.Node.Cluster))
	for _, h := range started {
		h(node, ln.Addr())
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("signal received, shutting down")
	case err := <-srvErr:
		runErr = fmt.Errorf("admin API: %w", err)
	case <-node.Done():
		// The root supervisor gave up (an Emergency alert says why): with
		// nothing supervised any more, the process exits rather than run
		// hollow, so that its own supervisor (systemd, Kubernetes) restarts it.
		logger.Error("supervision tree stopped: the root supervisor gave up")
		runErr = errRootGaveUp
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	api.Close() // ends the event streams, which would hold Shutdown up
	if member != nil {
		// Leave first: the other members drop this one at once.
		if err := member.stop(sctx); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if err := node.Stop(sctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		runErr = errors.Join(runErr, fmt.Errorf("admin API shutdown: %w", err))
	}
	return runErr
}

// errRootGaveUp ends serve when the supervision tree stopped on its own.
var errRootGaveUp = errors.New("vsmnode: the root supervisor gave up")

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

// summary counts the health checks that run (checks), not the entries
// of the config: custom checks registered in code count too.
func summary(c *config.Config, checks int) string {
	redis := "in-process state (no redis)"
	if c.Redis.Enabled() {
		redis = "redis " + c.Redis.Redacted()
	}
	return fmt.Sprintf("%d pools, %d circuit breakers, %d health checks, %s",
		len(c.Pools), len(c.CircuitBreakers), checks, redis)
}
