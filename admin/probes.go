package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	vsm "github.com/viable-systems/vsm-connections"
)

// Probes follow the Kubernetes API server's /livez and /readyz: plain
// text, "ok" when every check passes, and with ?verbose (or on failure) one
// line per check and a verdict:
//
//	[+]shutdown ok
//	[-]breaker/payments failed: vsm: not ready: breaker "payments" is open
//	readyz check failed
//
// ?exclude=name (repeatable) skips a check. GET /readyz/{name} runs one.

// livenessChecks never consult a dependency: a node whose Redis or
// upstream is down must not be restarted for it, only taken out of
// rotation (readiness).
func livenessChecks() []vsm.ReadinessCheck {
	return []vsm.ReadinessCheck{{Name: "ping", Check: func(context.Context) error { return nil }}}
}

func (s *Server) livez(w http.ResponseWriter, r *http.Request) {
	s.serveChecks(w, r, "livez", livenessChecks())
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.serveChecks(w, r, "readyz", s.node.ReadinessChecks())
}

// healthz is /livez under its old name. Its plain answer stays the JSON it
// always was, for the clients (and the dashboard) that read it; ?verbose
// gives the /livez text.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		s.livez(w, r)
		return
	}
	results := s.run(r.Context(), livenessChecks(), nil)
	status, code := "ok", http.StatusOK
	if failed(results) {
		status, code = "failed", http.StatusServiceUnavailable
	}
	WriteJSON(w, code, map[string]string{"status": status, "node": s.node.Name()})
}

// oneCheck serves /livez/{name} and /readyz/{name}.
func (s *Server) oneCheck(kind string, checks func() []vsm.ReadinessCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		all := checks()
		i := slices.IndexFunc(all, func(c vsm.ReadinessCheck) bool { return c.Name == name })
		if i < 0 {
			writeText(w, http.StatusNotFound, fmt.Sprintf("no %s check %q\n", kind, name))
			return
		}
		res := s.run(r.Context(), all[i:i+1], nil)[0]
		if res.err != nil {
			writeText(w, http.StatusServiceUnavailable, fmt.Sprintf("[-]%s failed: %s\n%s check failed\n", name, oneLine(res.err), kind))
			return
		}
		writeText(w, http.StatusOK, "ok")
	}
}

type result struct {
	name     string
	err      error
	excluded bool
}

func failed(rs []result) bool {
	return slices.ContainsFunc(rs, func(r result) bool { return r.err != nil })
}

// run runs the checks not excluded at once and returns their results in
// the checks' order. A check still running when the probe timeout ends
// fails with the context's error: the answer never waits on a check that
// ignores its ctx (that check's goroutine ends when it returns). A check
// that panics fails instead of taking the process down.
func (s *Server) run(ctx context.Context, checks []vsm.ReadinessCheck, exclude map[string]bool) []result {
	ctx, cancel := context.WithTimeout(ctx, s.probeTimeout)
	defer cancel()
	out := make([]result, len(checks))
	done := make([]chan error, len(checks))
	for i, c := range checks {
		out[i].name = c.Name
		if exclude[c.Name] {
			out[i].excluded = true
			continue
		}
		ch := make(chan error, 1) // never blocks a late check
		done[i] = ch
		go func() {
			defer func() {
				if r := recover(); r != nil {
					ch <- fmt.Errorf("check panicked: %v", r)
				}
			}()
			ch <- c.Check(ctx)
		}()
	}
	for i, ch := range done {
		if ch == nil {
			continue
		}
		select {
		case out[i].err = <-ch:
		case <-ctx.Done():
			// A check that answered while an earlier one was awaited
			// keeps its answer.
			select {
			case out[i].err = <-ch:
			default:
				out[i].err = fmt.Errorf("no answer within %s: %w", s.probeTimeout, ctx.Err())
			}
		}
	}
	return out
}

func (s *Server) serveChecks(w http.ResponseWriter, r *http.Request, kind string, checks []vsm.ReadinessCheck) {
	q := r.URL.Query()
	exclude := map[string]bool{}
	for _, name := range q["exclude"] {
		exclude[name] = true
	}
	results := s.run(r.Context(), checks, exclude)
	var b strings.Builder
	var failing []string
	for _, res := range results {
		delete(exclude, res.name)
		switch {
		case res.excluded:
			fmt.Fprintf(&b, "[+]%s excluded: ok\n", res.name)
		case res.err != nil:
			failing = append(failing, res.name)
			fmt.Fprintf(&b, "[-]%s failed: %s\n", res.name, oneLine(res.err))
		default:
			fmt.Fprintf(&b, "[+]%s ok\n", res.name)
		}
	}
	if len(exclude) > 0 {
		unknown := make([]string, 0, len(exclude))
		for name := range exclude {
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
		slices.Sort(unknown)
		fmt.Fprintf(&b, "warn: some checks cannot be excluded: no matches for %s\n", strings.Join(unknown, ", "))
	}
	if len(failing) > 0 {
		// Debug: probes run every few seconds, and a failing dependency
		// is already reported by its own breaker events and alerts.
		s.log.Debug("admin: "+kind+" check failed", zap.Strings("failing", failing))
		fmt.Fprintf(&b, "%s check failed\n", kind)
		writeText(w, http.StatusServiceUnavailable, b.String())
		return
	}
	if _, verbose := q["verbose"]; !verbose {
		writeText(w, http.StatusOK, "ok")
		return
	}
	fmt.Fprintf(&b, "%s check passed\n", kind)
	writeText(w, http.StatusOK, b.String())
}

// oneLine keeps an error on its line of the report.
func oneLine(err error) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(err.Error())
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
