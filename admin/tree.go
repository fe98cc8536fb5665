package admin

import (
	"net/http"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/supervisor"
)

// TreeNode is one actor of GET /api/v1/tree: the supervisor's snapshot
// (name, PID, kind, restarts, and for supervisors their intensity) plus
// what the admin server adds for observers.
type TreeNode struct {
	Name      string                `json:"name"`
	PID       string                `json:"pid"`
	Kind      string                `json:"kind"`
	Restarts  int                   `json:"restarts"`
	Intensity *supervisor.Intensity `json:"intensity,omitempty"`
	// Mailbox is the number of user messages queued for the actor, read
	// when the tree was asked for; absent when it cannot be read (no live
	// local process, or a protoactor whose mailbox is out of reach).
	Mailbox  *int       `json:"mailbox,omitempty"`
	Children []TreeNode `json:"children"`
}

func viewTree(sys *actor.ActorSystem, n supervisor.TreeNode) TreeNode {
	out := TreeNode{Name: n.Name, PID: n.PID, Kind: n.Kind, Restarts: n.Restarts, Intensity: n.Intensity,
		Children: make([]TreeNode, 0, len(n.Children))}
	if d, ok := mailboxDepth(sys, n.PID); ok {
		out.Mailbox = &d
	}
	for _, c := range n.Children {
		out.Children = append(out.Children, viewTree(sys, c))
	}
	return out
}

func (s *Server) tree(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, viewTree(s.node.ActorSystem(), s.node.Tree()))
}
