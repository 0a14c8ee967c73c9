package fsx

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Salt builds its diffs with Python's difflib.unified_diff, so users compare
// brine's output with Salt's line for line. The matcher below follows the
// Ratcliff/Obershelp method that difflib documents (longest matching block
// first, then recurse on both sides, "popular" lines of long files not used
// as anchors) so that hunks come out the same, not merely equivalent.

type match struct{ a, b, size int }

type opcode struct {
	tag            byte // 'e'qual, 'r'eplace, 'd'elete, 'i'nsert
	i1, i2, j1, j2 int
}

type matcher struct {
	a, b []string
	b2j  map[string][]int
}

func newMatcher(a, b []string) *matcher {
	m := &matcher{a: a, b: b, b2j: map[string][]int{}}
	for j, line := range b {
		m.b2j[line] = append(m.b2j[line], j)
	}
	// Lines that make up more than 1% of a long b are too common to anchor
	// a match on (difflib's autojunk).
	if n := len(b); n >= 200 {
		limit := n/100 + 1
		for line, idx := range m.b2j {
			if len(idx) > limit {
				delete(m.b2j, line)
			}
		}
	}
	return m
}

func (m *matcher) longest(alo, ahi, blo, bhi int) match {
	besti, bestj, best := alo, blo, 0
	j2len := map[int]int{}
	for i := alo; i < ahi; i++ {
		next := map[int]int{}
		for _, j := range m.b2j[m.a[i]] {
			if j < blo {
				continue
			}
			if j >= bhi {
				break
			}
			k := j2len[j-1] + 1
			next[j] = k
			if k > best {
				besti, bestj, best = i-k+1, j-k+1, k
			}
		}
		j2len = next
	}
	// Grow the match over equal (possibly popular) neighbours.
	for besti > alo && bestj > blo && m.a[besti-1] == m.b[bestj-1] {
		besti, bestj, best = besti-1, bestj-1, best+1
	}
	for besti+best < ahi && bestj+best < bhi && m.a[besti+best] == m.b[bestj+best] {
		best++
	}
	return match{besti, bestj, best}
}

func (m *matcher) blocks() []match {
	type span struct{ alo, ahi, blo, bhi int }
	queue := []span{{0, len(m.a), 0, len(m.b)}}
	var found []match
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		x := m.longest(s.alo, s.ahi, s.blo, s.bhi)
		if x.size == 0 {
			continue
		}
		found = append(found, x)
		if s.alo < x.a && s.blo < x.b {
			queue = append(queue, span{s.alo, x.a, s.blo, x.b})
		}
		if x.a+x.size < s.ahi && x.b+x.size < s.bhi {
			queue = append(queue, span{x.a + x.size, s.ahi, x.b + x.size, s.bhi})
		}
	}
	slices.SortFunc(found, func(p, q match) int {
		if p.a != q.a {
			return p.a - q.a
		}
		if p.b != q.b {
			return p.b - q.b
		}
		return p.size - q.size
	})
	var out []match
	cur := match{}
	for _, x := range found {
		if cur.a+cur.size == x.a && cur.b+cur.size == x.b {
			cur.size += x.size
			continue
		}
		if cur.size > 0 {
			out = append(out, cur)
		}
		cur = x
	}
	if cur.size > 0 {
		out = append(out, cur)
	}
	return append(out, match{len(m.a), len(m.b), 0})
}

func (m *matcher) opcodes() []opcode {
	var out []opcode
	i, j := 0, 0
	for _, x := range m.blocks() {
		var tag byte
		switch {
		case i < x.a && j < x.b:
			tag = 'r'
		case i < x.a:
			tag = 'd'
		case j < x.b:
			tag = 'i'
		}
		if tag != 0 {
			out = append(out, opcode{tag, i, x.a, j, x.b})
		}
		i, j = x.a+x.size, x.b+x.size
		if x.size > 0 {
			out = append(out, opcode{'e', x.a, i, x.b, j})
		}
	}
	return out
}

func (m *matcher) groups(n int) [][]opcode {
	codes := m.opcodes()
	if len(codes) == 0 {
		codes = []opcode{{'e', 0, 1, 0, 1}}
	}
	if c := &codes[0]; c.tag == 'e' {
		c.i1, c.j1 = max(c.i1, c.i2-n), max(c.j1, c.j2-n)
	}
	if c := &codes[len(codes)-1]; c.tag == 'e' {
		c.i2, c.j2 = min(c.i2, c.i1+n), min(c.j2, c.j1+n)
	}
	var out [][]opcode
	var group []opcode
	for _, c := range codes {
		if c.tag == 'e' && c.i2-c.i1 > 2*n {
			group = append(group, opcode{'e', c.i1, min(c.i2, c.i1+n), c.j1, min(c.j2, c.j1+n)})
			out = append(out, group)
			group = nil
			c.i1, c.j1 = max(c.i1, c.i2-n), max(c.j1, c.j2-n)
		}
		group = append(group, c)
	}
	if len(group) > 0 && !(len(group) == 1 && group[0].tag == 'e') {
		out = append(out, group)
	}
	return out
}

func unifiedRange(start, stop int) string {
	begin, length := start+1, stop-start
	if length == 1 {
		return fmt.Sprint(begin)
	}
	if length == 0 {
		begin--
	}
	return fmt.Sprintf("%d,%d", begin, length)
}

// UnifiedDiff compares two lists of lines the way Python's
// difflib.unified_diff(a, b) does with empty file names and three lines of
// context: it returns the header and hunk lines (each ending in "\n") and
// the content lines prefixed with ' ', '-' or '+' and otherwise unchanged.
// An empty result means a and b are equal.
func UnifiedDiff(a, b []string) []string {
	const context = 3
	m := newMatcher(a, b)
	var out []string
	for _, g := range m.groups(context) {
		if out == nil {
			out = append(out, "--- \n", "+++ \n")
		}
		first, last := g[0], g[len(g)-1]
		out = append(out, fmt.Sprintf("@@ -%s +%s @@\n", unifiedRange(first.i1, last.i2), unifiedRange(first.j1, last.j2)))
		for _, c := range g {
			if c.tag == 'e' {
				for _, l := range a[c.i1:c.i2] {
					out = append(out, " "+l)
				}
				continue
			}
			if c.tag == 'r' || c.tag == 'd' {
				for _, l := range a[c.i1:c.i2] {
					out = append(out, "-"+l)
				}
			}
			if c.tag == 'r' || c.tag == 'i' {
				for _, l := range b[c.j1:c.j2] {
					out = append(out, "+"+l)
				}
			}
		}
	}
	return out
}

// SplitLines splits s after each "\n", keeping the line ends, like Python's
// str.splitlines(True) for text with Unix or DOS line ends.
func SplitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Diff returns the unified diff of two texts in the shape Salt puts under
// changes.diff for file.managed, file.replace and file.line:
// "--- \n+++ \n@@ -1,3 +1,3 @@\n ...". A last line without a line end gets
// one in the diff (Python would run it into the next line); "" means equal.
func Diff(old, new string) string {
	var sb strings.Builder
	for _, l := range UnifiedDiff(SplitLines(old), SplitLines(new)) {
		sb.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// IsBinary reports whether data looks like something other than text (it
// holds a NUL byte in its first 8 KiB), for which Salt shows no diff.
func IsBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0
}
