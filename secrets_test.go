package vsm_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/redistest"
)

// TestStartReadsPasswordFile: redis.password_file is read at Start and
// authenticates to a Redis that requires a password.
func TestStartReadsPasswordFile(t *testing.T) {
	rs := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	if err := admin.ConfigSet(ctx, "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()

	pw := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("vsm.yaml", []byte("redis:\n  url: "+rs.URL()+"\n  password_file: "+pw+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := startWith(t, cfg)
	if err := n.State().Ping(ctx); err != nil {
		t.Fatalf("ping with the password from the file: %v", err)
	}
	if got := n.Config().Redis; got.Password != "s3cret" || got.PasswordFile != "" {
		t.Errorf("node config redis = %v", got)
	}
	if cfg.Redis.Password != "" {
		t.Errorf("Start modified the caller's config")
	}

	missing := filepath.Join(t.TempDir(), "missing")
	cfg, err = config.Parse("vsm.yaml", []byte("redis:\n  url: "+rs.URL()+"\n  password_file: "+missing+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := vsm.Start(ctx, cfg); err == nil {
		_ = n.Stop(ctx)
		t.Fatal("Start ran with an unreadable password file")
	} else if !errors.Is(err, config.ErrInvalid) || !errors.Is(err, fs.ErrNotExist) ||
		err.Error() != "vsm.yaml:3: redis.password_file: open "+missing+": no such file or directory" {
		t.Fatalf("Start = %v", err)
	}
}
