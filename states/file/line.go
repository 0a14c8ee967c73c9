package file

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
)

type lineArgs struct {
	Content *string
	// Match is a regular expression (or plain text) naming the line to
	// replace or delete; it defaults to content when before and after are
	// not given.
	Match string
	// Mode is ensure, replace, delete or insert.
	Mode     string
	Location string
	Before   string
	After    string
	// ShowChanges false reports `diff: True` instead of the diff.
	ShowChanges *bool `arg:"show_changes"`
	Backup      any
	// Quiet is accepted for Salt compatibility (it only silenced logs).
	Quiet    bool
	Indent   *bool
	Create   bool
	User     string
	Group    string
	FileMode *api.Mode `arg:"file_mode"`
}

func registerLine() {
	states.Register(states.Def[lineArgs]{
		Name: "file.line",
		Doc: `Edit one line of a file. mode: ensure (add content after/before the lines
matching after/before unless it is there), replace (the first line matching
match), delete (lines equal to the first line matching match), insert (at
location start/end, or after/before). indent (default True) copies the
neighbour's indentation; create: True creates a missing file.`,
		Apply: func(_ context.Context, req *states.Request, a *lineArgs) api.Result {
			return line(req.Name, req.Test, a)
		},
	})
}

func line(name string, test bool, a *lineArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	path := realPath(name)
	mode := strings.ToLower(a.Mode)
	switch mode {
	case "":
		return api.Failed("Mode was not defined. How to process the file?")
	case "ensure", "replace", "delete", "insert":
	default:
		return api.Failed(fmt.Sprintf(`Mode "%s" is not supported. Please use: insert, ensure, delete, replace`, a.Mode))
	}
	if mode != "delete" && a.Content == nil {
		return api.Failed("Content can only be empty if mode is delete")
	}
	content := ""
	if a.Content != nil {
		content = *a.Content
	}
	if loc := strings.ToLower(a.Location); loc != "" && loc != "start" && loc != "end" {
		return api.Failed(`Argument 'location' must be "start" or "end"`)
	}
	p, msg := resolvePerms(a.User, a.Group, a.FileMode)
	if msg != "" {
		return missingOwner(msg, test)
	}

	fi, err := os.Stat(path)
	present := err == nil
	if !present && !a.Create {
		return api.Failed(fmt.Sprintf("%s: file not found", name))
	}
	if present && !fi.Mode().IsRegular() {
		return api.Failed(fmt.Sprintf("%s is not a regular file", name))
	}
	var raw []byte
	if present {
		if raw, err = os.ReadFile(path); err != nil {
			return api.Failed(fmt.Sprintf("Unable to read %s: %v", name, err))
		}
	}
	old := string(raw)
	body, err := editLine(fsx.SplitLines(old), content, mode, a)
	if err != nil {
		return api.Failed(sentence(err))
	}
	text := strings.Join(body, "")

	changes := map[string]any{}
	if text != old {
		if boolOr(a.ShowChanges, true) {
			changes["diff"] = fsx.Diff(old, text)
		} else {
			changes["diff"] = true
		}
	}
	if present {
		maps.Copy(changes, p.diff(fi))
	}
	if len(changes) == 0 && present {
		return api.Succeeded("No changes needed to be made", nil)
	}
	if test {
		return api.Pending("Changes would be made", changes)
	}
	if msg := p.rootCheck(name, changes); msg != "" {
		return api.Failed(msg)
	}
	if text != old || !present {
		if present {
			if err := writeBackup(path, backupSuffix(a.Backup, ""), raw, fi); err != nil {
				return api.Failed(fmt.Sprintf("Unable to write backup of %s: %v", name, err))
			}
		}
		if err := fsx.AtomicWrite(path, []byte(text), fsx.WriteOptions{Mode: p.fileMode(), UID: p.uid, GID: p.gid}); err != nil {
			return api.Failed(fmt.Sprintf("Unable to write %s: %v", name, err))
		}
	} else if err := p.apply(path, changes, false); err != nil {
		return api.Failed(sentence(err))
	}
	return api.Succeeded("Changes were made", changes)
}

// matchingLines returns the lines a regular expression (or, failing a
// regular-expression match, the literal text) finds; nil when expr is "".
func matchingLines(lines []string, expr string) ([]string, error) {
	if expr == "" || len(lines) == 0 {
		return nil, nil
	}
	re, err := regexp.Compile("(?s)" + expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	var out []string
	for _, l := range lines {
		if re.MatchString(l) || strings.Contains(l, expr) {
			out = append(out, l)
		}
	}
	return out, nil
}

func indexOf(lines []string, l string) int {
	for i, x := range lines {
		if x == l {
			return i
		}
	}
	return -1
}

func onlyOne(found []string, what string) error {
	if len(found) > 1 {
		return fmt.Errorf(`found more than expected occurrences in "%s" expression`, what)
	}
	return nil
}

// errNoAnchor is Salt's complaint when ensure has nowhere to put the line.
var errNoAnchor = errors.New("wrong conditions? Unable to ensure line without knowing where to put it before and/or after")

// editLine applies one file.line operation to lines (each with its line
// end) and returns the new lines.
func editLine(body []string, content, mode string, a *lineArgs) ([]string, error) {
	indent := boolOr(a.Indent, true)
	match := a.Match
	if a.Before == "" && a.After == "" && match == "" {
		match = content
	}
	after, err := matchingLines(body, a.After)
	if err != nil {
		return nil, err
	}
	before, err := matchingLines(body, a.Before)
	if err != nil {
		return nil, err
	}
	matched, err := matchingLines(body, match)
	if err != nil {
		return nil, err
	}
	switch mode {
	case "delete":
		if len(matched) == 0 {
			return body, nil
		}
		out := body[:0:0]
		for _, l := range body {
			if l != matched[0] {
				out = append(out, l)
			}
		}
		return out, nil
	case "replace":
		if len(matched) == 0 {
			return body, nil
		}
		i := indexOf(body, matched[0])
		out := append([]string{}, body...)
		out[i] = withEOL(out[i], setIndent(out[i], content, indent))
		return out, nil
	case "insert":
		if loc := strings.ToLower(a.Location); loc != "" {
			return insertAt(body, content, loc, indent), nil
		}
		switch {
		case len(before) == 0 && len(after) == 0:
			return nil, errors.New(`on insert either "location" or "before/after" conditions are required`)
		case len(before) > 0 && len(after) > 0:
			if err := errors.Join(onlyOne(before, "before"), onlyOne(after, "after")); err != nil {
				return nil, err
			}
			var out []string
			inRange := false
			for _, l := range body {
				if strings.Contains(l, after[0]) {
					inRange = true
				} else if strings.Contains(l, before[0]) && inRange {
					if len(out) == 0 || strings.TrimRight(out[len(out)-1], "\r\n") != setIndent(l, content, indent) {
						out = append(out, withEOL(l, setIndent(l, content, indent)))
					}
				}
				out = append(out, l)
			}
			return out, nil
		case len(before) > 0:
			if err := onlyOne(before, "before"); err != nil {
				return nil, err
			}
			return insertBefore(body, indexOf(body, before[0]), content, indent), nil
		default:
			if err := onlyOne(after, "after"); err != nil {
				return nil, err
			}
			return insertAfter(body, indexOf(body, after[0]), content, indent), nil
		}
	default: // ensure
		switch {
		case len(before) > 0 && len(after) > 0:
			if err := errors.Join(onlyOne(before, "before"), onlyOne(after, "after")); err != nil {
				return nil, err
			}
			// Salt looks for content as written; brine also accepts it with
			// its indentation changed, as it would have inserted it.
			bare := strings.TrimSpace(content)
			for _, l := range body {
				if strings.Contains(l, content) || (bare != "" && strings.TrimSpace(l) == bare) {
					return body, nil
				}
			}
			i := indexOf(body, after[0])
			if i+1 < len(body) && body[i+1] == before[0] {
				return insertLine(body, i+1, withEOL(body[i], setIndent(body[i], content, indent))), nil
			}
			return nil, errors.New(`found more than one line between boundaries "before" and "after"`)
		case len(before) > 0:
			if err := onlyOne(before, "before"); err != nil {
				return nil, err
			}
			return insertBefore(body, indexOf(body, before[0]), content, indent), nil
		case len(after) > 0:
			if err := onlyOne(after, "after"); err != nil {
				return nil, err
			}
			return insertAfter(body, indexOf(body, after[0]), content, indent), nil
		}
		return nil, errNoAnchor
	}
}

func insertLine(body []string, i int, l string) []string {
	out := make([]string, 0, len(body)+1)
	out = append(out, body[:i]...)
	out = append(out, l)
	return append(out, body[i:]...)
}

// insertBefore puts content before body[i] unless the line above already
// reads like it (Salt's _starts_till).
func insertBefore(body []string, i int, content string, indent bool) []string {
	if i > 0 && startsLike(body[i-1], content) {
		return body
	}
	return insertLine(body, i, withEOL(body[i], setIndent(body[i], content, indent)))
}

// insertAfter puts content after body[i] unless the next line already
// reads like it.
func insertAfter(body []string, i int, content string, indent bool) []string {
	if i+1 < len(body) && startsLike(body[i+1], content) {
		return body
	}
	out := append([]string{}, body...)
	if !strings.HasSuffix(out[i], "\n") {
		out[i] += "\n"
	}
	return insertLine(out, i+1, withEOL(out[i], setIndent(out[i], content, indent)))
}

// insertAt handles location start/end; content already first/last is kept.
func insertAt(body []string, content, loc string, indent bool) []string {
	if len(body) == 0 {
		return []string{content + "\n"}
	}
	if loc == "start" {
		if strings.TrimRight(body[0], "\r\n") == content {
			return body
		}
		return insertLine(body, 0, withEOL(body[0], content))
	}
	last := body[len(body)-1]
	if strings.TrimRight(last, "\r\n") == setIndent(last, content, indent) {
		return body
	}
	out := append([]string{}, body...)
	if !strings.HasSuffix(last, "\n") {
		out[len(out)-1] += "\n"
	}
	return append(out, withEOL(out[len(out)-1], setIndent(last, content, indent)))
}

// setIndent gives content the leading blanks of ref when indent is on.
func setIndent(ref, content string, indent bool) string {
	if !indent {
		return content
	}
	lead := ref[:len(ref)-len(strings.TrimLeft(ref, " \t"))]
	return lead + strings.TrimLeft(content, " \t\r\n")
}

// withEOL ends l with ref's line end ("\r\n" or "\n").
func withEOL(ref, l string) string {
	l = strings.TrimRight(l, "\r\n")
	if strings.HasSuffix(ref, "\r\n") {
		return l + "\r\n"
	}
	return l + "\n"
}

// startsLike is Salt's _starts_till(src, probe) >= 0: the lines are equal,
// or (comment markers aside) the shorter one without its last word begins
// the longer, so "port = 80" is taken to be a version of "port = 9090".
func startsLike(src, probe string) bool {
	src, probe = strings.TrimRight(src, "\r\n"), strings.TrimRight(probe, "\r\n")
	if src == "" || probe == "" {
		return false
	}
	if src == probe {
		return true
	}
	stripComment := func(s string) string {
		first, rest, ok := strings.Cut(s, " ")
		if ok && len(first) < 2 {
			return rest
		}
		return s
	}
	sw, pw := strings.Fields(stripComment(src)), strings.Fields(stripComment(probe))
	short, long := pw, sw
	if len(sw) < len(pw) {
		short, long = sw, pw
	}
	longText := strings.Join(long, " ")
	for i := range short {
		prefix := strings.Join(short[:len(short)-(i+1)], " ")
		if prefix != "" && strings.HasPrefix(longText, prefix) {
			return true
		}
	}
	return false
}
