package signalpb

// AlertPriority is algedonic.AlertPriority (this package imports nothing of
// the project's).
const AlertPriority int8 = 7

// GetPriority puts a peer's alert ahead of ordinary messages in a priority
// mailbox. protoactor delivers a remote message that has no sender bare,
// so it keeps its priority in the receiving member's signals actor.
func (*Alert) GetPriority() int8 { return AlertPriority }
