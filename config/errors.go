package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched by errors.Is for every configuration problem that
// Parse, Load or Validate reports: syntax, unknown keys, wrong types and
// invalid values.
var ErrInvalid = errors.New("config: invalid configuration")

// Problem is one thing wrong with a configuration.
type Problem struct {
	// File is the name given to Parse (or the path given to Load); empty for
	// a Config built in code.
	File string
	// Line is 1-based; 0 when unknown (a Config built in code, or a problem
	// with the whole input).
	Line int
	// Key is the dotted key path, e.g. "pools.api.endpoints[1]"; empty for a
	// problem with the whole input.
	Key string
	Msg string
	// Env is the environment variable the value came from (WithEnv); File
	// and Line are then empty.
	Env string
	// Err is the cause, when there is one to match with errors.Is (a
	// secret file that does not exist matches fs.ErrNotExist).
	Err error
}

// String formats the problem as file:line: key: msg, leaving out the parts
// that are unknown, or as $VARIABLE: key: msg for a value from the
// environment.
func (p Problem) String() string {
	var b strings.Builder
	if p.Env != "" {
		b.WriteString("$" + p.Env + ": ")
	} else if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found in a configuration, in file order.
type Error struct {
	Problems []Problem
}

// Error joins the problems, one a line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the causes of the problems that have one, so errors.Is
// and errors.As see them too.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}
