package api

import "maps"

// Result is what one state function returns: Salt's result triple. Result is
// true (correct or changed), false (failed) or nil (test mode: would change).
type Result struct {
	Result   *bool          `json:"result"`
	Comment  string         `json:"comment"`
	Changes  map[string]any `json:"changes"`
	Warnings []string       `json:"warnings,omitempty"`
}

// Tri returns a pointer for Result.Result; a nil *bool stays "None".
func Tri(b bool) *bool { return &b }

// Succeeded reports a result that was correct or was made correct.
func Succeeded(comment string, changes map[string]any) Result {
	return Result{Result: Tri(true), Comment: comment, Changes: orEmpty(changes)}
}

// Failed reports a state that could not be brought to the declared form.
func Failed(comment string) Result {
	return Result{Result: Tri(false), Comment: comment, Changes: map[string]any{}}
}

// FailedWith reports a failure that nevertheless changed something.
func FailedWith(comment string, changes map[string]any) Result {
	return Result{Result: Tri(false), Comment: comment, Changes: orEmpty(changes)}
}

// Pending is the test-mode answer when a change would be made: result None
// and the changes that a real run would report.
func Pending(comment string, changes map[string]any) Result {
	return Result{Result: nil, Comment: comment, Changes: orEmpty(changes)}
}

// OK reports whether the result is true or None (test mode); only false counts
// as a failure for requisites and exit codes, as in Salt.
func (r Result) OK() bool { return r.Result == nil || *r.Result }

// Clone returns a copy whose Changes map may be changed freely.
func (r Result) Clone() Result {
	r.Changes = maps.Clone(orEmpty(r.Changes))
	if r.Result != nil {
		r.Result = Tri(*r.Result)
	}
	return r
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// StateReturn is one entry of a state run's return, keyed by the state tag
// `<module>_|-<id>_|-<name>_|-<function>` exactly as Salt prints it.
type StateReturn struct {
	Result
	Name      string  `json:"name"`
	ID        string  `json:"__id__"`
	SLS       string  `json:"__sls__"`
	RunNum    int     `json:"__run_num__"`
	StartTime string  `json:"start_time"`
	Duration  float64 `json:"duration"`
}

// Tag builds Salt's state key for a low chunk.
func Tag(module, id, name, fun string) string {
	return module + "_|-" + id + "_|-" + name + "_|-" + fun
}
