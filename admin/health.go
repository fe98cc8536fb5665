package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/viable-systems/vsm-connections/actors/health"
)

// HealthChecks is what the health endpoints read and drive: S4's health
// registry (*health.Registry) implements it. It is an interface so that
// the routes do not care who owns the checkers, and so that tests can
// drive the dashboard's panel with a double.
type HealthChecks interface {
	// AllStatus is every check's latest snapshot, by name.
	AllStatus() map[string]health.Snapshot
	// Status is one check's latest snapshot; false for an unknown name.
	Status(name string) (health.Snapshot, bool)
	// Check probes name now. Its error is about the asking
	// (health.ErrUnknownCheck, health.ErrNotRunning, ctx's error); the
	// probe's own failure is in the Result.
	Check(ctx context.Context, name string) (health.Result, error)
}

var _ HealthChecks = (*health.Registry)(nil)

// checkTimeout bounds POST /api/v1/health/{name}/check when the request
// itself has no earlier deadline; a check's own timeout is usually far
// shorter.
const checkTimeout = 30 * time.Second

// HealthRoutes are the health check endpoints:
//
//	GET  /api/v1/health               every check's snapshot, a JSON list sorted by name
//	GET  /api/v1/health/{name}        one check's snapshot; 404 for an unknown name
//	POST /api/v1/health/{name}/check  probe it now → 200 with the result (a failed
//	                                  probe is a result too: "healthy": false);
//	                                  404 unknown, 503 checker not running
//
// Without HealthRoutes the server answers GET /api/v1/health with an empty
// list. A snapshot holds the status, the thresholds' counters, the last
// health.RecentResults results and a latency histogram.
func HealthRoutes(hc HealthChecks) []Route {
	return []Route{
		{"GET /api/v1/health", func(w http.ResponseWriter, _ *http.Request) {
			all := hc.AllStatus()
			out := make([]health.Snapshot, 0, len(all))
			for _, s := range all {
				out = append(out, s)
			}
			slices.SortFunc(out, func(a, b health.Snapshot) int { return strings.Compare(a.Name, b.Name) })
			WriteJSON(w, http.StatusOK, out)
		}},
		{"GET /api/v1/health/{name}", func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("name")
			s, ok := hc.Status(name)
			if !ok {
				WriteError(w, http.StatusNotFound, fmt.Errorf("%w: %q", health.ErrUnknownCheck, name))
				return
			}
			WriteJSON(w, http.StatusOK, s)
		}},
		{"POST /api/v1/health/{name}/check", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			res, err := hc.Check(ctx, r.PathValue("name"))
			switch {
			case errors.Is(err, health.ErrUnknownCheck):
				WriteError(w, http.StatusNotFound, err)
			case err != nil:
				WriteError(w, http.StatusServiceUnavailable, err)
			default:
				WriteJSON(w, http.StatusOK, res)
			}
		}},
	}
}
