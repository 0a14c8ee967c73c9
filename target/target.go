// Package target decides whether a minion is meant by a target expression,
// with Salt's matchers: glob, pcre, list, grain, grain_pcre, pillar,
// pillar_pcre, pillar_exact, ipcidr, nodegroup and compound. The same code
// serves top files (states and pillar), the minion's check on broadcast
// jobs and the master's guess at which minions a job should reach.
//
// An expression is parsed once (Compile) and can then be matched against
// many minions; a bad expression is an error naming it, where Salt would
// log and quietly match nothing.
package target

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Kind is a matcher, named as in a top file's `match:` key.
type Kind string

// The matchers. Compound is what a top file uses when no `match:` is given
// (a bare word in a compound expression is a glob, so plain globs work).
const (
	Glob        Kind = "glob"         // salt '*'      fnmatch on the minion ID
	PCRE        Kind = "pcre"         // salt -E       regex anchored at the start of the ID
	List        Kind = "list"         // salt -L       comma-separated minion IDs
	Grain       Kind = "grain"        // salt -G       key:sub:value glob, case-insensitive
	GrainPCRE   Kind = "grain_pcre"   // salt -P       key:sub:regex
	Pillar      Kind = "pillar"       // salt -I       like grain, on pillar
	PillarPCRE  Kind = "pillar_pcre"  // salt -J
	PillarExact Kind = "pillar_exact" // top files only: key:value compared exactly
	IPCIDR      Kind = "ipcidr"       // salt -S       address or network against ipv4/ipv6 grains
	Nodegroup   Kind = "nodegroup"    // salt -N       a named compound expression
	Compound    Kind = "compound"     // salt -C       the above joined with and/or/not
)

var kinds = []Kind{Glob, PCRE, List, Grain, GrainPCRE, Pillar, PillarPCRE, PillarExact, IPCIDR, Nodegroup, Compound}

// ParseKind reads a matcher name as written in a top file (`- match: grain`)
// or in job metadata. Salt's spelling is accepted; anything else is an error.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range kinds {
		if k == known {
			return k, nil
		}
	}
	names := make([]string, len(kinds))
	for i, known := range kinds {
		names[i] = string(known)
	}
	return "", fmt.Errorf("unknown match type %q (expected one of %s)", s, strings.Join(names, ", "))
}

// Minion is what the matchers look at.
type Minion struct {
	ID     string
	Grains map[string]any
	Pillar map[string]any
	// IPs, when not nil, is used by ipcidr matching instead of the ipv4 and
	// ipv6 grains (the master may know addresses the grains do not list).
	IPs []netip.Addr
}

// ErrInvalid is wrapped by every error about a malformed expression.
var ErrInvalid = errors.New("invalid target")

// Expr is a parsed target expression.
type Expr struct {
	kind Kind
	src  string
	root node
}

// Kind returns the matcher the expression was compiled for.
func (e *Expr) Kind() Kind { return e.kind }

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

// Match reports whether the minion is targeted.
func (e *Expr) Match(m Minion) bool { return e.root.match(&m) }

// Match parses expr as a kind expression and matches it against m. A caller
// matching many minions should Compile once instead.
func Match(kind Kind, expr string, m Minion, nodegroups map[string]string) (bool, error) {
	e, err := Compile(kind, expr, nodegroups)
	if err != nil {
		return false, err
	}
	return e.Match(m), nil
}

// MatchList is Salt's list matcher given the list itself (a job published
// with tgt_type list carries a list, not a string).
func MatchList(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Compile parses expr for the given matcher. nodegroups maps a nodegroup
// name to its compound expression (see Nodegroups); it is only read for
// Nodegroup and Compound (N@) targets.
func Compile(kind Kind, expr string, nodegroups map[string]string) (*Expr, error) {
	if kind == "" {
		kind = Glob
	}
	root, err := compileKind(kind, expr, nodegroups)
	if err != nil {
		return nil, fmt.Errorf("%w %q (%s): %w", ErrInvalid, expr, kind, err)
	}
	return &Expr{kind: kind, src: expr, root: root}, nil
}

func compileKind(kind Kind, expr string, nodegroups map[string]string) (node, error) {
	switch kind {
	case Glob:
		return globNode(expr), nil
	case PCRE:
		return newPCRE(expr)
	case List:
		return newList(expr), nil
	case Grain:
		return newSubdict(fromGrains, expr, ":", matchGlob)
	case GrainPCRE:
		return newSubdict(fromGrains, expr, ":", matchRegex)
	case Pillar:
		return newSubdict(fromPillar, expr, ":", matchGlob)
	case PillarPCRE:
		return newSubdict(fromPillar, expr, ":", matchRegex)
	case PillarExact:
		return newSubdict(fromPillar, expr, ":", matchExact)
	case IPCIDR:
		return newIPCIDR(expr)
	case Nodegroup:
		words, err := expandNodegroup(strings.TrimSpace(expr), nodegroups, nil)
		if err != nil {
			return nil, err
		}
		return parseCompound(words, nodegroups)
	case Compound:
		return parseCompound(strings.Fields(expr), nodegroups)
	}
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("match type %s is not supported", kind)
}

// node is one matcher or boolean operator of a parsed expression.
type node interface {
	match(m *Minion) bool
}

type globNode string

func (g globNode) match(m *Minion) bool { return Fnmatch(string(g), m.ID) }

type pcreNode struct{ re *regexp.Regexp }

func (p pcreNode) match(m *Minion) bool { return p.re.MatchString(m.ID) }

// newPCRE compiles a minion ID regex. Salt calls Python's re.match, which
// anchors at the start of the ID but not at its end: `web` matches `web01`.
// Add `$` for a full match.
func newPCRE(expr string) (node, error) {
	if expr == "" {
		return nil, errors.New("empty regular expression")
	}
	re, err := regexp.Compile(`^(?:` + expr + `)`)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %w", unwrapRegexp(err))
	}
	return pcreNode{re}, nil
}

func unwrapRegexp(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%s in %q", se.Code, se.Expr)
	}
	return err
}

type listNode map[string]bool

func (l listNode) match(m *Minion) bool { return l[m.ID] }

// newList reads `a,b,c`. Salt compares the items as written; brine also
// trims blanks around them so that `a, b` means what it looks like.
func newList(expr string) node {
	l := listNode{}
	for _, id := range strings.Split(expr, ",") {
		if id = strings.TrimSpace(id); id != "" {
			l[id] = true
		}
	}
	return l
}

type ipcidrNode struct {
	addr   netip.Addr
	prefix netip.Prefix
	isNet  bool
}

// newIPCIDR reads an address (exact match) or a network in CIDR notation.
// As in Salt (Python's ip_network, strict), a network with host bits set is
// refused rather than silently masked.
func newIPCIDR(expr string) (node, error) {
	s := strings.TrimSpace(expr)
	if a, err := netip.ParseAddr(s); err == nil {
		return ipcidrNode{addr: a.Unmap()}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, errors.New("not an IP address or CIDR network")
	}
	if p.Masked() != p {
		return nil, fmt.Errorf("network has host bits set (did you mean %s?)", p.Masked())
	}
	return ipcidrNode{prefix: p, isNet: true}, nil
}

func (n ipcidrNode) match(m *Minion) bool {
	for _, a := range minionIPs(m) {
		if n.isNet {
			if n.prefix.Contains(a) {
				return true
			}
		} else if a == n.addr {
			return true
		}
	}
	return false
}

func minionIPs(m *Minion) []netip.Addr {
	if m.IPs != nil {
		return m.IPs
	}
	var out []netip.Addr
	for _, key := range []string{"ipv4", "ipv6"} {
		list, _ := m.Grains[key].([]any)
		for _, v := range list {
			if s, ok := v.(string); ok {
				if a, err := netip.ParseAddr(s); err == nil {
					out = append(out, a.Unmap())
				}
			}
		}
		if ss, ok := m.Grains[key].([]string); ok {
			for _, s := range ss {
				if a, err := netip.ParseAddr(s); err == nil {
					out = append(out, a.Unmap())
				}
			}
		}
	}
	return out
}
