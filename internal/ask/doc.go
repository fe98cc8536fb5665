// Package ask wraps protoactor's RequestFuture in a typed, context-aware
// call, so no caller handles an untyped future or a bare timeout.
package ask
