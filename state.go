package vsm

import "context"

// startState opens the node's state backend (Redis or in-process).
func (n *Node) startState(context.Context) error { return nil }
