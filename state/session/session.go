package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/state"
)

// Config configures a Store. The zero value is valid.
type Config struct {
	// TTL is a session's lifetime. Default 30 minutes.
	TTL time.Duration
	// Sliding makes every Get, Put and Touch extend the session to TTL from
	// now. Default: expiry fixed at creation (only Touch extends).
	Sliding bool
	// Prefix of the backend keys. Default "session:".
	Prefix string
	// Now is the time source for the recorded times. Default time.Now.
	// Expiry itself is enforced by the backend's own clock.
	Now func() time.Time
}

// Store creates and serves sessions. It is safe for concurrent use.
type Store struct {
	st  state.Store
	cfg Config
}

// Session is one session.
type Session struct {
	// ID is the session's random identifier.
	ID string `json:"-"`
	// Data is the session's document as JSON.
	Data json.RawMessage `json:"data"`
	// Created is when Create made it.
	Created time.Time `json:"created"`
	// Expires is when it expires unless extended.
	Expires time.Time `json:"expires"`
}

// Decode decodes the session's data into dst as state.Store.Get does.
func (s Session) Decode(dst any) error { return state.Decode(s.ID, s.Data, dst) }

// New returns a session store over st.
func New(st state.Store, cfg Config) *Store {
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Minute
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "session:"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{st: st, cfg: cfg}
}

const idBytes = 32

var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

func newID() (string, error) {
	var b [idBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session: random ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Store) key(id string) string { return s.cfg.Prefix + id }

func encodeData(data any) (json.RawMessage, error) {
	b, err := state.Encode(data)
	if err != nil {
		return nil, fmt.Errorf("session: encode data: %w", err)
	}
	if !json.Valid(b) {
		return nil, errors.New("session: data is not valid JSON")
	}
	return append(json.RawMessage(nil), b...), nil
}

// notFound leaves the ID out of the error: it is a bearer secret.
func notFound(string) error { return fmt.Errorf("session: %w", state.ErrNotFound) }

// Create stores a new session holding data (encoded as state.Store.Set
// does; raw bytes must be JSON).
func (s *Store) Create(ctx context.Context, data any) (Session, error) {
	raw, err := encodeData(data)
	if err != nil {
		return Session{}, err
	}
	id, err := newID()
	if err != nil {
		return Session{}, err
	}
	now := s.cfg.Now()
	sess := Session{ID: id, Data: raw, Created: now, Expires: now.Add(s.cfg.TTL)}
	if err := s.st.Set(ctx, s.key(id), sess, state.Expire(s.cfg.TTL)); err != nil {
		return Session{}, fmt.Errorf("session: create: %w", err)
	}
	return sess, nil
}

// Get returns the session id; with Sliding it also extends it.
func (s *Store) Get(ctx context.Context, id string) (Session, error) {
	if !validID(id) {
		return Session{}, notFound(id)
	}
	var sess Session
	if err := s.st.Get(ctx, s.key(id), &sess); err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return Session{}, notFound(id)
		}
		return Session{}, fmt.Errorf("session: get: %w", err)
	}
	sess.ID = id
	if s.cfg.Sliding {
		ok, err := s.st.Expire(ctx, s.key(id), s.cfg.TTL)
		if err != nil {
			return Session{}, fmt.Errorf("session: extend: %w", err)
		}
		if !ok {
			return Session{}, notFound(id)
		}
		sess.Expires = s.cfg.Now().Add(s.cfg.TTL)
	}
	return sess, nil
}

// Put replaces the data of session id. With Sliding it extends the session;
// otherwise the session keeps its expiry.
func (s *Store) Put(ctx context.Context, id string, data any) error {
	raw, err := encodeData(data)
	if err != nil {
		return err
	}
	return s.update(ctx, id, func(sess *Session, now time.Time) {
		sess.Data = raw
		if s.cfg.Sliding {
			sess.Expires = now.Add(s.cfg.TTL)
		}
	})
}

// Touch extends session id to TTL from now, in either mode.
func (s *Store) Touch(ctx context.Context, id string) error {
	if !validID(id) {
		return notFound(id)
	}
	if s.cfg.Sliding {
		// Expires is not read back in sliding mode, so the expiry alone is
		// enough: one round trip instead of a transaction.
		ok, err := s.st.Expire(ctx, s.key(id), s.cfg.TTL)
		if err != nil {
			return fmt.Errorf("session: touch: %w", err)
		}
		if !ok {
			return notFound(id)
		}
		return nil
	}
	return s.update(ctx, id, func(sess *Session, now time.Time) {
		sess.Expires = now.Add(s.cfg.TTL)
	})
}

// update rewrites an existing session inside a transaction so that a
// concurrent Delete or expiry is never undone.
func (s *Store) update(ctx context.Context, id string, change func(*Session, time.Time)) error {
	if !validID(id) {
		return notFound(id)
	}
	key := s.key(id)
	err := s.st.Transaction(ctx, []string{key}, func(tx state.Tx) error {
		var sess Session
		if err := tx.Get(ctx, key, &sess); err != nil {
			return err
		}
		now := s.cfg.Now()
		change(&sess, now)
		ttl := sess.Expires.Sub(now)
		if ttl <= 0 {
			return state.ErrNotFound // the backend is about to expire it
		}
		return tx.Set(key, sess, state.Expire(ttl))
	})
	if errors.Is(err, state.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("session: update: %w", err)
	}
	return nil
}

// Delete removes session id. Deleting a missing session is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	if _, err := s.st.Del(ctx, s.key(id)); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}
