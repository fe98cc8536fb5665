package vsm

import (
	"context"
	"fmt"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// policyHooks are the node's units as S5's policy rules see them.
type policyHooks struct {
	n      *Node
	bridge *coord.AlertBridge // nil: no cluster publication
}

var (
	_ s5.Breakers  = policyHooks{}
	_ s5.Pools     = policyHooks{}
	_ s5.Publisher = policyHooks{}
)

// Open forces the breaker open. A shared breaker's S2 coordinator sees the
// manual open and spreads it to the cluster.
func (h policyHooks) Open(name string) error {
	b, ok := h.n.Breaker(name)
	if !ok {
		return fmt.Errorf("vsm: breaker %q: %w", name, ErrNotFound)
	}
	b.Open()
	return nil
}

// Shed is System 3's: it resizes the pool, through its actor, to
// target.Size of its configured size (its size when it was added, for a
// pool added in code), unless it is already that small.
func (h policyHooks) Shed(ctx context.Context, name string, target s5.ShedTarget) (s5.ShedResult, error) {
	if _, ok := h.n.Pool(name); !ok {
		return s5.ShedResult{}, fmt.Errorf("vsm: pool %q: %w", name, ErrNotFound)
	}
	from, to, err := h.n.s3.Shed(ctx, name, target.Size)
	return s5.ShedResult{From: from, To: to}, err
}

// Publish hands the alert to the S2 bridge (Redis pub/sub), which never
// blocks.
func (h policyHooks) Publish(a *algedonic.Alert) {
	if h.bridge != nil {
		h.bridge.Publish(a)
	}
}

// startPolicy binds S5's policy rules to the node's breakers, pools and
// alert bridge, once they all run; until then an action that needs them
// fails with s5.ErrNoHook (and says so in its policy.decided event).
func (n *Node) startPolicy(ctx context.Context) error {
	pid, ok := n.dir.Lookup(S5 + "/" + s5.PolicyName)
	if !ok {
		return fmt.Errorf("vsm: %s/%s: %w", S5, s5.PolicyName, ErrNotFound)
	}
	h := policyHooks{n: n, bridge: n.s2.Bridge()}
	n.sys.Root.Send(pid, &s5.SetHooks{Hooks: s5.Hooks{Breakers: h, Pools: h, Publisher: h}})
	// A reply to a later message from the same sender proves it was applied.
	_, err := ask.Ask[*s5.Pong](ctx, n.sys.Root, pid, &s5.Ping{})
	return err
}
