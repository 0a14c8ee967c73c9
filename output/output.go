// Package output prints function returns the way Salt's outputters do, so
// that people and scripts reading `salt-call` output read brine's unchanged:
// highstate for state runs, nested for everything else, json, yaml and txt on
// request. `brine call` and the master's `brine TARGET FUNC` share it; each
// return is printed under its minion ID.
package output

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

// Options changes how a return is printed.
type Options struct {
	// Color adds Salt's ANSI colours; see AutoColor.
	Color bool
	// StateOutput is the highstate layout: "full" (the default), "terse"
	// (one line per state), "mixed" (terse unless failed) or "changes"
	// (terse unless changed or failed). A "_id" suffix prints the state ID
	// instead of its name, as in Salt.
	StateOutput string
	// HideClean hides states that succeeded without changes (Salt's
	// state_verbose: False). They are still counted in the summary.
	HideClean bool
	// Retcode other than 0 colours nested output red, as salt-call does for
	// a failed function.
	Retcode int
}

// Printer writes one minion's return.
type Printer func(w io.Writer, id string, value any, o Options) error

var printers = map[string]Printer{
	"highstate": Highstate,
	"json":      JSON,
	"yaml":      YAML,
	"nested":    Nested,
	"txt":       Txt,
}

// Names lists the outputters by the name --out takes.
func Names() []string { return []string{"highstate", "json", "nested", "txt", "yaml"} }

// Lookup finds an outputter by name.
func Lookup(name string) (Printer, bool) {
	p, ok := printers[name]
	return p, ok
}

// Write prints value, the return of minion id, with the named outputter; an
// empty name picks DefaultFormat(value).
func Write(w io.Writer, format, id string, value any, o Options) error {
	if format == "" {
		format = DefaultFormat(value)
	}
	p, ok := Lookup(format)
	if !ok {
		return fmt.Errorf("unknown outputter %q (choose one of %s)", format, strings.Join(Names(), ", "))
	}
	return p(w, id, value, o)
}

// DefaultFormat is the outputter Salt would choose: highstate for state runs
// and compile errors, nested for everything else.
func DefaultFormat(value any) string {
	switch value.(type) {
	case *states.Run, states.Run, *states.CompileError, map[string]*api.StateReturn:
		return "highstate"
	}
	return "nested"
}

// AutoColor reports whether output to w should be coloured: only when w is a
// terminal and NO_COLOR (https://no-color.org) is unset or empty.
func AutoColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// palette holds Salt's colour codes, or empty strings when colour is off.
type palette struct {
	green, cyan, red, lightRed, lightYellow, endc string
}

func colors(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{
		green:       "\033[0;32m",
		cyan:        "\033[0;36m",
		red:         "\033[0;31m",
		lightRed:    "\033[1;31m",
		lightYellow: "\033[1;33m",
		endc:        "\033[0;0m",
	}
}

// writeString writes s and one final newline.
func writeString(w io.Writer, s string) error {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	_, err := io.WriteString(w, s)
	return err
}
