package redisstore

import (
	"net/url"
	"regexp"
	"strings"
)

// redactor removes known secrets from text shown to anyone: errors, String,
// log lines.
type redactor struct {
	secrets []string
}

const mask = "xxxxx"

// userinfo matches the credentials of a Redis URL even when the URL does not
// parse; it runs to the last '@' of the URL so a password holding a literal
// '@' is still covered.
var userinfo = regexp.MustCompile(`(?i)(rediss?://[^:/@\s"]*:)\S*@`)

func newRedactor(rawURL, password string) redactor {
	var r redactor
	add := func(s string) {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	add(password)
	add(url.QueryEscape(password))
	add(url.PathEscape(password))
	// The password as written in the URL, whether or not the URL parses.
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			info := rest[:at]
			if c := strings.Index(info, ":"); c >= 0 {
				pw := info[c+1:]
				add(pw)
				if u, err := url.PathUnescape(pw); err == nil {
					add(u)
				}
			}
		}
	}
	// Longest first, so that a secret containing another is masked whole.
	for i := 1; i < len(r.secrets); i++ {
		for j := i; j > 0 && len(r.secrets[j]) > len(r.secrets[j-1]); j-- {
			r.secrets[j], r.secrets[j-1] = r.secrets[j-1], r.secrets[j]
		}
	}
	return r
}

func (r *redactor) redact(s string) string {
	s = userinfo.ReplaceAllString(s, "${1}"+mask+"@")
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, mask)
	}
	return s
}

// redactedError shows a redacted message but keeps the cause for errors.Is
// and errors.As. Code that prints the unwrapped cause itself bypasses the
// redaction; the causes wrapped here (network and server errors from
// go-redis) carry addresses, not credentials.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
