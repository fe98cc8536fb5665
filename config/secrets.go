package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSecretSize is the largest secret file ReadSecrets reads, in bytes: a
// password, not a document.
const MaxSecretSize = 64 << 10

// redactedValue replaces a secret wherever a config is shown.
const redactedValue = "xxxxx"

// secretFile is a key whose value may be read from the file another key
// names, so that the secret need not sit in the YAML or the environment.
type secretFile struct {
	fileKey string // key path of the file name, for problems
	file    func(*Config) *string
	value   func(*Config) *string
}

// secretFiles lists them; a secret key joins here with its _file twin.
var secretFiles = []secretFile{
	{"redis.password_file", func(c *Config) *string { return &c.Redis.PasswordFile }, func(c *Config) *string { return &c.Redis.Password }},
}

// ReadSecrets returns a copy of c with every secret given as a file read in:
// redis.password_file becomes redis.password (and is cleared, the value now
// being there). One trailing newline ("\n" or "\r\n") is dropped, as the
// tools that write secret files add one. A file that cannot be read, is
// empty or is larger than MaxSecretSize is a Problem naming the key (and
// its line or variable); its cause matches errors.Is (fs.ErrNotExist,
// fs.ErrPermission). Relative paths are relative to the working directory,
// as the TLS files are. c is not modified.
//
// vsm.Start calls it after Validate, so the file is read once, at start:
// a rotated secret takes effect on the next start.
func (c *Config) ReadSecrets() (*Config, error) {
	if c == nil {
		c = &Config{}
	}
	out := c.clone()
	v := &validator{src: out.src}
	for _, s := range secretFiles {
		path := s.file(out)
		if *path == "" {
			continue
		}
		secret, err := readSecret(*path)
		if err != nil {
			v.problem(s.fileKey, "%v", err)
			v.problems[len(v.problems)-1].Err = err
			continue
		}
		*s.value(out), *path = secret, ""
	}
	if len(v.problems) > 0 {
		return nil, &Error{Problems: v.problems}
	}
	return out, nil
}

func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err // *fs.PathError names the file
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxSecretSize {
		return "", fmt.Errorf("%s is larger than %d bytes: want the secret alone", path, MaxSecretSize)
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		return "", errors.New(path + " is empty")
	}
	return s, nil
}

// Redacted returns a copy of c that is safe to show: every password (set,
// or read from a file) is "xxxxx", and so is the password in redis.url and
// in http health check targets, and every value of a pool's headers. File
// names of secrets stay, as they are not secret. c is not modified.
func (c *Config) Redacted() *Config {
	if c == nil {
		c = &Config{}
	}
	out := c.clone()
	for _, s := range secretFiles {
		if v := s.value(out); *v != "" {
			*v = redactedValue
		}
	}
	out.Redis.URL = redactURL(out.Redis.URL)
	for name, h := range out.HealthChecks {
		h.Target = redactURL(h.Target)
		out.HealthChecks[name] = h
	}
	// A WebSocket pool's headers carry its credentials (Authorization,
	// API keys) as often as not, and the config cannot tell which: all
	// their values are hidden, their names kept.
	for name, p := range out.Pools {
		for k := range p.Headers {
			p.Headers[k] = redactedValue
		}
		out.Pools[name] = p
	}
	return out
}
