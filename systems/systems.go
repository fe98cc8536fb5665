package systems

import "github.com/viable-systems/vsm-connections/supervisor"

// Spec is the child spec of the system supervisor called name, for the node
// root to start.
func Spec(name string, cfg supervisor.Config, env supervisor.Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	return supervisor.ChildSpec{
		Name:  name,
		Kind:  "supervisor",
		Props: supervisor.Props(name, cfg, env, children...),
	}
}
