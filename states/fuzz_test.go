package states_test

import (
	"context"
	"errors"
	"testing"

	"github.com/brine-cm/brine/states"
)

// FuzzCompile feeds arbitrary SLS text to the compiler (render, include,
// extend, names, requisites, order, cycle check). It must never panic and
// must fail only with a *CompileError. Nothing is run.
func FuzzCompile(f *testing.F) {
	seeds := []string{
		"a:\n  test.nop\n",
		"a:\n  test.nop:\n    - require:\n      - b\nb:\n  test.nop:\n    - require:\n      - a\n",
		"include:\n  - .x\nextend:\n  a:\n    test.nop:\n      - name: z\n",
		"a:\n  test.succeed_with_changes:\n    - names:\n      - one\n      - two:\n        - order: 3\n    - order: last\n",
		"{% for i in range(3) %}s{{ i }}:\n  test.nop:\n    - require_in:\n      - test: s0\n{% endfor %}\n",
		"a: [1, 2\n",
		"#!json\n{\"a\": {\"test.nop\": []}}\n",
		"a:\n  test:\n    - nop\n    - prereq:\n      - b\nb:\n  test.nop:\n    - use:\n      - a\n",
		"exclude:\n  - id: a\na:\n  test.nop\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e := engine(map[string]string{"a.sls": src, "x.sls": "x:\n  test.nop\n"})
		_, err := e.Compile(context.Background(), []string{"a"})
		var ce *states.CompileError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("compile failed with %T, not a CompileError: %v", err, err)
		}
	})
}
