package state

import (
	"fmt"
	"strconv"
)

// Cmd is one raw command of a Pipeline, such as {"SET", "k", "v"}. Arguments
// are strings, []byte, integers, floats or bools.
type Cmd struct {
	Args []any
}

// Command builds a Cmd.
func Command(args ...any) Cmd { return Cmd{Args: args} }

// Result is one pipelined command's outcome. Val is nil, int64, string,
// float64, bool or []any, as the server answered; Err is the command's own
// error (ErrNotFound for a nil reply).
type Result struct {
	Val any
	Err error
}

// Int returns an integer reply (or a string holding one).
func (r Result) Int() (int64, error) {
	if r.Err != nil {
		return 0, r.Err
	}
	switch v := r.Val.(type) {
	case int64:
		return v, nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q", ErrNotInteger, v)
		}
		return n, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("state: reply %T is not an integer", r.Val)
}

// Text returns a string reply.
func (r Result) Text() (string, error) {
	if r.Err != nil {
		return "", r.Err
	}
	switch v := r.Val.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("state: reply %T is not a string", r.Val)
}

// Decode decodes a string reply (a GET) into dst as Store.Get does.
func (r Result) Decode(dst any) error {
	s, err := r.Text()
	if err != nil {
		return err
	}
	return Decode("", []byte(s), dst)
}

// ArgString formats one pipeline argument the way Redis receives it. ok is
// false for a type that has no wire form.
func ArgString(a any) (s string, ok bool) {
	switch v := a.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case uint32:
		return strconv.FormatUint(uint64(v), 10), true
	case uint:
		return strconv.FormatUint(uint64(v), 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		if v {
			return "1", true
		}
		return "0", true
	}
	return "", false
}
