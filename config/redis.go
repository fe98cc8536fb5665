package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Redis configures the Redis connection. An empty URL and no Addrs means no
// Redis: the node serves state, sessions and pub/sub in-process.
type Redis struct {
	// URL is redis://[user:pass@]host:port/db or rediss:// for TLS.
	URL string `yaml:"url,omitempty"`
	// Addrs lists Sentinel or Redis Cluster addresses (host:port) instead of URL.
	Addrs []string `yaml:"addrs,omitempty"`
	// MasterName selects Sentinel mode with Addrs.
	MasterName string `yaml:"master_name,omitempty"`
	Username   string `yaml:"username,omitempty"`
	Password   string `yaml:"password,omitempty"`
	// PasswordFile names a file holding the password (a mounted secret),
	// read by ReadSecrets (vsm.Start calls it); one trailing newline is
	// dropped. Not together with Password.
	PasswordFile string `yaml:"password_file,omitempty"`
	// PoolSize is go-redis's pool size. Default 10 per CPU.
	PoolSize int `yaml:"pool_size,omitempty"`
	// Timeout bounds every command. Default 5s.
	Timeout Duration `yaml:"timeout,omitempty"`
	// ReplicaAcks, when above 0, makes every write of the state API wait
	// (Redis WAIT, at most a quarter of the timeout) until that many replicas have
	// it, and fail otherwise: an acknowledged write then survives the
	// failover of its master. Replication is asynchronous without it, and a
	// master that dies can take its last acknowledged writes with it.
	// Default 0.
	ReplicaAcks int `yaml:"replica_acks,omitempty"`
	// DisableAutoPipeline sends every Get and Set on its own round trip.
	// By default, a Get or Set made while another is in flight joins the
	// concurrent callers' commands in one pipeline (each call still ends
	// at its own deadline); a call alone goes straight to the pool.
	// Default false.
	DisableAutoPipeline bool `yaml:"disable_auto_pipeline,omitempty"`
	TLS                 TLS  `yaml:"tls,omitempty"`
}

// Enabled reports whether a Redis server is configured.
func (r Redis) Enabled() bool { return r.URL != "" || len(r.Addrs) > 0 }

// Redacted returns where Redis is, for logs: the URL with any password
// replaced by "xxxxx", or the addresses (with the Sentinel master name);
// "" when Redis is not configured.
func (r Redis) Redacted() string {
	if r.URL != "" {
		return redactURL(r.URL)
	}
	addrs := strings.Join(r.Addrs, ",")
	if r.MasterName != "" {
		return r.MasterName + "@" + addrs
	}
	return addrs
}

// String describes the settings without ever printing a password, so a
// Redis (or a Config holding one) is safe to log with %v or %+v.
func (r Redis) String() string {
	pw := ""
	if r.Password != "" {
		pw = "xxxxx"
	}
	return fmt.Sprintf("redis{url:%s addrs:%v master_name:%s username:%s password:%s password_file:%s pool_size:%d timeout:%s tls:%+v}",
		redactURL(r.URL), r.Addrs, r.MasterName, r.Username, pw, r.PasswordFile, r.PoolSize, r.Timeout, r.TLS)
}

// GoString keeps %#v from printing the password too.
func (r Redis) GoString() string { return "config." + r.String() }

// redactURL replaces the password in a URL's userinfo with "xxxxx", also
// when the URL does not parse, since a typo elsewhere in it must not leak
// the password into an error message or log.
func redactURL(s string) string {
	// An opaque URL is what a missing "//" gives ("user:pw@host:6379"
	// parses as scheme "user"), and url.Redacted leaves it alone.
	if u, err := url.Parse(s); err == nil && u.Opaque == "" {
		return u.Redacted()
	}
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		rest = s
	}
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	at := strings.LastIndex(rest[:authEnd], "@")
	if at < 0 {
		return s
	}
	prefix := s[:len(s)-len(rest)]
	user, _, hasPW := strings.Cut(rest[:at], ":")
	if !hasPW {
		return s
	}
	return prefix + user + ":xxxxx" + rest[at:]
}
