package test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/version"
)

func TestFunctions(t *testing.T) {
	env := &api.Env{Opts: map[string]any{"id": "web1"}}
	tests := []struct {
		fun    string
		args   []any
		kwargs map[string]any
		want   any
	}{
		{"test.ping", nil, nil, true},
		{"test.true", nil, nil, true},
		{"test.false", nil, nil, false},
		{"test.echo", []any{"hello"}, nil, "hello"},
		{"test.echo", nil, map[string]any{"text": 42}, "42"},
		{"test.version", nil, nil, version.Version},
		{"test.arg", []any{1, "two"}, map[string]any{"three": 3.0},
			map[string]any{"args": []any{1, "two"}, "kwargs": map[string]any{"three": 3.0}}},
		{"test.arg", nil, nil, map[string]any{"args": []any{}, "kwargs": map[string]any{}}},
		{"test.kwarg", nil, map[string]any{"a": "b"}, map[string]any{"a": "b"}},
		{"test.outputter", []any{map[string]any{"x": []any{1}}}, nil, map[string]any{"x": []any{1}}},
		{"test.sleep", []any{0.01}, nil, true},
		{"test.get_opts", nil, nil, map[string]any{"id": "web1"}},
	}
	for _, tc := range tests {
		t.Run(tc.fun, func(t *testing.T) {
			got, err := modules.Call(context.Background(), env, tc.fun, tc.args, tc.kwargs)
			if err != nil {
				t.Fatalf("%s: %v", tc.fun, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.fun, diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		fun    string
		args   []any
		kwargs map[string]any
		want   string
	}{
		{"test.exception", nil, nil, "Test Exception"},
		{"test.exception", []any{"boom"}, nil, "boom"},
		{"test.ping", []any{"extra"}, nil, "at most 0 positional"},
		{"test.echo", nil, map[string]any{"txt": "x"}, "unknown argument 'txt'"},
		{"test.sleep", []any{-1}, nil, "must not be negative"},
		{"test.kwarg", []any{"positional"}, nil, "keyword arguments only"},
	}
	for _, tc := range tests {
		t.Run(tc.fun+" "+tc.want, func(t *testing.T) {
			_, err := modules.Call(context.Background(), &api.Env{}, tc.fun, tc.args, tc.kwargs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := modules.Call(ctx, &api.Env{}, "test.sleep", []any{30}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("test.sleep ignored its deadline for %v", time.Since(start))
	}
}

func TestVersions(t *testing.T) {
	got, err := modules.Call(context.Background(), &api.Env{}, "test.versions_report", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := got.(string); !strings.Contains(s, "brine: "+version.Version) {
		t.Errorf("versions_report = %q, want brine's version in it", got)
	}
	info, err := modules.Call(context.Background(), &api.Env{}, "test.versions_information", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := info.(map[string]any)["Brine Version"].(map[string]any)["brine"]; v != version.Version {
		t.Errorf("versions_information brine = %v", v)
	}
}
