// Package session is a session store on top of any state.Store. A session is
// a random ID (256 bits from crypto/rand, base64url) and a JSON document
// with creation and expiry times. All of it lives in the backend, so any
// number of nodes sharing one Redis serve the same sessions; nothing is kept
// in the Store value besides its configuration.
//
// Expiry: every session expires TTL after it was created, or, with Sliding,
// TTL after its last Get, Put or Touch. Touch extends a session explicitly
// in either mode. Put and Touch never bring back a session that has expired
// or been deleted (they run as state transactions watching the key).
//
// Errors match state.ErrNotFound for a missing, expired, deleted or
// malformed ID, and state.ErrUnavailable when the backend is down.
package session
