package states

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
)

// Engine compiles and runs SLS trees against one host environment.
type Engine struct {
	// Env is the host; Env.Files serves the SLS tree (file_roots).
	Env *api.Env
	// StateTimeout bounds each state function; 0 means DefaultStateTimeout.
	StateTimeout time.Duration
}

// DefaultStateTimeout bounds one state when nothing else is configured.
const DefaultStateTimeout = time.Hour

// CompileError collects everything wrong with an SLS tree before it runs:
// render and YAML errors, unknown functions or arguments, missing requisites,
// cycles, duplicate IDs. Salt prints these as a list of strings and exits 1.
type CompileError struct {
	Errors []string
}

func (e *CompileError) Error() string { return strings.Join(e.Errors, "\n") }

// Run is the return of a state run: Salt's map keyed by state tag.
type Run struct {
	// Returns holds one entry per state tag.
	Returns map[string]*api.StateReturn
}

// MarshalJSON prints the run as Salt's plain map.
func (r *Run) MarshalJSON() ([]byte, error) { return json.Marshal(r.Returns) }

// Ordered returns the state returns sorted by __run_num__.
func (r *Run) Ordered() []*api.StateReturn {
	out := make([]*api.StateReturn, 0, len(r.Returns))
	for _, v := range r.Returns {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunNum < out[j].RunNum })
	return out
}

// Tags returns the state tags sorted by __run_num__.
func (r *Run) Tags() []string {
	tags := make([]string, 0, len(r.Returns))
	for t := range r.Returns {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool { return r.Returns[tags[i]].RunNum < r.Returns[tags[j]].RunNum })
	return tags
}

// Failed reports whether any state returned false (Salt's exit code 2).
func (r *Run) Failed() bool {
	for _, v := range r.Returns {
		if v.Result.Result != nil && !*v.Result.Result {
			return true
		}
	}
	return false
}
