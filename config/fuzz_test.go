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
