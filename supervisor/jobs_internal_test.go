package supervisor

import "testing"

// A finished job is not kept alive by the queue's backing array: a
// finished StartChildren holds a step (spec, closures) per child it
// started, 10,000 of them for a node's breakers.
func TestFinishedJobsAreNotRetained(t *testing.T) {
	s := &supervisor{}
	ran := 0
	job := func() *job { return &job{steps: []*step{{op: opDo, do: func() { ran++ }}}} }
	// Queue several before advancing, as requests arriving together do.
	s.advancing = true
	for range 4 {
		s.enqueue(job())
	}
	s.advancing = false
	queue := s.jobs[:cap(s.jobs)] // the backing array, whatever advance reslices
	s.advance()
	if ran != 4 || s.cur != nil || len(s.jobs) != 0 {
		t.Fatalf("ran %d jobs, cur %v, %d queued; want 4, nil, 0", ran, s.cur, len(s.jobs))
	}
	for i, j := range queue {
		if j != nil {
			t.Fatalf("the queue's backing array still holds finished job %d", i)
		}
	}
}
