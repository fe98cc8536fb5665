package redisstore

import (
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/state"
)

func TestValidArgMatchesArgString(t *testing.T) {
	for _, a := range []any{"s", []byte("b"), 1, int64(2), int32(3), uint64(4), uint32(5), uint(6), 1.5, true,
		struct{}{}, nil, time.Second, int8(1), []string{"x"}, map[string]int{}} {
		_, ok := state.ArgString(a)
		if validArg(a) != ok {
			t.Errorf("validArg(%#v) = %v, ArgString ok = %v", a, validArg(a), ok)
		}
	}
}
