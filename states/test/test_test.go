package test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

type saltState struct {
	Result   *bool          `json:"result"`
	Comment  string         `json:"comment"`
	Changes  map[string]any `json:"changes"`
	Warnings []string       `json:"warnings"`
}

func loadSalt(t *testing.T, file string) map[string]saltState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Local map[string]saltState `json:"local"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc.Local
}

func asJSON(t *testing.T, r api.Result) saltState {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var s saltState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// testfnsSLS is testdata/testfns.sls as the engine hands it over.
var testfnsSLS = []struct {
	id, fun, name string
	args          map[string]any
	inApply       bool // false: the engine decides (a failed requisite)
}{
	{"nop_state", "nop", "nop_state", map[string]any{"any_argument": "is accepted and ignored"}, true},
	{"nop_with_name", "nop", "a custom name", nil, true},
	{"succeed_quietly", "succeed_without_changes", "succeed_quietly", nil, true},
	{"succeed_quietly_comment", "succeed_without_changes", "succeed_quietly_comment", map[string]any{"comment": "my own comment"}, true},
	{"succeed_loudly", "succeed_with_changes", "succeed_loudly", nil, true},
	{"fail_quietly", "fail_without_changes", "fail_quietly", nil, true},
	{"fail_loudly", "fail_with_changes", "fail_loudly", nil, true},
	{"configurable_default", "configurable_test_state", "configurable_default", nil, true},
	{"configurable_no_changes", "configurable_test_state", "configurable_no_changes",
		map[string]any{"changes": false, "result": true, "comment": "nothing to change"}, true},
	{"configurable_changes_fail", "configurable_test_state", "configurable_changes_fail",
		map[string]any{"changes": true, "result": false, "comment": "changed then failed"}, true},
	{"configurable_no_changes_fail", "configurable_test_state", "configurable_no_changes_fail",
		map[string]any{"changes": false, "result": false, "comment": "failed without changes"}, true},
	// YAML reads None as the string "None".
	{"configurable_bad_result", "configurable_test_state", "configurable_bad_result",
		map[string]any{"changes": true, "result": "None"}, true},
	{"configurable_warnings", "configurable_test_state", "configurable_warnings",
		map[string]any{"changes": false, "warnings": []any{"first warning", "second warning"}}, true},
	{"notification", "show_notification", "notification", map[string]any{"text": "a notification text"}, true},
	{"depends_on_failure", "succeed_without_changes", "depends_on_failure", nil, false},
	{"after_changes", "succeed_without_changes", "after_changes", nil, true},
}

func TestMatchesSaltReference(t *testing.T) {
	for _, mode := range []struct {
		name string
		file string
		test bool
	}{
		{"apply", "salt-apply1.json", false},
		{"test mode", "salt-test.json", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			want := loadSalt(t, mode.file)
			for _, st := range testfnsSLS {
				if !mode.test && !st.inApply {
					continue
				}
				t.Run(st.id, func(t *testing.T) {
					tag := api.Tag("test", st.id, st.name, st.fun)
					w, ok := want[tag]
					if !ok {
						t.Fatalf("no %s in %s", tag, mode.file)
					}
					f, ok := states.Lookup("test." + st.fun)
					if !ok {
						t.Fatalf("test.%s is not registered", st.fun)
					}
					args := st.args
					if args == nil {
						args = map[string]any{}
					}
					if f.Validate != nil {
						if err := f.Validate(args); err != nil {
							t.Fatalf("Validate: %v", err)
						}
					}
					got := asJSON(t, f.Apply(context.Background(), &states.Request{
						ID: st.id, Name: st.name, SLS: "testfns", Args: args, Test: mode.test, Env: &api.Env{},
					}))
					if strings.Contains(w.Comment, "Traceback") {
						// Salt prints a Python traceback; brine names the
						// same error without one.
						const prefix = "An exception occurred in this state: "
						msg := strings.TrimSpace(w.Comment[strings.LastIndex(strings.TrimSpace(w.Comment), "SaltInvocationError: ")+len("SaltInvocationError: "):])
						if got.Comment != prefix+msg {
							t.Errorf("comment = %q, want %q", got.Comment, prefix+msg)
						}
						w.Comment = got.Comment
					}
					if diff := cmp.Diff(w, got); diff != "" {
						t.Errorf("%s differs from Salt (-salt +brine):\n%s", tag, diff)
					}
				})
			}
		})
	}
}

func TestConfigurableTestState(t *testing.T) {
	changed := map[string]any{"testing": map[string]any{"old": "Unchanged", "new": "Something pretended to change"}}
	tests := []struct {
		name string
		args map[string]any
		test bool
		want api.Result
	}{
		{name: "YAML 1.1 booleans", args: map[string]any{"changes": "no", "result": "yes"},
			want: api.Result{Result: api.Tri(true), Changes: map[string]any{}}},
		{name: "warnings as one string", args: map[string]any{"changes": false, "warnings": "careful"},
			want: api.Result{Result: api.Tri(true), Changes: map[string]any{}, Warnings: []string{"careful"}}},
		{name: "test mode with changes and result false", args: map[string]any{"result": false}, test: true,
			want: api.Result{Result: nil, Comment: "This is a test", Changes: changed}},
		{name: "invalid changes", args: map[string]any{"changes": "maybe"},
			want: api.Failed("An exception occurred in this state: You have specified the state option 'changes' with invalid arguments. It must be either True, False, or 'Random'")},
		{name: "null result is invalid", args: map[string]any{"result": nil},
			want: api.Failed("An exception occurred in this state: You have specified the state option 'result' with invalid arguments. It must be either True, False, or 'Random'")},
		{name: "invalid warnings", args: map[string]any{"warnings": map[string]any{"a": 1}},
			want: api.Failed("An exception occurred in this state: You have specified the state option 'warnings' with invalid arguments. It must be a string or a list of strings")},
	}
	f, _ := states.Lookup("test.configurable_test_state")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := f.Apply(context.Background(), &states.Request{ID: "c", Name: "c", Args: tc.args, Test: tc.test})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// 'Random' yields a boolean result and either no changes or the fake
	// change, and over many runs both outcomes.
	seen := map[bool]bool{}
	for range 200 {
		got := f.Apply(context.Background(), &states.Request{ID: "c", Name: "c", Args: map[string]any{"changes": "Random", "result": "random"}})
		if got.Result == nil {
			t.Fatal("Random result gave None outside test mode")
		}
		seen[*got.Result] = true
		if len(got.Changes) != 0 && !cmp.Equal(got.Changes, changed) {
			t.Fatalf("Random changes = %v", got.Changes)
		}
	}
	if !seen[true] || !seen[false] {
		t.Errorf("200 Random results were all %v", seen)
	}

	if err := f.Validate(map[string]any{"changes": true, "colour": "red"}); err == nil || !strings.Contains(err.Error(), "unknown argument 'colour'") {
		t.Errorf("Validate accepted an unknown argument: %v", err)
	}
}

func TestShowNotificationNeedsText(t *testing.T) {
	f, _ := states.Lookup("test.show_notification")
	got := f.Apply(context.Background(), &states.Request{ID: "n", Name: "n", Args: map[string]any{}})
	want := api.Failed("An exception occurred in this state: Missing required argument text.")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestModWatch(t *testing.T) {
	req := &states.Request{ID: "w", Name: "w", Args: map[string]any{}, Changes: map[string]map[string]any{
		"test_|-loud_|-loud_|-succeed_with_changes": {"testing": map[string]any{"old": "a", "new": "b"}},
		"file_|-conf_|-/etc/x_|-managed":            {"diff": "New file"},
		"test_|-quiet_|-quiet_|-nop":                {},
	}}
	want := api.Result{Result: api.Tri(true), Comment: "Watch statement fired.",
		Changes: map[string]any{"Requisites with changes": []any{"file: conf", "test: loud"}}}
	for _, name := range states.Names() {
		if !strings.HasPrefix(name, "test.") {
			continue
		}
		f, _ := states.Lookup(name)
		if f.ModWatch == nil {
			t.Errorf("%s has no mod_watch", name)
			continue
		}
		if diff := cmp.Diff(want, f.ModWatch(context.Background(), req)); diff != "" {
			t.Errorf("%s mod_watch (-want +got):\n%s", name, diff)
		}
	}

	custom := &states.Request{ID: "w", Name: "w", Args: map[string]any{"comment": "my comment", "result": false}}
	f, _ := states.Lookup("test.succeed_without_changes")
	got := f.ModWatch(context.Background(), custom)
	want = api.Result{Result: api.Tri(false), Comment: "my comment", Changes: map[string]any{"Requisites with changes": []any{}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mod_watch with own comment and result (-want +got):\n%s", diff)
	}
}
