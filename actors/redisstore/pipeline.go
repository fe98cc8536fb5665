package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/state"
)

// Pipeline implements state.Store: the commands go in one round trip (not a
// transaction). An argument of a type Redis has no wire form for fails its
// own command, which is then not sent. On a Redis Cluster the commands go
// to the nodes serving their keys (a multi-key command must name keys of
// one slot, or fails with state.ErrCrossSlot), and a PUBLISH is sent as
// Publish sends it (SPUBLISH and PUBLISH, its result the sum of both).
func (s *Store) Pipeline(ctx context.Context, cmds ...state.Cmd) ([]state.Result, error) {
	if err := s.checkOpen("pipeline"); err != nil {
		return nil, err
	}
	out := make([]state.Result, len(cmds))
	if len(cmds) == 0 {
		return out, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pipe := s.c.Pipeline()
	sent := make([]*goredis.Cmd, len(cmds))
	var pubs map[int][2]*goredis.IntCmd // cluster PUBLISH pairs
	n := 0
	for i, c := range cmds {
		if err := checkArgs(c.Args); err != nil {
			out[i].Err = err
			continue
		}
		n++
		if s.cluster != nil && len(c.Args) == 3 {
			if name, _ := state.ArgString(c.Args[0]); strings.EqualFold(name, "publish") {
				ch, _ := state.ArgString(c.Args[1])
				sp, pp := queueClusterPublish(ctx, pipe, ch, c.Args[2])
				if pubs == nil {
					pubs = make(map[int][2]*goredis.IntCmd)
				}
				pubs[i] = [2]*goredis.IntCmd{sp, pp}
				continue
			}
		}
		sent[i] = pipe.Do(ctx, c.Args...)
	}
	if n == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReply(err) {
		return nil, s.wrap("pipeline", err)
	}
	for i, pair := range pubs {
		v, err := clusterPublishResult(pair[0], pair[1], nil)
		if err != nil {
			out[i].Err = s.wrap("pipeline publish", err)
			continue
		}
		out[i].Val = v
	}
	for i, c := range sent {
		if c == nil {
			continue
		}
		v, err := c.Result()
		if err != nil {
			out[i].Err = s.wrap("pipeline "+c.Name(), err)
			continue
		}
		out[i].Val = v
	}
	return out, nil
}

func checkArgs(args []any) error {
	if len(args) == 0 {
		return fmt.Errorf("redis pipeline: %w: empty command", state.ErrUnsupported)
	}
	for i, a := range args {
		if !validArg(a) {
			return fmt.Errorf("redis pipeline %s: argument %d has unsupported type %T", strings.ToLower(fmt.Sprint(args[0])), i, a)
		}
	}
	return nil
}

// isReply reports whether err is a command's own outcome (a server error or
// a nil reply) rather than a failure of the whole batch.
func isReply(err error) bool {
	var rerr goredis.Error
	return errors.Is(err, goredis.Nil) || errors.As(err, &rerr)
}

// validArg reports whether a has a wire form (the types state.ArgString
// formats), without formatting it.
func validArg(a any) bool {
	switch a.(type) {
	case string, []byte, int, int64, int32, uint64, uint32, uint, float64, bool:
		return true
	}
	return false
}
