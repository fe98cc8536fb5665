package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a Go duration string
// ("5s", "100ms") or, as in the seed's config, a bare integer of milliseconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML accepts "1.5s", "250ms" or 250 (milliseconds). Its errors
// name the bad value but not the line or key: Parse adds those.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New(`want a duration such as "5s" or an integer of milliseconds, got a ` + kindName(n.Kind))
	}
	if n.ShortTag() == "!!int" {
		ms, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || ms < 0 || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
			v := n.Value
			if len(v) > 40 {
				v = v[:40] + "..."
			}
			return fmt.Errorf("invalid duration %s: want a non-negative number of milliseconds no larger than %d",
				v, int64(time.Duration(1<<63-1)/time.Millisecond))
		}
		*d = Duration(time.Duration(ms) * time.Millisecond)
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf(`invalid duration %s: want a Go duration such as "5s" or an integer of milliseconds`, quote(n.Value))
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %s: must not be negative", quote(n.Value))
	}
	*d = Duration(v)
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "non-scalar"
}

// MarshalYAML writes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
