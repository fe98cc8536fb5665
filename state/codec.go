package state

import (
	"encoding/json"
	"errors"
	"reflect"
)

// Encode returns the bytes Set stores for value: []byte and json.RawMessage
// as they are, anything else as JSON. Backends call it so that both store
// the same bytes.
func Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case []byte:
		return v, nil
	case json.RawMessage:
		return v, nil
	}
	return json.Marshal(value)
}

var errBadDst = errors.New("destination must be a non-nil pointer")

// Decode decodes data, the value of key, into dst as Get does: a *[]byte
// receives a copy of data; anything else is decoded as JSON into a fresh
// value that replaces *dst only on success, so a failed decode never leaves
// dst half-written.
func Decode(key string, data []byte, dst any) error {
	switch d := dst.(type) {
	case *[]byte:
		if d == nil {
			return &DecodeError{Key: key, Err: errBadDst}
		}
		*d = append([]byte(nil), data...)
		return nil
	case *json.RawMessage:
		if d == nil {
			return &DecodeError{Key: key, Err: errBadDst}
		}
		if !json.Valid(data) {
			return &DecodeError{Key: key, Err: errors.New("invalid JSON")}
		}
		*d = append(json.RawMessage(nil), data...)
		return nil
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &DecodeError{Key: key, Err: errBadDst}
	}
	fresh := reflect.New(rv.Type().Elem())
	if err := json.Unmarshal(data, fresh.Interface()); err != nil {
		return &DecodeError{Key: key, Err: err}
	}
	rv.Elem().Set(fresh.Elem())
	return nil
}
