package render

import (
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/tokens"
)

// rewriteSource adapts Jinja syntax gonja's parser handles differently,
// before parsing, without moving any line (so error lines stay right):
//
//   - a trailing comma before a closing bracket (`{'a': 1,}`, `f(x,)`),
//     which gonja rejects, is blanked;
//   - the `%` operator, which gonja only knows as integer modulo, becomes
//     the pymod filter on its right operand: `'%s-%s' % (a, b)` formats as
//     in Python and `n % 2` is Python's modulo. Filters bind to the
//     nearest operand, as `%` does, so `a ~ b % c` still means a ~ (b % c);
//     only a chain of `*`, `/` and `%` reads differently (a * (b % c)).
//
// Only tokens of template code are touched; text, strings and comments
// stay as written.
func rewriteSource(src string) string {
	if !strings.Contains(src, ",") && !strings.Contains(src, "%") {
		return src
	}
	toks := lexTokens(src)
	type edit struct {
		pos, cut int
		text     string
	}
	var edits []edit
	for i, t := range toks {
		switch t.Type {
		case tokens.RightBrace, tokens.RightBracket, tokens.RightParenthesis:
			if i > 0 && toks[i-1].Type == tokens.Comma {
				edits = append(edits, edit{toks[i-1].Pos, 1, " "})
			}
		case tokens.Modulo:
			if src[t.Pos] != '%' {
				continue
			}
			end := operandEnd(toks, i+1)
			if end <= i+1 || end >= len(toks) {
				continue
			}
			edits = append(edits, edit{t.Pos, 1, "|pymod("}, edit{toks[end].Pos, 0, ")"})
		}
	}
	if len(edits) == 0 {
		return src
	}
	sort.SliceStable(edits, func(a, b int) bool { return edits[a].pos < edits[b].pos })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.pos < last || e.pos > len(src) {
			continue
		}
		b.WriteString(src[last:e.pos])
		b.WriteString(e.text)
		last = e.pos + e.cut
	}
	b.WriteString(src[last:])
	return b.String()
}

// lexTokens lists the significant tokens of src (gonja's stream skips
// whitespace), up to EOF or the first lexing error.
func lexTokens(src string) []*tokens.Token {
	stream := tokens.LexAll(src, jinjaEnv().cfg)
	var out []*tokens.Token
	for ; !stream.End(); stream.Next() {
		t := stream.Current()
		if t == nil || t.Type == tokens.Error {
			break
		}
		out = append(out, t)
	}
	if eof := stream.Current(); eof != nil && eof.Type == tokens.EOF {
		out = append(out, eof)
	}
	return out
}

// operandEnd returns the index of the token after the operand starting at
// toks[i]: a literal, name or bracketed group, with its attribute, item,
// call and filter suffixes; i when there is no such operand.
func operandEnd(toks []*tokens.Token, i int) int {
	start := i
	if i < len(toks) && (toks[i].Type == tokens.Subtraction || toks[i].Type == tokens.Addition) {
		i++
	}
	if i >= len(toks) {
		return start
	}
	switch toks[i].Type {
	case tokens.Name, tokens.String, tokens.Integer, tokens.Float:
		if toks[i].Type == tokens.Name && (toks[i].Val == "not" || toks[i].Val == "if" || toks[i].Val == "else") {
			return start
		}
		i++
	case tokens.LeftParenthesis, tokens.LeftBracket, tokens.LeftBrace:
		i = closing(toks, i)
		if i < 0 {
			return start
		}
		i++
	default:
		return start
	}
	for i < len(toks) {
		switch toks[i].Type {
		case tokens.Dot:
			if i+1 >= len(toks) || toks[i+1].Type != tokens.Name && toks[i+1].Type != tokens.Integer {
				return i
			}
			i += 2
		case tokens.LeftBracket, tokens.LeftParenthesis:
			j := closing(toks, i)
			if j < 0 {
				return start
			}
			i = j + 1
		case tokens.Pipe:
			if i+1 >= len(toks) || toks[i+1].Type != tokens.Name {
				return i
			}
			i += 2
			if i < len(toks) && toks[i].Type == tokens.LeftParenthesis {
				j := closing(toks, i)
				if j < 0 {
					return start
				}
				i = j + 1
			}
		default:
			return i
		}
	}
	return i
}

// closing finds the bracket closing the one at toks[i], or -1.
func closing(toks []*tokens.Token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].Type {
		case tokens.LeftParenthesis, tokens.LeftBracket, tokens.LeftBrace:
			depth++
		case tokens.RightParenthesis, tokens.RightBracket, tokens.RightBrace:
			depth--
			if depth == 0 {
				return j
			}
		case tokens.VariableEnd, tokens.BlockEnd, tokens.EOF:
			return -1
		}
	}
	return -1
}
