package cluster_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// runner removes the member binary's directory after the tests.
type runner struct{ m *testing.M }

func (r runner) Run() int {
	defer func() {
		if memberDir != "" {
			_ = os.RemoveAll(memberDir)
		}
	}()
	return r.m.Run()
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(runner{m}) }
