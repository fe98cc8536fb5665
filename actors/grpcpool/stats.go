package grpcpool

import (
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
)

// counters are the channel's totals, kept outside any actor.
type counters struct {
	codes     [17]atomic.Uint64 // calls (and streams) by final code
	other     atomic.Uint64     // codes beyond Unauthenticated
	retries   atomic.Uint64
	throttled atomic.Uint64
	rejected  atomic.Uint64
	streams   atomic.Uint64
	scaleUps  atomic.Uint64
	scaleDown atomic.Uint64
}

func (c *counters) record(code codes.Code) {
	if int(code) < len(c.codes) {
		c.codes[code].Add(1)
		return
	}
	c.other.Add(1)
}

// Stats is a snapshot of a channel.
type Stats struct {
	Name string `json:"name"`
	// Conns are the ClientConns, oldest first.
	Conns []ConnStats `json:"conns"`
	// InFlight is the calls and streams in flight over all conns.
	InFlight int64 `json:"in_flight"`
	// StreamLimit is the sum of the conns' advertised limits: 0 while
	// unknown, -1 when a server advertised none.
	StreamLimit int64 `json:"stream_limit"`
	// Calls counts finished calls and streams; Codes breaks them down by
	// final status code name ("OK", "Unavailable"...), zero ones omitted.
	Calls uint64            `json:"calls"`
	Codes map[string]uint64 `json:"codes"`
	// Streams counts streams opened.
	Streams uint64 `json:"streams"`
	// Retries counts retry attempts made; Throttled the retries the token
	// bucket refused; Rejected the attempts the breaker refused.
	Retries   uint64 `json:"retries"`
	Throttled uint64 `json:"throttled"`
	Rejected  uint64 `json:"rejected"`
	// RetryTokens is the throttle's bucket now.
	RetryTokens float64 `json:"retry_tokens"`
	// ScaleUps and ScaleDowns count conns the actor opened and closed.
	ScaleUps   uint64 `json:"scale_ups"`
	ScaleDowns uint64 `json:"scale_downs"`
}

// ConnStats describes one ClientConn.
type ConnStats struct {
	ID int `json:"id"`
	// State is grpc-go's connectivity state (IDLE, CONNECTING, READY,
	// TRANSIENT_FAILURE, SHUTDOWN).
	State    string `json:"state"`
	InFlight int64  `json:"in_flight"`
	Calls    uint64 `json:"calls"`
	// StreamLimit is the limit its transports advertised (summed over
	// them with several endpoints): 0 unknown, -1 none.
	StreamLimit int64     `json:"stream_limit"`
	Transports  int       `json:"transports"`
	Opened      time.Time `json:"opened"`
}

func limitOf(v int64) int64 {
	if v >= unlimited {
		return -1
	}
	return v
}

// Stats returns a snapshot of the channel.
func (ch *Channel) Stats() Stats {
	s := Stats{Name: ch.cfg.Name, Codes: map[string]uint64{}}
	if p := ch.conns.Load(); p != nil {
		var limit int64
		for _, c := range *p {
			cs := ConnStats{ID: c.id, State: c.cc.GetState().String(), InFlight: c.inflight.Load(),
				Calls: c.calls.Load(), StreamLimit: limitOf(c.capacity.Load()),
				Transports: int(c.transports.Load()), Opened: c.opened}
			s.Conns = append(s.Conns, cs)
			s.InFlight += cs.InFlight
			limit += c.capacity.Load()
		}
		s.StreamLimit = limitOf(limit)
	}
	for i := range ch.stats.codes {
		if n := ch.stats.codes[i].Load(); n > 0 {
			s.Codes[codes.Code(i).String()] = n
			s.Calls += n
		}
	}
	if n := ch.stats.other.Load(); n > 0 {
		s.Codes["other"] = n
		s.Calls += n
	}
	s.Streams = ch.stats.streams.Load()
	s.Retries = ch.stats.retries.Load()
	s.Throttled = ch.stats.throttled.Load()
	s.Rejected = ch.stats.rejected.Load()
	s.RetryTokens = ch.throttle.value()
	s.ScaleUps = ch.stats.scaleUps.Load()
	s.ScaleDowns = ch.stats.scaleDown.Load()
	return s
}
