package s4

import (
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
)

// Name is System 4's stable name and the prefix of its children's names.
const Name = "s4"

// Spec is System 4's supervisor, for the node root to start.
func Spec(cfg supervisor.Config, env supervisor.Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	return systems.Spec(Name, cfg, env, children...)
}
