package config

import (
	"errors"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics and that what it accepts is
// valid and survives a marshal/parse round trip.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"default.yaml", "testdata/full.yaml", "testdata/sentinel.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			var e *Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T %v: want a non-empty *Error matching ErrInvalid", err, err)
			}
			if c != nil {
				t.Fatalf("Config returned with an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not re-validate: %v", err)
		}
		if err := c.WithDefaults().Validate(); err != nil {
			t.Fatalf("defaulted config does not validate: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, err := Parse("marshalled.yaml", out)
		if err != nil {
			t.Fatalf("re-parse of marshalled config: %v\n%s", err, out)
		}
		if !c.Equal(c2) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%s", *c, *c2, out)
		}
	})
}

// FuzzWithEnv checks that any one variable gives a config that validates or
// an *Error naming the variable, never a panic, and never touches the
// receiver. Seeds are in testdata/fuzz/FuzzWithEnv as well as below.
func FuzzWithEnv(f *testing.F) {
	for _, seed := range [][2]string{
		{"VSM_NODE_NAME", "n1"},
		{"VSM_POOLS_API_SIZE", "0"},
		{"VSM_POOLS_API_ENDPOINTS", "a:1,,b:2"},
		{"VSM_POOLS_API_OUTLIER_BASE_EJECTION_TIME", "-1s"},
		{"VSM_REDIS_URL", "redis://u:pw@h:1/x"},
		{"VSM_CIRCUIT_BREAKERS_API_FAILURE_RATE", ".nan"},
		{"VSM_FAULT_TOLERANCE_DEFAULT_JITTER", "true"},
		{"VSM_", ""},
		{"VSM_POOLS_", "x"},
	} {
		f.Add(seed[0], seed[1])
	}
	base, err := Load("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	orig, _ := Load("testdata/full.yaml")
	f.Fuzz(func(t *testing.T, name, value string) {
		c, ignored, err := base.WithEnv([]string{name + "=" + value})
		if !base.Equal(orig) {
			t.Fatalf("WithEnv modified its receiver")
		}
		for _, p := range ignored {
			if p.Env != name {
				t.Fatalf("ignored %v does not name %q", p, name)
			}
		}
		if err != nil {
			var e *Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || len(e.Problems) == 0 || c != nil {
				t.Fatalf("error %T %v: want a non-empty *Error matching ErrInvalid and no config", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("config from the environment does not re-validate: %v", err)
		}
		if err := c.WithDefaults().Validate(); err != nil {
			t.Fatalf("defaulted config does not validate: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, err := Parse("marshalled.yaml", out)
		if err != nil {
			t.Fatalf("re-parse of marshalled config: %v\n%s", err, out)
		}
		if !c.Equal(c2) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%s", *c, *c2, out)
		}
	})
}
