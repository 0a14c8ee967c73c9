package target

// Fnmatch reports whether name matches the shell pattern, with the
// semantics of Python's fnmatch.fnmatchcase, which Salt uses for globs on
// minion IDs, top-file targets and grains.filter_by keys:
//
//   - `*` matches any run of characters, including '.', '/' and none;
//   - `?` matches exactly one character;
//   - `[seq]` matches one character in seq, `[!seq]` one not in it; a `]`
//     right after `[` or `[!` is literal, `a-z` is a range, a '-' first or
//     last is literal, a reversed range matches nothing, and a '[' with no
//     closing ']' is a literal '['.
//
// There is no escape character: a backslash is literal, as in Python.
// Matching is case-sensitive; callers that want Salt's case-insensitive
// grain matching lower-case both sides.
func Fnmatch(pattern, name string) bool {
	p := []rune(pattern)
	s := []rune(name)
	px, sx := 0, 0
	starP, starS := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			case '[':
				if end, ok := setEnd(p, px); ok {
					if sx < len(s) && inSet(p[px+1:end], s[sx]) {
						px = end + 1
						sx++
						continue
					}
					break
				}
				// Unclosed: a literal '['.
				if sx < len(s) && s[sx] == '[' {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		// Mismatch: let the last '*' swallow one more character.
		if starP >= 0 && starS < len(s) {
			starS++
			px, sx = starP+1, starS
			continue
		}
		return false
	}
	return true
}

// setEnd returns the index of the ']' closing the set that opens at p[open],
// or false when the set is not closed (the '[' is then literal).
func setEnd(p []rune, open int) (int, bool) {
	j := open + 1
	if j < len(p) && p[j] == '!' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) && p[j] != ']' {
		j++
	}
	return j, j < len(p)
}

// inSet reports whether c is in the set body (the runes between '[' and
// the closing ']').
func inSet(body []rune, c rune) bool {
	negate := false
	if len(body) > 0 && body[0] == '!' {
		negate = true
		body = body[1:]
	}
	found := false
	for i := 0; i < len(body); {
		lo := body[i]
		if i+2 < len(body) && body[i+1] == '-' {
			hi := body[i+2]
			if lo <= c && c <= hi {
				found = true
			}
			i += 3
			continue
		}
		if lo == c {
			found = true
		}
		i++
	}
	return found != negate
}
