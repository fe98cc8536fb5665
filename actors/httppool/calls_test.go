package httppool

import (
	"testing"

	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

// Stats.Calls counts calls after retries, beside Requests (attempts): two
// failed attempts hidden by a retry show as 1 call succeeded and retried
// against 3 exchanges, 1 of them 2xx.
func TestStatsCountCallsAfterRetries(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}})
	svc.FailNext(2, 503)
	if resp, err := c.Do(bg(t), Request{URL: "/"}); err != nil || resp.Attempts != 3 {
		t.Fatalf("retried call: %+v %v", resp, err)
	}
	if _, err := c.Do(bg(t), Request{URL: "/"}); err != nil {
		t.Fatal(err)
	}
	svc.FailNext(1, 500)
	if _, err := c.Do(bg(t), Request{URL: "/", Retry: []fault.Option{fault.MaxAttempts(1)}}); err == nil {
		t.Fatal("a 500 without retry succeeded")
	}
	st := c.Stats()
	if st.Calls != (Calls{Total: 3, Succeeded: 2, Retried: 1}) {
		t.Fatalf("calls = %+v", st.Calls)
	}
	if st.Requests.Success != 2 || st.Requests.ServerError != 3 {
		t.Fatalf("requests = %+v", st.Requests)
	}
}
