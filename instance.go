package vsm

import (
	"crypto/rand"
	"encoding/hex"
)

// InstanceID identifies this run of the node: 128 random bits in hex, made
// when the node starts. Unlike node.name, which operators may repeat by
// mistake, it is unique in the cluster; the alert bridge tells its own
// alerts from other nodes' by it (algedonic.Alert.Instance).
func (n *Node) InstanceID() string {
	return n.instance
}

func newInstanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
