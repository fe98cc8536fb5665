package s1

import (
	"google.golang.org/grpc/connectivity"

	"github.com/viable-systems/vsm-connections/telemetry"
)

var (
	_ telemetry.BreakerSource  = (*S1)(nil)
	_ telemetry.PoolSource     = (*S1)(nil)
	_ telemetry.ConnPoolSource = (*S1)(nil)
)

// ConnPoolSamples implements telemetry.ConnPoolSource: every WebSocket and
// gRPC pool's figures, read from the handles at scrape time.
func (s *S1) ConnPoolSamples() []telemetry.ConnPoolSample {
	wss, chs := s.WebSockets(), s.GRPCs()
	out := make([]telemetry.ConnPoolSample, 0, len(wss)+len(chs))
	for _, p := range wss {
		st := p.Stats()
		t := st.Total
		out = append(out, telemetry.ConnPoolSample{
			Name: st.Name, Protocol: telemetry.ProtocolWebSocket, Conns: st.Size, Open: st.Open,
			Connects: t.Connects, DialFailures: t.DialFailures, Sent: t.Sent, Received: t.Received,
			Dropped: t.Dropped, HeartbeatLost: t.HeartbeatLost, Queued: t.Queued,
		})
	}
	for _, ch := range chs {
		st := ch.Stats()
		ready := 0
		for _, c := range st.Conns {
			if c.State == connectivity.Ready.String() {
				ready++
			}
		}
		out = append(out, telemetry.ConnPoolSample{
			Name: st.Name, Protocol: telemetry.ProtocolGRPC, Conns: len(st.Conns), Open: ready,
			InFlight: st.InFlight, StreamLimit: st.StreamLimit, Calls: st.Codes,
			Retries: st.Retries, Rejected: st.Rejected,
		})
	}
	return out
}

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
