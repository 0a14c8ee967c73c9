package pkg

import (
	"strconv"
	"strings"
)

// CompareVersions orders two Debian package versions the way dpkg does
// (deb-version(7)): epoch numerically, then upstream version and Debian
// revision with dpkg's rules, where "~" sorts before everything, even the
// end of the string. It returns -1, 0 or 1.
func CompareVersions(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	if c := verrevcmp(ua, ub); c != 0 {
		return sign(c)
	}
	return sign(verrevcmp(ra, rb))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// splitVersion cuts [epoch:]upstream[-revision].
func splitVersion(v string) (epoch int64, upstream, revision string) {
	v = strings.TrimSpace(v)
	if e, rest, ok := strings.Cut(v, ":"); ok {
		if n, err := strconv.ParseInt(e, 10, 64); err == nil {
			epoch, v = n, rest
		}
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// order is dpkg's character weight: digits 0 (handled apart), letters by
// ASCII, '~' below everything, other characters after letters.
func order(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// verrevcmp compares alternating non-digit and digit runs, as dpkg does.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := 0, 0
			if i < len(a) {
				ac = order(a[i])
			}
			if j < len(b) {
				bc = order(b[j])
			}
			if ac != bc {
				return ac - bc
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return firstDiff
		}
	}
	return 0
}

// Spec is a version requirement as Salt users write it after a package
// name: "1.22.1-9" or "=1.22.1-9" (exactly), ">=1.22", "<2", ">1", "<=1.3",
// or a glob "1.22*" (any version starting with 1.22). The empty Spec
// accepts any version.
type Spec string

// operator splits the comparison operator off the spec.
func (s Spec) operator() (op, version string) {
	v := strings.TrimSpace(string(s))
	for _, op := range []string{">=", "<=", "==", ">", "<", "="} {
		if rest, ok := strings.CutPrefix(v, op); ok {
			if op == "==" {
				op = "="
			}
			return op, strings.TrimSpace(rest)
		}
	}
	return "=", v
}

// Exact returns the version for an exact pin ("1.2-3", "=1.2-3"), the
// form apt-get accepts as name=version.
func (s Spec) Exact() (string, bool) {
	op, v := s.operator()
	if op != "=" || v == "" || strings.ContainsAny(v, "*?[") {
		return "", false
	}
	return v, true
}

// Match reports whether an installed or available version meets the spec.
func (s Spec) Match(version string) bool {
	op, want := s.operator()
	if want == "" {
		return true
	}
	if version == "" {
		return false
	}
	if op == "=" && strings.ContainsAny(want, "*?[") {
		return globMatch(want, version)
	}
	c := CompareVersions(version, want)
	switch op {
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	}
	if c == 0 {
		return true
	}
	// Salt compares without the epoch when the spec has none ("1.2-3"
	// matches an installed "1:1.2-3").
	if !strings.Contains(want, ":") {
		if _, rest, ok := strings.Cut(version, ":"); ok {
			return CompareVersions(rest, want) == 0
		}
	}
	return false
}

// globMatch matches shell-style '*' and '?' (no classes) against the
// whole version.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}
