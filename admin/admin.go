package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
)

// maxBody bounds every request body the API reads.
const maxBody = 64 << 10

// Server is the admin API of one node. It is an http.Handler.
type Server struct {
	node   *vsm.Node
	mux    *http.ServeMux
	log    *zap.Logger
	done   chan struct{}
	once   sync.Once
	sseBuf int
	beat   time.Duration
	// probeTimeout bounds one run of the /livez or /readyz checks.
	probeTimeout time.Duration
	// mounted are the patterns added by WithRoutes.
	mounted map[string]bool
}

// Option configures a Server.
type Option interface{ apply(*Server) }

type optionFunc func(*Server)

func (f optionFunc) apply(s *Server) { f(s) }

// WithSSEBuffer sets how many events an SSE client may fall behind before
// events are dropped for it. Default 256.
func WithSSEBuffer(n int) Option {
	return optionFunc(func(s *Server) {
		if n > 0 {
			s.sseBuf = n
		}
	})
}

// WithHeartbeat sets the interval of SSE keep-alive comments. Default 15s.
func WithHeartbeat(d time.Duration) Option {
	return optionFunc(func(s *Server) {
		if d > 0 {
			s.beat = d
		}
	})
}

// WithProbeTimeout bounds how long /livez and /readyz wait for their checks
// (all run at once); a check still running then fails with the context's
// error. Default 5s: below the usual probe timeouts of orchestrators.
func WithProbeTimeout(d time.Duration) Option {
	return optionFunc(func(s *Server) {
		if d > 0 {
			s.probeTimeout = d
		}
	})
}

// Route is an extra endpoint mounted by a later part of the node (breakers,
// pools ...). Pattern uses net/http's "METHOD /path/{name}" syntax.
type Route struct {
	Pattern string
	Handler http.HandlerFunc
}

// WithRoutes mounts extra endpoints.
func WithRoutes(rs ...Route) Option {
	return optionFunc(func(s *Server) {
		for _, r := range rs {
			s.mux.HandleFunc(r.Pattern, r.Handler)
			s.mounted[r.Pattern] = true
		}
	})
}

// New returns the admin API of node.
func New(node *vsm.Node, opts ...Option) *Server {
	s := &Server{
		node:   node,
		mux:    http.NewServeMux(),
		log:    node.Logger(),
		done:   make(chan struct{}),
		sseBuf: 256,
		beat:   15 * time.Second,

		probeTimeout: 5 * time.Second,
		mounted:      map[string]bool{},
	}
	s.mux.HandleFunc("GET /{$}", s.dashboard)
	s.mux.HandleFunc("GET /livez", s.livez)
	s.mux.HandleFunc("GET /livez/{name...}", s.oneCheck("livez", livenessChecks))
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /readyz/{name...}", s.oneCheck("readyz", node.ReadinessChecks))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/v1/tree", s.tree)
	s.mux.HandleFunc("GET /api/v1/events", s.events)
	s.mux.HandleFunc("POST /api/v1/alerts", s.postAlert)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(node.Registry(), promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Errorf("no route for %s %s", r.Method, r.URL.Path))
	})
	for _, o := range opts {
		o.apply(s)
	}
	// Without HealthRoutes the node has no health checks: say so with an
	// empty list rather than a 404, which a browser logs as an error on
	// every refresh of the dashboard.
	if !s.mounted["GET /api/v1/health"] {
		s.mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, []struct{}{})
		})
	}
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close ends every open event stream, so that http.Server.Shutdown can
// finish. It is idempotent.
func (s *Server) Close() { s.once.Do(func() { close(s.done) }) }

// AlertRequest is the body of POST /api/v1/alerts.
type AlertRequest struct {
	Severity string `json:"severity"`
	Source   string `json:"source"`
	Reason   string `json:"reason"`
}

func (s *Server) postAlert(w http.ResponseWriter, r *http.Request) {
	var req AlertRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	sev, err := algedonic.ParseSeverity(req.Severity)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	if strings.TrimSpace(req.Source) == "" || strings.TrimSpace(req.Reason) == "" {
		WriteError(w, http.StatusBadRequest, errors.New("source and reason are required"))
		return
	}
	if len(req.Source) > 256 || len(req.Reason) > 4096 {
		WriteError(w, http.StatusBadRequest, errors.New("source is limited to 256 bytes and reason to 4096"))
		return
	}
	if err := s.node.Raise(sev, req.Source, req.Reason); err != nil {
		WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]string{"status": "accepted", "severity": sev.String()})
}

// envelope is how an event is written on the SSE stream.
type envelope struct {
	Kind string      `json:"kind"`
	Data event.Event `json:"data"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, http.StatusInternalServerError, errors.New("streaming unsupported"))
		return
	}
	// ?kind=a.,b.c keeps the kinds with any of these prefixes, so that a
	// client such as the dashboard is not sent the per-request events it
	// does not show.
	var prefixes []string
	for _, p := range strings.Split(r.URL.Query().Get("kind"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			prefixes = append(prefixes, p)
		}
	}
	queue := make(chan event.Event, 1)
	quit := make(chan struct{})
	// The node's subscription is the bounded queue; this handler drains it.
	sub := s.node.Subscription(func(ev event.Event) {
		select {
		case queue <- ev:
		case <-quit:
		}
	}, event.WithBuffer(s.sseBuf), event.WithFilter(func(ev event.Event) bool {
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(ev.Kind(), p) {
				return true
			}
		}
		return false
	}))
	defer func() { close(quit); sub.Cancel(); sub.Wait() }()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ": connected\n\n")
	fl.Flush()

	beat := time.NewTicker(s.beat)
	defer beat.Stop()
	var reported uint64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-beat.C:
			if d := sub.Dropped(); d != reported {
				reported = d
				_, _ = fmt.Fprintf(w, ": dropped %d\n\n", d)
			} else {
				_, _ = io.WriteString(w, ": keep-alive\n\n")
			}
			fl.Flush()
		case ev := <-queue:
			b, err := json.Marshal(envelope{Kind: ev.Kind(), Data: ev})
			if err != nil {
				s.log.Warn("admin: event not encodable", zap.String("kind", ev.Kind()), zap.Error(err))
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind(), b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
