package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
	"github.com/brine-cm/brine/states/file/fsx"
)

type appendArgs struct {
	// Text is a string or a list of strings; each one is appended unless
	// the file already holds it.
	Text     any
	Makedirs bool
	// IgnoreWhitespace (default True) finds text already present even when
	// spacing and line breaks between its words differ.
	IgnoreWhitespace *bool `arg:"ignore_whitespace"`
}

type replaceArgs struct {
	Pattern string
	Repl    string
	// Count limits the number of replacements; 0 replaces all.
	Count int
	// Flags are Python re flags: a list of names (IGNORECASE, MULTILINE,
	// DOTALL...) or their integer sum. Default 8, MULTILINE.
	Flags any
	// Bufsize is accepted for Salt compatibility: brine reads whole files.
	Bufsize           any
	AppendIfNotFound  bool    `arg:"append_if_not_found"`
	PrependIfNotFound bool    `arg:"prepend_if_not_found"`
	NotFoundContent   *string `arg:"not_found_content"`
	// Backup is the suffix of the copy of the original kept when the file
	// changes (default ".bak", as Salt); False or "" keeps none.
	Backup           any
	ShowChanges      *bool `arg:"show_changes"`
	IgnoreIfMissing  bool  `arg:"ignore_if_missing"`
	BackslashLiteral bool  `arg:"backslash_literal"`
}

func registerEdit() {
	states.Register(states.Def[appendArgs]{
		Name: "file.append",
		Doc: `Append text (a string or a list) to a file unless it is already there; a
missing file is created (makedirs creates its parents).`,
		Apply: func(_ context.Context, req *states.Request, a *appendArgs) api.Result {
			return appendText(req.Name, req.Test, a)
		},
	})
	states.Register(states.Def[replaceArgs]{
		Name: "file.replace",
		Doc: `Replace what a regular expression (pattern) matches with repl, as Python's
re.sub does (\1 and \g<name> refer to groups). count limits replacements;
flags default to MULTILINE; append_if_not_found / prepend_if_not_found add
not_found_content (default repl) when nothing matches. The original is kept
as name + backup (".bak") when the file changes.`,
		Apply: func(_ context.Context, req *states.Request, a *replaceArgs) api.Result {
			return replace(req.Name, req.Test, a)
		},
	})
}

func appendText(name string, test bool, a *appendArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	path := realPath(name)
	var chunks []string
	if a.Text != nil {
		var err error
		if chunks, err = textParts("text", a.Text); err != nil {
			return api.Failed(sentence(err))
		}
	}
	if len(chunks) == 0 {
		return api.Failed("No text found to append. Nothing appended")
	}
	fi, err := os.Stat(path)
	if err != nil {
		if test {
			return api.Pending(fmt.Sprintf("File %s is set to be created", name), map[string]any{"new": name})
		}
		if res := touch(path, false, &touchArgs{Makedirs: a.Makedirs}); !res.OK() {
			return res
		}
	} else if !fi.Mode().IsRegular() {
		return api.Failed(fmt.Sprintf("%s is not a regular file", name))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return api.Failed(fmt.Sprintf("Unable to read %s: %v", name, err))
	}
	old := string(raw)
	var add []string
	for _, chunk := range chunks {
		found, err := textPresent(old, chunk, boolOr(a.IgnoreWhitespace, true))
		if err != nil {
			return api.Failed(sentence(err))
		}
		if !found {
			add = append(add, splitLines(chunk)...)
		}
	}
	if len(add) == 0 {
		return api.Succeeded(fmt.Sprintf("File %s is in correct state", name), nil)
	}
	// Salt joins difflib's lines (line ends stripped) with "\n", which
	// doubles the header line ends; users compare against that shape.
	slines := splitLines(old)
	diff := strings.Join(fsx.UnifiedDiff(slines, append(append([]string{}, slines...), add...)), "\n")
	if fsx.IsBinary(raw) {
		diff = "Replace binary file"
	}
	ch := map[string]any{"diff": diff}
	if test {
		return api.Pending(fmt.Sprintf("File %s is set to be updated", name), ch)
	}
	var sb strings.Builder
	sb.WriteString(old)
	if old != "" && !strings.HasSuffix(old, "\n") {
		sb.WriteByte('\n')
	}
	for _, l := range add {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	if err := fsx.AtomicWrite(path, []byte(sb.String()), fsx.NewWriteOptions()); err != nil {
		return api.Failed(fmt.Sprintf("Unable to append to %s: %v", name, err))
	}
	return api.Succeeded(fmt.Sprintf("Appended %d lines", len(add)), ch)
}

// textPresent looks for chunk in text. Ignoring whitespace, the chunk's
// words must appear in order, each line anchored at line start and end, with
// any amount of whitespace (line breaks too) between them, as Salt's
// build_whitespace_split_regex builds it.
func textPresent(text, chunk string, ignoreWS bool) (bool, error) {
	if !ignoreWS {
		return strings.Contains(text, chunk), nil
	}
	var sb strings.Builder
	sb.WriteString(`(?m)^`)
	for _, line := range splitLines(chunk) {
		words := strings.Fields(line)
		for i, w := range words {
			words[i] = regexp.QuoteMeta(w)
		}
		sb.WriteString(`(?:\s+)?` + strings.Join(words, `(?:\s+)?`))
	}
	sb.WriteString(`$`)
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return false, fmt.Errorf("search for %q: %w", chunk, err)
	}
	return re.MatchString(text), nil
}

// Python re flag values, as Salt users write them in `flags`.
var reFlags = map[string]int{
	"I": 2, "IGNORECASE": 2, "L": 4, "LOCALE": 4, "M": 8, "MULTILINE": 8,
	"S": 16, "DOTALL": 16, "U": 32, "UNICODE": 32, "X": 64, "VERBOSE": 64, "A": 256, "ASCII": 256,
}

// compileFlags turns Salt's flags argument into a Go regexp prefix.
func compileFlags(v any) (string, error) {
	n := 8
	switch x := v.(type) {
	case nil:
	case string, []any:
		names, _ := textParts("flags", x)
		if s, ok := x.(string); ok {
			if i, err := strconv.Atoi(s); err == nil {
				n = i
				break
			}
		}
		n = 0
		for _, name := range names {
			f, ok := reFlags[strings.ToUpper(strings.TrimPrefix(name, "re."))]
			if !ok {
				return "", fmt.Errorf("flags: unknown regular expression flag %q", name)
			}
			n |= f
		}
	default:
		i, ok := api.Int(v)
		if !ok {
			return "", fmt.Errorf("flags: expected a list of flag names or an integer")
		}
		n = int(i)
	}
	if n&64 != 0 {
		return "", fmt.Errorf("flags: VERBOSE patterns are not supported")
	}
	var p string
	if n&2 != 0 {
		p += "i"
	}
	if n&8 != 0 {
		p += "m"
	}
	if n&16 != 0 {
		p += "s"
	}
	if p == "" {
		return "", nil
	}
	return "(?" + p + ")", nil
}

// expandRepl builds one replacement from a Python-style template: \1..\99
// and \g<n>/\g<name> insert groups, \n \t \r \f \v \a and \\ are escapes.
func expandRepl(re *regexp.Regexp, tmpl, src string, m []int) (string, error) {
	group := func(ref string) (string, error) {
		i, err := strconv.Atoi(ref)
		if err != nil {
			i = re.SubexpIndex(ref)
		}
		if i < 0 || i > re.NumSubexp() {
			return "", fmt.Errorf("repl: invalid group reference %q", ref)
		}
		if m[2*i] < 0 {
			return "", nil
		}
		return src[m[2*i]:m[2*i+1]], nil
	}
	var sb strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '\\' || i+1 == len(tmpl) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch d := tmpl[i]; {
		case d >= '0' && d <= '9':
			j := i + 1
			if j < len(tmpl) && tmpl[j] >= '0' && tmpl[j] <= '9' {
				j++
			}
			g, err := group(tmpl[i:j])
			if err != nil {
				return "", err
			}
			sb.WriteString(g)
			i = j - 1
		case d == 'g' && i+1 < len(tmpl) && tmpl[i+1] == '<':
			end := strings.IndexByte(tmpl[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("repl: unterminated group name")
			}
			g, err := group(tmpl[i+2 : i+end])
			if err != nil {
				return "", err
			}
			sb.WriteString(g)
			i += end
		default:
			if r, ok := map[byte]string{'n': "\n", 't': "\t", 'r': "\r", 'f': "\f", 'v': "\v", 'a': "\a", '\\': "\\"}[d]; ok {
				sb.WriteString(r)
			} else {
				sb.WriteByte('\\')
				sb.WriteByte(d)
			}
		}
	}
	return sb.String(), nil
}

// backupSuffix reads the backup argument: nil means def, False none.
func backupSuffix(v any, def string) string {
	switch x := v.(type) {
	case nil:
		return def
	case bool:
		if x {
			return ".bak"
		}
		return ""
	case string:
		if b, ok := api.Bool(x); ok && !b {
			return ""
		}
		return x
	}
	return def
}

// writeBackup keeps the original content beside the file before it changes.
func writeBackup(name, suffix string, old []byte, fi fs.FileInfo) error {
	if suffix == "" {
		return nil
	}
	opt := fsx.NewWriteOptions()
	m := fsx.PermBits(fi.Mode())
	opt.Mode = &m
	if os.Geteuid() == 0 {
		opt.UID, opt.GID = fsx.Owner(fi)
	}
	return fsx.AtomicWrite(name+suffix, old, opt)
}

func replace(name string, test bool, a *replaceArgs) api.Result {
	if msg := checkAbs(name); msg != "" {
		return api.Failed(msg)
	}
	path := realPath(name)
	if a.Pattern == "" {
		return api.Failed("Argument 'pattern' is required")
	}
	fi, err := os.Stat(path)
	if err != nil {
		if a.IgnoreIfMissing {
			return api.Succeeded("No changes needed to be made", nil)
		}
		return api.Failed(fmt.Sprintf("%s: file not found", name))
	}
	if !fi.Mode().IsRegular() {
		return api.Failed(fmt.Sprintf("%s is not a regular file", name))
	}
	prefix, err := compileFlags(a.Flags)
	if err != nil {
		return api.Failed(sentence(err))
	}
	re, err := regexp.Compile(prefix + a.Pattern)
	if err != nil {
		return api.Failed(fmt.Sprintf("Invalid pattern %q: %v", a.Pattern, err))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return api.Failed(fmt.Sprintf("Unable to read %s: %v", name, err))
	}
	old := string(raw)
	limit := -1
	if a.Count > 0 {
		limit = a.Count
	}
	var sb strings.Builder
	last, found := 0, false
	for _, m := range re.FindAllStringSubmatchIndex(old, limit) {
		found = true
		sb.WriteString(old[last:m[0]])
		if a.BackslashLiteral {
			sb.WriteString(a.Repl)
		} else {
			r, err := expandRepl(re, a.Repl, old, m)
			if err != nil {
				return api.Failed(sentence(err))
			}
			sb.WriteString(r)
		}
		last = m[1]
	}
	sb.WriteString(old[last:])
	text := sb.String()

	if a.AppendIfNotFound || a.PrependIfNotFound {
		content := a.Repl
		if a.NotFoundContent != nil {
			content = *a.NotFoundContent
		}
		// Already added by an earlier run? Look for it as a whole line.
		if present, err := regexp.MatchString(prefix+`(?m)^`+regexp.QuoteMeta(content)+`(?:$|\r\n)`, old); err == nil && present {
			found = true
		}
		if !found {
			if a.PrependIfNotFound {
				text = content + "\n" + text
			} else {
				if text != "" && !strings.HasSuffix(text, "\n") {
					text += "\n"
				}
				text += content + "\n"
			}
		}
	}
	if text == old {
		return api.Succeeded("No changes needed to be made", nil)
	}
	var diff any = fsx.Diff(old, text)
	if !boolOr(a.ShowChanges, true) {
		diff = true
	}
	ch := map[string]any{"diff": diff}
	if test {
		return api.Pending("Changes would have been made", ch)
	}
	if err := writeBackup(path, backupSuffix(a.Backup, ".bak"), raw, fi); err != nil {
		return api.Failed(fmt.Sprintf("Unable to write backup of %s: %v", name, err))
	}
	if err := fsx.AtomicWrite(path, []byte(text), fsx.NewWriteOptions()); err != nil {
		return api.Failed(fmt.Sprintf("Unable to write %s: %v", name, err))
	}
	return api.Succeeded("Changes were made", ch)
}
