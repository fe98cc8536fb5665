package grpcpool

import (
	"testing"

	"go.uber.org/goleak"
)

// No ignores: every test closes its channels and stops its servers, and
// grpc-go's goroutines end with them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
