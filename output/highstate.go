package output

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

// Highstate prints a state run in Salt's highstate layout: the minion ID,
// one block per state in __run_num__ order, then the summary.
//
// value may be a *states.Run, a map[string]*api.StateReturn, a decoded JSON
// map of state returns (see StateReturns), or a compile error (a
// *states.CompileError or a list of strings), which prints as "Data failed
// to compile". Anything else is printed by Nested, as Salt falls back for a
// function that is not a state run.
func Highstate(w io.Writer, id string, value any, o Options) error {
	c := colors(o.Color)
	if errs, ok := compileErrors(value); ok {
		lines := []string{c.lightRed + id + ":" + c.endc, "    " + c.lightRed + "Data failed to compile:" + c.endc}
		for _, e := range errs {
			lines = append(lines, c.lightRed+"----------\n    "+e+c.endc)
		}
		return writeString(w, strings.Join(lines, "\n"))
	}
	returns, err := stateReturns(value)
	if err != nil {
		return Nested(w, id, value, o)
	}
	h := highstate{c: c, o: o, id: id}
	return writeString(w, h.format(returns))
}

func compileErrors(v any) ([]string, bool) {
	switch x := v.(type) {
	case *states.CompileError:
		return x.Errors, true
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func stateReturns(v any) (map[string]*api.StateReturn, error) {
	switch x := v.(type) {
	case *states.Run:
		if x == nil {
			return nil, errNotStates
		}
		return x.Returns, nil
	case states.Run:
		return x.Returns, nil
	case map[string]*api.StateReturn:
		return x, nil
	case map[string]any:
		return StateReturns(x)
	}
	return nil, errNotStates
}

type highstate struct {
	c  palette
	o  Options
	id string
}

// counts is the summary's tally.
type counts struct {
	succeeded, failed, pending, warnings int
	changed                              int
	duration                             float64
}

func (h highstate) format(returns map[string]*api.StateReturn) string {
	c := h.c
	tags := make([]string, 0, len(returns))
	for t := range returns {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool {
		a, b := returns[tags[i]], returns[tags[j]]
		if a.RunNum != b.RunNum {
			return a.RunNum < b.RunNum
		}
		return tags[i] < tags[j]
	})
	mode := strings.ToLower(h.o.StateOutput)
	if mode == "" {
		mode = "full"
	}
	hcolor := c.green
	var n counts
	var lines []string
	for _, tag := range tags {
		ret := returns[tag]
		switch {
		case ret.Result.Result == nil:
			n.pending++
		case *ret.Result.Result:
			n.succeeded++
		default:
			n.failed++
		}
		n.duration += ret.Duration
		changed := len(ret.Changes) > 0
		if changed {
			n.changed++
		}
		if len(ret.Warnings) > 0 {
			n.warnings++
		}
		ok := ret.Result.Result != nil && *ret.Result.Result
		if h.o.HideClean && ok && !changed {
			continue
		}
		tcolor := c.green
		if changed {
			tcolor = c.cyan
		}
		if ret.Result.Result == nil {
			hcolor, tcolor = c.lightYellow, c.lightYellow
		} else if !*ret.Result.Result {
			hcolor, tcolor = c.red, c.red
		}
		comps := splitTag(tag, ret)
		if strings.HasSuffix(mode, "_id") {
			comps.name = comps.id
		}
		base := strings.TrimSuffix(mode, "_id")
		if base == "terse" ||
			base == "mixed" && (ret.Result.Result == nil || *ret.Result.Result) ||
			base == "changes" && ok && !changed {
			lines = append(lines, h.terse(tcolor, comps, ret))
			continue
		}
		lines = append(lines, h.full(tcolor, comps, ret)...)
	}
	lines = append(lines, h.summary(n)...)
	return c.endcWrap(hcolor, h.id+":") + "\n" + strings.Join(lines, "\n")
}

func (p palette) endcWrap(color, s string) string { return color + s + p.endc }

// tagParts are the four fields of a state tag.
type tagParts struct{ module, id, name, fun string }

func splitTag(tag string, ret *api.StateReturn) tagParts {
	parts := strings.Split(tag, "_|-")
	if len(parts) < 4 {
		// Not a state tag: fall back on what the return says about itself.
		return tagParts{module: parts[0], id: ret.ID, name: ret.Name, fun: parts[len(parts)-1]}
	}
	return tagParts{
		module: parts[0],
		id:     parts[1],
		name:   strings.Join(parts[2:len(parts)-1], "_|-"),
		fun:    parts[len(parts)-1],
	}
}

func resultWord(r *bool) string {
	if r == nil {
		return "None"
	}
	if *r {
		return "True"
	}
	return "False"
}

func (h highstate) terse(tcolor string, p tagParts, ret *api.StateReturn) string {
	word := "Clean"
	if len(ret.Changes) > 0 {
		word = "Changed"
	}
	if ret.Result.Result == nil {
		word = "Differs"
	} else if !*ret.Result.Result {
		word = "Failed"
	}
	s := ""
	if len(ret.Warnings) > 0 {
		// Salt runs the warnings into the state's line; a newline reads better.
		s += h.c.lightRed + "Warnings:\n" + strings.Join(ret.Warnings, "\n") + h.c.endc + "\n"
	}
	s += fmt.Sprintf(" %s Name: %s - Function: %s.%s - Result: %s", tcolor, p.name, p.module, p.fun, word)
	if ret.StartTime != "" {
		s += fmt.Sprintf(" Started: - %s Duration: %s ms", ret.StartTime, pyFloat(ret.Duration))
	}
	return s + h.c.endc
}

func (h highstate) full(tcolor string, p tagParts, ret *api.StateReturn) []string {
	c := h.c
	row := func(label, value string) string {
		return "    " + tcolor + label + ": " + value + c.endc
	}
	comment := strings.ReplaceAll(strings.TrimSpace(ret.Comment), "\n", "\n"+strings.Repeat(" ", 14))
	lines := []string{
		tcolor + "----------" + c.endc,
		row("      ID", p.id),
		row("Function", p.module+"."+p.fun),
	}
	if p.id != p.name {
		lines = append(lines, row("    Name", p.name))
	}
	lines = append(lines,
		row("  Result", resultWord(ret.Result.Result)),
		row(" Comment", comment),
	)
	if ret.StartTime != "" {
		lines = append(lines,
			row(" Started", ret.StartTime),
			row("Duration", pyFloat(ret.Duration)+" ms"),
		)
	}
	changes := ""
	if len(ret.Changes) > 0 {
		v, err := plain(ret.Changes)
		if err != nil {
			v = fmt.Sprintf("Invalid Changes data: %v", err)
		}
		changes = "\n" + nested(v, 14, c)
	}
	lines = append(lines, tcolor+"     Changes:   "+changes+c.endc)
	if len(ret.Warnings) > 0 {
		lines = append(lines, "   "+c.lightRed+" Warnings: "+wrap(strings.Join(ret.Warnings, "\n"), 80, 14)+c.endc)
	}
	return lines
}

// wrap fills text to width, continuation lines indented, like Python's
// textwrap.fill with both indents set and the first one stripped.
func wrap(text string, width, indent int) string {
	pad := strings.Repeat(" ", indent)
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && indent+len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line == "" {
			line = word
		} else {
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"+pad)
}

func (h highstate) summary(n counts) []string {
	c := h.c
	countLen := 0
	for _, v := range []struct {
		n       int
		present bool
	}{
		{n.succeeded, n.succeeded > 0},
		{n.failed, n.failed > 0},
		{n.pending, n.pending > 0},
		{n.warnings, n.warnings > 0},
	} {
		if v.present && len(strconv.Itoa(v.n)) > countLen {
			countLen = len(strconv.Itoa(v.n))
		}
	}
	const labelLen = len("Succeeded")
	width := labelLen + countLen + 2
	dashes := strings.Repeat("-", width)
	count := func(label string, v int) string {
		return fmt.Sprintf("%s: %*d", label, width-(len(label)+2), v)
	}
	lines := []string{c.endcWrap(c.cyan, "\nSummary for "+h.id+"\n"+dashes)}
	var stats []string
	if n.pending > 0 {
		stats = append(stats, c.endcWrap(c.lightYellow, fmt.Sprintf("unchanged=%d", n.pending)))
	}
	if n.changed > 0 {
		stats = append(stats, c.endcWrap(c.green, fmt.Sprintf("changed=%d", n.changed)))
	}
	extra := ""
	if len(stats) > 0 {
		extra = " (" + strings.Join(stats, ", ") + ")"
	}
	lines = append(lines, c.endcWrap(c.green, count("Succeeded", n.succeeded+n.pending))+extra)
	failColor := c.cyan
	if n.failed > 0 {
		failColor = c.red
	}
	lines = append(lines, c.endcWrap(failColor, count("Failed", n.failed)))
	if n.warnings > 0 {
		lines = append(lines, c.endcWrap(c.lightRed, count("Warnings", n.warnings)))
	}
	total := n.succeeded + n.failed + n.pending
	lines = append(lines, c.endcWrap(c.cyan, fmt.Sprintf("%s\nTotal states run: %*d", dashes, width-7, total)))
	d, unit := n.duration, "ms"
	if d > 999 {
		d, unit = d/1000, "s"
	}
	lines = append(lines, c.endcWrap(c.cyan, fmt.Sprintf("Total run time: %*s %s", width-5, strconv.FormatFloat(d, 'f', 3, 64), unit)))
	return lines
}
