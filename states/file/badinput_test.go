package file

import (
	"strings"
	"testing"

	"github.com/brine-cm/brine/states"
)

// minimalArgs are arguments that let each state get past its own
// required-argument checks, so that the path check is what fails.
var minimalArgs = map[string]map[string]any{
	"file.symlink": {"target": "/tmp"},
	"file.append":  {"text": "x"},
	"file.replace": {"pattern": "x", "repl": "y"},
	"file.line":    {"content": "x", "mode": "ensure", "after": "a"},
	"file.recurse": {"source": "salt://x"},
	"file.copy":    {"source": "/tmp/x"},
}

func TestEveryFileStateRejectsBadInput(t *testing.T) {
	var names []string
	for _, n := range states.Names() {
		if strings.HasPrefix(n, "file.") {
			names = append(names, n)
		}
	}
	want := []string{"file.absent", "file.append", "file.copy", "file.directory", "file.exists", "file.line",
		"file.managed", "file.missing", "file.recurse", "file.replace", "file.symlink", "file.touch"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("registered file states %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f, _ := states.Lookup(name)
			if err := f.Validate(map[string]any{"no_such_argument": 1}); err == nil || !strings.Contains(err.Error(), "unknown argument 'no_such_argument'") {
				t.Errorf("unknown argument: %v", err)
			}
			for _, modeArg := range []string{"mode", "file_mode", "dir_mode"} {
				if !contains(" "+strings.Join(f.Args, " ")+" ", " "+modeArg+" ") || (name == "file.line" && modeArg == "mode") {
					continue // file.line's mode is ensure/replace/..., not permissions
				}
				if err := f.Validate(map[string]any{modeArg: "abc"}); err == nil || !strings.Contains(err.Error(), "argument '"+modeArg+"'") {
					t.Errorf("%s: abc accepted: %v", modeArg, err)
				}
			}
			for _, test := range []bool{true, false} {
				res := apply(t, nil, name, "relative/path", minimalArgs[name], test)
				wantResult(t, res, no)
				if res.Comment != "Specified file relative/path is not an absolute path" {
					t.Errorf("test=%v: comment %q", test, res.Comment)
				}
			}
		})
	}
}
