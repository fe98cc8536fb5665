package memory

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/viable-systems/vsm-connections/state"
)

// Pipeline implements state.Store for the subset of commands listed in the
// package documentation. Commands run one after the other, each atomically.
func (s *Store) Pipeline(ctx context.Context, cmds ...state.Cmd) ([]state.Result, error) {
	now, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]state.Result, len(cmds))
	for i, c := range cmds {
		out[i] = s.execLocked(c, now)
	}
	return out, nil
}

func errArgs(name string) state.Result {
	return state.Result{Err: fmt.Errorf("ERR wrong number of arguments for '%s' command", strings.ToLower(name))}
}

func (s *Store) execLocked(c state.Cmd, now time.Time) state.Result {
	if len(c.Args) == 0 {
		return state.Result{Err: fmt.Errorf("%w: empty command", state.ErrUnsupported)}
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		v, ok := state.ArgString(a)
		if !ok {
			return state.Result{Err: fmt.Errorf("state: pipeline argument %d has unsupported type %T", i, a)}
		}
		args[i] = v
	}
	name := strings.ToUpper(args[0])
	args = args[1:]
	switch name {
	case "GET":
		if len(args) != 1 {
			return errArgs(name)
		}
		e := s.lookupLocked(args[0], now)
		if e == nil {
			return state.Result{Err: fmt.Errorf("%w: %q", state.ErrNotFound, args[0])}
		}
		return state.Result{Val: string(e.val)}
	case "SET":
		if len(args) != 2 && len(args) != 4 {
			return errArgs(name)
		}
		var ttl time.Duration
		if len(args) == 4 {
			n, err := strconv.ParseInt(args[3], 10, 64)
			if err != nil || n <= 0 {
				return state.Result{Err: fmt.Errorf("ERR invalid expire time in 'set' command")}
			}
			switch strings.ToUpper(args[2]) {
			case "EX":
				ttl = time.Duration(n) * time.Second
			case "PX":
				ttl = time.Duration(n) * time.Millisecond
			default:
				return state.Result{Err: fmt.Errorf("%w: SET option %q", state.ErrUnsupported, args[2])}
			}
		}
		s.setLocked(args[0], []byte(args[1]), ttl, now)
		return state.Result{Val: "OK"}
	case "DEL", "EXISTS":
		if len(args) == 0 {
			return errArgs(name)
		}
		var n int64
		for _, k := range args {
			if name == "DEL" && s.delLocked(k, now) || name == "EXISTS" && s.lookupLocked(k, now) != nil {
				n++
			}
		}
		return state.Result{Val: n}
	case "INCR", "INCRBY":
		by := int64(1)
		if name == "INCR" && len(args) != 1 || name == "INCRBY" && len(args) != 2 {
			return errArgs(name)
		}
		if name == "INCRBY" {
			n, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return state.Result{Err: state.ErrNotInteger}
			}
			by = n
		}
		v, err := s.incrLocked(args[0], by, now)
		if err != nil {
			return state.Result{Err: err}
		}
		return state.Result{Val: v}
	case "EXPIRE", "PEXPIRE":
		if len(args) != 2 {
			return errArgs(name)
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return state.Result{Err: state.ErrNotInteger}
		}
		unit := time.Second
		if name == "PEXPIRE" {
			unit = time.Millisecond
		}
		if s.expireLocked(args[0], time.Duration(n)*unit, now) {
			return state.Result{Val: int64(1)}
		}
		return state.Result{Val: int64(0)}
	case "PUBLISH":
		if len(args) != 2 {
			return errArgs(name)
		}
		return state.Result{Val: s.publishLocked(args[0], []byte(args[1]))}
	}
	return state.Result{Err: fmt.Errorf("%w: %q", state.ErrUnsupported, name)}
}
