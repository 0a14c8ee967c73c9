package render

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// marker ends the offending line of a snippet, as in Salt's messages.
const marker = "    <======================"

// snippet shows up to five lines either side of line (1-based) with the
// line marked, as Salt's get_context does; "" when line is out of range.
func snippet(src string, line int) string {
	lines := strings.Split(strings.TrimRight(src, "\n"), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	const around = 5
	start := max(0, line-around-1)
	end := min(len(lines), line+around)
	var buf []string
	if start > 0 {
		buf = append(buf, "[...]")
	}
	for i := start; i < end; i++ {
		l := strings.TrimRight(lines[i], "\r")
		if i == line-1 {
			l += marker
		}
		buf = append(buf, l)
	}
	if end < len(lines) {
		buf = append(buf, "[...]")
	}
	return strings.Join(buf, "\n")
}

var (
	// gonja's wrappers name the line of the node that failed; the last
	// one in a message is the innermost.
	atLineRe = regexp.MustCompile(`(?:at line |\(Line: |Line=)(\d+)`)
	// undefinedNameRe is gonja's strict-undefined error for a name.
	undefinedNameRe = regexp.MustCompile(`Unable to evaluate name "([^"]*)"`)
	// missingRe is gonja's error for a missing attribute or item.
	missingRe = regexp.MustCompile(`(?:attribute|item) '+([^']*)'+ not found`)
	// onNoneRe is gonja's error for an attribute of None.
	onNoneRe = regexp.MustCompile(`Can't use (?:getattr|Getitem) on None`)
	// wrapperRe strips gonja's context-adding prefixes from a message.
	wrapperRe = regexp.MustCompile(`^(?:unable to execute template|Unable to execute controlStructure at line \d+|Unable to render (?:expression|condition) at line \d+|invalid call to (?:function|method|filter|test) '[^']*'(?: of [^:]*)?|Unable to execute macro '[^']*'|unable to evaluate (?:filter|parameter|target|function) [^:]*|Unable to evaluate (?:target|left parameter|right parameter|parameter|term) [^:]*|unable to evaluate parameters)(?:: |$)`)
	csNameRe  = regexp.MustCompile(`^[A-Za-z]*ControlStructure\([^)]*\)(?:: |$)`)
	tagDescRe = regexp.MustCompile(`^(?:set|import|from|include|import_\w+|load_\w+) [^:]*: `)
)

// innermostLine is the last line number an error message names.
func innermostLine(err error) int {
	var se *parser.SyntaxError
	if errors.As(err, &se) && se.Line > 0 {
		return se.Line
	}
	m := atLineRe.FindAllStringSubmatch(err.Error(), -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// isUndefined reports whether a gonja error means "undefined" (a name,
// attribute or item that does not exist), as Jinja's Undefined would.
func isUndefined(msg string) bool {
	return undefinedNameRe.MatchString(msg) || missingRe.MatchString(msg) || onNoneRe.MatchString(msg)
}

// translate turns a failed render into an *Error naming the file and line
// where it happened, with Salt's wording where Salt has one.
func (st *state) translate(err error, file, src string) *Error {
	var re *Error
	if errors.As(err, &re) {
		return re
	}
	text := err.Error()
	e := &Error{File: file, Line: innermostLine(err)}
	for _, l := range st.located {
		if strings.Contains(text, l.text) {
			e.File, e.Line = l.file, l.line
			break
		}
	}
	var se *syntaxError
	var sce *saltCallError
	var nf *notFoundError
	switch {
	case errors.As(err, &se):
		e.Msg = "Jinja syntax error: " + cleanSyntax(se)
		if e.Line == 0 {
			e.Line = syntaxErrorLine(st.sources[e.File], se.Error())
		}
		if m := eofRe.FindStringSubmatch(e.Msg); m != nil {
			src := st.sources[e.File]
			tags := strings.Split(m[1], " or ")
			e.Msg = "Jinja syntax error: Unexpected end of template. Jinja was looking for the following tags: '" + strings.Join(tags, "' or '") + "'."
			if name, line := unclosedBlock(src); line > 0 {
				e.Msg += " The innermost block that needs to be closed is '" + name + "'."
				e.Line = line
			}
		}
	case undefinedNameRe.MatchString(text):
		m := undefinedNameRe.FindAllStringSubmatch(text, -1)
		e.Msg = "Jinja variable '" + m[len(m)-1][1] + "' is undefined"
	case missingRe.MatchString(text):
		m := missingRe.FindAllStringSubmatch(text, -1)
		e.Msg = "Jinja variable 'dict object' has no attribute '" + m[len(m)-1][1] + "'"
	case onNoneRe.MatchString(text):
		e.Msg = "Jinja variable 'None' has no attribute"
	case errors.As(err, &sce):
		e.Msg = "Problem running salt function in Jinja template: " + sce.Error()
	case st.callFailed(text) != "":
		e.Msg = "Problem running salt function in Jinja template: " + st.callFailed(text)
	case errors.As(err, &nf):
		e.Msg = "Jinja error: " + nf.Error()
	default:
		e.Msg = "Jinja error: " + rootMessage(rootCause(err).Error())
	}
	if e.File == file {
		e.Snippet = snippet(src, e.Line)
	} else if s, ok := st.sources[e.File]; ok {
		e.Snippet = snippet(s, e.Line)
	}
	return e
}

// rootCause follows an error chain to its end, through gonja's values
// carrying errors.
func rootCause(err error) error {
	for i := 0; i < 1000; i++ {
		if v, ok := err.(*exec.Value); ok {
			if inner, ok := v.Interface().(error); ok && inner != error(v) {
				err = inner
				continue
			}
		}
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	return err
}

// rootMessage strips gonja's context-adding prefixes ("invalid call to
// function 'f': ", "Unable to render expression at line N: <expr>: ")
// from a message that gonja flattened to text.
func rootMessage(text string) string {
	orig := text
	for {
		before := text
		text = wrapperRe.ReplaceAllString(text, "")
		text = csNameRe.ReplaceAllString(text, "")
		text = tagDescRe.ReplaceAllString(text, "")
		if text == before {
			break
		}
	}
	if loc := lastAtLineRe.FindAllStringIndex(text, -1); len(loc) > 0 {
		rest := text[loc[len(loc)-1][1]:]
		// What follows is the failing node printed, then its error.
		if _, after, ok := strings.Cut(rest, ": "); ok && after != "" {
			return rootMessage(after)
		}
	}
	if strings.TrimSpace(text) == "" {
		return orig
	}
	return text
}

var lastAtLineRe = regexp.MustCompile(`at line \d+: `)

var (
	posSuffixRe = regexp.MustCompile(` \(Line: \d+ Col: \d+, near "[^"]*"\)`)
	parseCSRe   = regexp.MustCompile(`Unable to parse controlStructure "[^"]*": `)
)

// cleanSyntax words a parse error without gonja's position suffix (the
// line is reported separately).
func cleanSyntax(se *syntaxError) string {
	var pe *parser.SyntaxError
	if errors.As(se, &pe) {
		msg := pe.Message
		if pe.Raw != "" && !strings.HasPrefix(pe.Raw, "<") && len(pe.Raw) < 40 {
			msg += " (near '" + pe.Raw + "')"
		}
		return msg
	}
	msg := posSuffixRe.ReplaceAllString(se.msg, "")
	return parseCSRe.ReplaceAllString(msg, "")
}

var eofRe = regexp.MustCompile(`Unexpected EOF, expected tag (.+?)\.?$`)

// blockTags are the tags that need an end tag (set only without `=`).
var blockTags = map[string]string{
	"if": "endif", "for": "endfor", "macro": "endmacro", "call": "endcall",
	"filter": "endfilter", "with": "endwith", "block": "endblock",
	"autoescape": "endautoescape", "trans": "endtrans", "set": "endset",
	"load_yaml": "endload", "load_json": "endload", "load_text": "endload",
}

// unclosedBlock finds the innermost block tag of src left open, for a
// "missing end tag" message that points at the tag rather than at the end
// of the file.
func unclosedBlock(src string) (string, int) {
	type open struct {
		name, end string
		line      int
	}
	var stack []open
	stream := tokens.LexAll(src, jinjaEnv().cfg)
	for !stream.End() {
		t := stream.Current()
		stream.Next()
		if t == nil || t.Type == tokens.Error {
			break
		}
		if t.Type != tokens.BlockBegin || stream.End() {
			continue
		}
		name := stream.Current()
		if name == nil || name.Type != tokens.Name {
			continue
		}
		stream.Next()
		assign := false
		for !stream.End() && stream.Current().Type != tokens.BlockEnd {
			if stream.Current().Type == tokens.Assign {
				assign = true
			}
			stream.Next()
		}
		if end, ok := blockTags[name.Val]; ok && !(name.Val == "set" && assign) {
			stack = append(stack, open{name.Val, end, t.Line})
			continue
		}
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].end == name.Val {
				stack = stack[:i]
				break
			}
		}
	}
	if len(stack) == 0 {
		return "", 0
	}
	top := stack[len(stack)-1]
	return top.name, top.line
}

// syntaxErrorLine finds the line of a parse error gonja reported without
// one: the shortest prefix of the source (in whole lines) that fails with
// the same message ends on it. Parsing is sequential, so the prefixes that
// reach the bad tag all fail the same way and a binary search finds it.
func syntaxErrorLine(src, msg string) int {
	if src == "" {
		return 0
	}
	lines := strings.SplitAfter(src, "\n")
	same := func(k int) bool {
		_, err := parseTemplate("<probe>", strings.Join(lines[:k], ""))
		return err != nil && err.Error() == msg
	}
	if !same(len(lines)) {
		return 0
	}
	lo, hi := 1, len(lines)
	for lo < hi {
		mid := (lo + hi) / 2
		if same(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
