package redisstore

import (
	"context"
	"errors"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
)

// The pipeliner's own refusals mean Redis is not keeping up: they match
// state.ErrUnavailable, and still the cause.
func TestAutoPipelineErrorsAreUnavailable(t *testing.T) {
	st, err := New(config.Redis{URL: "redis://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, cause := range []error{goredis.ErrAutoPipelineQueueFull, goredis.ErrAutoPipelineTimeout} {
		err := st.classify("get k", cause)
		if !errors.Is(err, state.ErrUnavailable) || !errors.Is(err, cause) {
			t.Errorf("classify(%v) = %v; want state.ErrUnavailable and the cause", cause, err)
		}
	}
	// A caller's own cancellation inside the pipeliner is not unavailability.
	if err := st.classify("get k", context.Canceled); errors.Is(err, state.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("classify(context.Canceled) = %v; want context.Canceled only", err)
	}
}
