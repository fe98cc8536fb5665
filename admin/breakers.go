package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/breaker"
)

// BreakerRoutes are the circuit breaker endpoints:
//
//	GET  /api/v1/breakers                    every breaker's stats
//	GET  /api/v1/breakers/{name}             one breaker's stats
//	POST /api/v1/breakers/{name}/open        force it open      → 200 new stats
//	POST /api/v1/breakers/{name}/close       close it           → 200 new stats
//	POST /api/v1/breakers/{name}/reset       close, zero counts → 200 new stats
//
// Manual commands go through the breaker's actor, which owns transitions,
// events and alerts; reads use the lock-free handle.
func BreakerRoutes(n *vsm.Node) []Route {
	find := func(w http.ResponseWriter, r *http.Request) (*breaker.Breaker, bool) {
		name := r.PathValue("name")
		b, ok := n.Breaker(name)
		if !ok {
			WriteError(w, http.StatusNotFound, fmt.Errorf("no circuit breaker %q", name))
		}
		return b, ok
	}
	command := func(do func(context.Context, *vsm.Node, string) (breaker.Stats, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, ok := find(w, r)
			if !ok {
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			st, err := do(ctx, n, b.Name())
			if err != nil {
				WriteError(w, http.StatusServiceUnavailable, err)
				return
			}
			WriteJSON(w, http.StatusOK, st)
		}
	}
	return []Route{
		{"GET /api/v1/breakers", func(w http.ResponseWriter, _ *http.Request) {
			bs := n.Breakers()
			out := make([]breaker.Stats, 0, len(bs))
			for _, b := range bs {
				out = append(out, b.Stats())
			}
			WriteJSON(w, http.StatusOK, out)
		}},
		{"GET /api/v1/breakers/{name}", func(w http.ResponseWriter, r *http.Request) {
			if b, ok := find(w, r); ok {
				WriteJSON(w, http.StatusOK, b.Stats())
			}
		}},
		{"POST /api/v1/breakers/{name}/open", command(viaActor(breakeractor.Open))},
		{"POST /api/v1/breakers/{name}/close", command(viaActor(breakeractor.Close))},
		{"POST /api/v1/breakers/{name}/reset", command(viaActor(breakeractor.Reset))},
	}
}

type actorCommand func(context.Context, actor.SenderContext, *actor.PID) (breaker.Stats, error)

func viaActor(cmd actorCommand) func(context.Context, *vsm.Node, string) (breaker.Stats, error) {
	return func(ctx context.Context, n *vsm.Node, name string) (breaker.Stats, error) {
		pid, ok := n.BreakerPID(name)
		if !ok {
			return breaker.Stats{}, fmt.Errorf("circuit breaker %q has no actor", name)
		}
		return cmd(ctx, n.Root(), pid)
	}
}
