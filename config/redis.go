package config

// Redis configures the Redis connection. An empty URL and no Addrs means no
// Redis: the node serves state, sessions and pub/sub in-process.
type Redis struct {
	// URL is redis://[user:pass@]host:port/db or rediss:// for TLS.
	URL string `yaml:"url"`
	// Addrs lists Sentinel or Redis Cluster addresses (host:port) instead of URL.
	Addrs []string `yaml:"addrs"`
	// MasterName selects Sentinel mode with Addrs.
	MasterName string `yaml:"master_name"`
	Username   string `yaml:"username"`
	Password   string `yaml:"password"`
	// PoolSize is go-redis's pool size. Default 10 per CPU.
	PoolSize int `yaml:"pool_size"`
	// Timeout bounds every command. Default 5s.
	Timeout Duration `yaml:"timeout"`
	TLS     TLS      `yaml:"tls"`
}

// Enabled reports whether a Redis server is configured.
func (r Redis) Enabled() bool { return r.URL != "" || len(r.Addrs) > 0 }
