package memory

// match reports whether s matches the Redis glob pattern, with Redis's
// semantics (stringmatchlen): '*', '?', '[...]' with ranges (either order)
// and '^' negation, and '\' escaping the next byte. A malformed pattern
// matches as Redis reads it, never failing. It backtracks only to the last
// '*', so it runs in O(len(pattern)·len(s)) whatever the pattern.
func match(p, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) || pi < len(p) {
		if pi < len(p) {
			if p[pi] == '*' {
				starP, starS = pi, si
				pi++
				continue
			}
			if si < len(s) {
				if n, ok := matchOne(p[pi:], s[si]); ok {
					pi += n
					si++
					continue
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			starS++
			si, pi = starS, starP+1
			continue
		}
		return false
	}
	return true
}

// matchOne matches c against the single-byte token at the start of p (not
// '*') and returns the token's length.
func matchOne(p string, c byte) (n int, ok bool) {
	switch p[0] {
	case '?':
		return 1, true
	case '[':
		return matchClass(p, c)
	case '\\':
		if len(p) >= 2 {
			return 2, p[1] == c
		}
	}
	return 1, p[0] == c
}

// matchClass matches c against the class p = "[...]" and returns the length
// of the class up to and including its ']' (or all of p when unclosed, as
// Redis reads it).
func matchClass(p string, c byte) (n int, ok bool) {
	i := 1
	not := i < len(p) && p[i] == '^'
	if not {
		i++
	}
	found := false
	for i < len(p) {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			found = found || p[i+1] == c
			i += 2
		case p[i] == ']':
			return i + 1, found != not
		case i+2 < len(p) && p[i+1] == '-':
			lo, hi := p[i], p[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			found = found || (lo <= c && c <= hi)
			i += 3
		default:
			found = found || p[i] == c
			i++
		}
	}
	return len(p), found != not
}
