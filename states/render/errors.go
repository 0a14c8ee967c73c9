package render

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/parser"
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
	missingRe = regexp.MustCompile(`(?:attribute|item) '?([^']*?)'? not found`)
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
	case errors.As(err, &nf):
		e.Msg = "Jinja error: " + nf.Error()
	default:
		e.Msg = "Jinja error: " + rootMessage(text)
	}
	if e.File == file {
		e.Snippet = snippet(src, e.Line)
	} else if s, ok := st.sources[e.File]; ok {
		e.Snippet = snippet(s, e.Line)
	}
	return e
}

// rootMessage strips gonja's "Unable to ... at line N: <node>:" prefixes,
// leaving the message of the failure itself.
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
	if strings.TrimSpace(text) == "" {
		return orig
	}
	return text
}

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
