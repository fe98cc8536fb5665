package config_test

import (
	"errors"
	"fmt"

	"github.com/viable-systems/vsm-connections/config"
)

func ExampleParse() {
	cfg, err := config.Parse("vsm.yaml", []byte(`
pools:
  api:
    host: api.internal
    port: 443
    scheme: https
    circuit_breaker: api
circuit_breakers:
  api:
    failure_threshold: 3
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The parsed config holds what was written; WithDefaults fills in the rest.
	fmt.Println(cfg.Pools["api"].Size, cfg.WithDefaults().Pools["api"].Size)
	fmt.Println(cfg.WithDefaults().CircuitBreakers["api"].Mode)

	_, err = config.Parse("vsm.yaml", []byte(`
circuit_breakers:
  api:
    failure_threshold: 0
    recovery_timout: 10s
`))
	fmt.Println(errors.Is(err, config.ErrInvalid))
	fmt.Println(err)
	// Output:
	// 0 10
	// consecutive
	// true
	// vsm.yaml:4: circuit_breakers.api.failure_threshold: must be at least 1, got 0
	// vsm.yaml:5: circuit_breakers.api.recovery_timout: unknown key; did you mean "recovery_timeout"?
}

func ExampleRedis_Redacted() {
	r := config.Redis{URL: "redis://vsm:s3cret@redis.internal:6379/0", Password: "s3cret"}
	fmt.Println(r.Redacted())
	// Output: redis://vsm:xxxxx@redis.internal:6379/0
}

func ExampleConfig_Validate() {
	cfg := &config.Config{
		Pools: map[string]config.Pool{"db": {Protocol: "http", Host: "db.internal", Port: 8080, CircuitBreaker: "db"}},
	}
	fmt.Println(cfg.Validate())
	// Output: pools.db.circuit_breaker: no breaker "db" in circuit_breakers (none is configured)
}
