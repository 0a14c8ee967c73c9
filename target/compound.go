package target

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Compound expressions are whitespace-separated words: operands (a bare
// glob on the ID, or ENGINE@pattern) and the operators and, or, not, ( and ).
// As in Salt, parentheses must stand alone as words ("( a or b )"), and the
// operators bind as in Python: not, then and, then or. A `not` right after
// an operand means "and not" (Salt's rule: `web* not G@os:Debian`).

func isOperator(w string) bool {
	switch w {
	case "and", "or", "not", "(", ")":
		return true
	}
	return false
}

// engines maps the letter before '@' to a matcher. N (nodegroup) is
// expanded in place before parsing.
var engines = map[byte]Kind{
	'G': Grain,
	'P': GrainPCRE,
	'I': Pillar,
	'J': PillarPCRE,
	'L': List,
	'S': IPCIDR,
	'E': PCRE,
	'N': Nodegroup,
}

// splitEngine reads Salt's ENGINE[delim]@pattern word. ok is false for a
// word without an engine prefix (a glob).
func splitEngine(word string) (engine byte, delim, pattern string, ok bool) {
	if len(word) < 2 {
		return 0, "", word, false
	}
	e := word[0]
	if e < 'A' || e > 'Z' {
		return 0, "", word, false
	}
	// G, P, I and J take an optional one-character delimiter: G;@os;Debian.
	if strings.IndexByte("GPIJ", e) >= 0 && len(word) >= 3 && word[2] == '@' {
		return e, word[1:2], word[3:], true
	}
	if word[1] == '@' {
		return e, "", word[2:], true
	}
	return 0, "", word, false
}

// expandNodegroup returns the words of a nodegroup, with nested N@ groups
// expanded and each group wrapped in parentheses so that precedence holds.
// A group made only of plain names (no operators, no globs, no engine
// prefixes) is a list of minion IDs, as in Salt.
func expandNodegroup(name string, nodegroups map[string]string, seen []string) ([]string, error) {
	for _, s := range seen {
		if s == name {
			return nil, fmt.Errorf("nodegroup cycle: %s", strings.Join(append(seen, name), " -> "))
		}
	}
	def, ok := nodegroups[name]
	if !ok {
		known := make([]string, 0, len(nodegroups))
		for k := range nodegroups {
			known = append(known, k)
		}
		sort.Strings(known)
		if len(known) == 0 {
			return nil, fmt.Errorf("unknown nodegroup %q (no nodegroups are configured)", name)
		}
		return nil, fmt.Errorf("unknown nodegroup %q (known: %s)", name, strings.Join(known, ", "))
	}
	words := strings.Fields(def)
	if len(words) == 0 {
		return nil, fmt.Errorf("nodegroup %q is empty", name)
	}
	if plainNames(words) {
		return []string{"L@" + strings.Join(words, ",")}, nil
	}
	out := []string{"("}
	for _, w := range words {
		if e, _, pat, ok := splitEngine(w); ok && e == 'N' {
			sub, err := expandNodegroup(pat, nodegroups, append(seen, name))
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, w)
	}
	return append(out, ")"), nil
}

func plainNames(words []string) bool {
	for _, w := range words {
		if isOperator(w) || strings.Contains(w, "*") {
			return false
		}
		if _, _, _, ok := splitEngine(w); ok {
			return false
		}
	}
	return true
}

// Nodegroups converts the `nodegroups:` setting of a master config (each
// value a compound string, or a list of words, or a plain list of minion
// IDs) into the form Compile takes.
func Nodegroups(cfg map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(cfg))
	for name, v := range cfg {
		switch x := v.(type) {
		case string:
			out[name] = x
		case []any:
			words := make([]string, 0, len(x))
			for _, w := range x {
				s, ok := w.(string)
				if !ok {
					s = pyStr(w)
				}
				words = append(words, s)
			}
			out[name] = strings.Join(words, " ")
		case []string:
			out[name] = strings.Join(x, " ")
		default:
			return nil, fmt.Errorf("nodegroup %q: expected a string or a list, got %T", name, v)
		}
	}
	return out, nil
}

// parser is a recursive-descent parser over compound words with Python's
// precedence: or < and < not.
type parser struct {
	words []string
	pos   int
}

func parseCompound(words []string, nodegroups map[string]string) (node, error) {
	if len(words) == 0 {
		return nil, errEmpty
	}
	// Expand nodegroups in place, then insert Salt's implicit "and" before
	// a "not" that follows an operand.
	var expanded []string
	for _, w := range words {
		if e, _, pat, ok := splitEngine(w); ok && e == 'N' {
			if pat == "" {
				return nil, errors.New("N@ needs a nodegroup name")
			}
			sub, err := expandNodegroup(pat, nodegroups, nil)
			if err != nil {
				return nil, err
			}
			expanded = append(expanded, sub...)
			continue
		}
		expanded = append(expanded, w)
	}
	var toks []string
	for i, w := range expanded {
		if w == "not" && i > 0 {
			if prev := expanded[i-1]; !isOperator(prev) || prev == ")" {
				toks = append(toks, "and")
			}
		}
		toks = append(toks, w)
	}
	p := &parser{words: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.words) {
		w := p.words[p.pos]
		if w == ")" {
			return nil, errors.New("unbalanced ')'")
		}
		return nil, fmt.Errorf("expected 'and' or 'or' before %q", w)
	}
	return n, nil
}

func (p *parser) peek() string {
	if p.pos < len(p.words) {
		return p.words[p.pos]
	}
	return ""
}

func (p *parser) or() (node, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	terms := []node{left}
	for p.peek() == "or" {
		p.pos++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		terms = append(terms, right)
	}
	if len(terms) == 1 {
		return left, nil
	}
	return orNode(terms), nil
}

func (p *parser) and() (node, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	terms := []node{left}
	for p.peek() == "and" {
		p.pos++
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		terms = append(terms, right)
	}
	if len(terms) == 1 {
		return left, nil
	}
	return andNode(terms), nil
}

func (p *parser) not() (node, error) {
	if p.peek() == "not" {
		p.pos++
		inner, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{inner}, nil
	}
	return p.atom()
}

func (p *parser) atom() (node, error) {
	if p.pos >= len(p.words) {
		if p.pos == 0 {
			return nil, errEmpty
		}
		return nil, fmt.Errorf("expression ends after %q", p.words[p.pos-1])
	}
	w := p.words[p.pos]
	switch w {
	case "(":
		p.pos++
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			if p.pos >= len(p.words) {
				return nil, errors.New("unbalanced '(' (parentheses must be separate words: '( a or b )')")
			}
			return nil, fmt.Errorf("expected ')' before %q", p.words[p.pos])
		}
		p.pos++
		return inner, nil
	case ")", "and", "or":
		if p.pos == 0 {
			return nil, fmt.Errorf("expression cannot start with %q", w)
		}
		return nil, fmt.Errorf("unexpected %q after %q", w, p.words[p.pos-1])
	}
	p.pos++
	if strings.HasPrefix(w, "(") || strings.HasSuffix(w, ")") {
		if _, _, _, engine := splitEngine(w); !engine {
			return nil, fmt.Errorf("%q: parentheses must be separate words ('( a or b )')", w)
		}
	}
	return operand(w)
}

// operand compiles one ENGINE@pattern word, or a bare glob.
func operand(word string) (node, error) {
	e, delim, pat, ok := splitEngine(word)
	if !ok {
		return globNode(word), nil
	}
	kind, known := engines[e]
	if !known {
		if e == 'R' {
			return nil, fmt.Errorf("%q: range targeting (R@) is not supported", word)
		}
		// Not an engine letter: Salt reads the whole word as a glob.
		return globNode(word), nil
	}
	if pat == "" {
		return nil, fmt.Errorf("%q: empty %c@ expression", word, e)
	}
	if delim == "" {
		delim = ":"
	}
	var (
		n   node
		err error
	)
	switch kind {
	case Grain:
		n, err = newSubdict(fromGrains, pat, delim, matchGlob)
	case GrainPCRE:
		n, err = newSubdict(fromGrains, pat, delim, matchRegex)
	case Pillar:
		n, err = newSubdict(fromPillar, pat, delim, matchGlob)
	case PillarPCRE:
		n, err = newSubdict(fromPillar, pat, delim, matchRegex)
	case List:
		n = newList(pat)
	case IPCIDR:
		n, err = newIPCIDR(pat)
	case PCRE:
		n, err = newPCRE(pat)
	}
	if err != nil {
		return nil, fmt.Errorf("%q: %w", word, err)
	}
	return n, nil
}

type andNode []node

func (a andNode) match(m *Minion) bool {
	for _, n := range a {
		if !n.match(m) {
			return false
		}
	}
	return true
}

type orNode []node

func (o orNode) match(m *Minion) bool {
	for _, n := range o {
		if n.match(m) {
			return true
		}
	}
	return false
}

type notNode struct{ inner node }

func (n notNode) match(m *Minion) bool { return !n.inner.match(m) }
