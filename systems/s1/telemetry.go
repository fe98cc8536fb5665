package s1

import (
	"github.com/viable-systems/vsm-connections/telemetry"
)

var (
	_ telemetry.BreakerSource = (*S1)(nil)
	_ telemetry.PoolSource    = (*S1)(nil)
)

// PoolSamples implements telemetry.PoolSource: every pool's figures, read
// from the handles at scrape time.
func (s *S1) PoolSamples() []telemetry.PoolSample {
	pools := s.Pools()
	out := make([]telemetry.PoolSample, len(pools))
	for i, p := range pools {
		st := p.Stats()
		r := st.Requests
		out[i] = telemetry.PoolSample{
			Name:  st.Name,
			Slots: st.Stats,
			Requests: [...]uint64{
				telemetry.Class1xx: r.Informational, telemetry.Class2xx: r.Success, telemetry.Class3xx: r.Redirect,
				telemetry.Class4xx: r.ClientError, telemetry.Class5xx: r.ServerError, telemetry.ClassError: r.Errors,
			},
			Duration:    st.Duration,
			ConnsOpened: st.ConnsOpened,
			ConnsClosed: st.ConnsClosed,
			Endpoints:   st.Endpoints,
		}
	}
	return out
}
