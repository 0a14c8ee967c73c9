package cron

import (
	"context"
	"strings"
	"testing"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/states"
)

// TestRefusesOtherOS: on a host that is not Debian-family every state
// fails and says why, before looking at or touching anything.
func TestRefusesOtherOS(t *testing.T) {
	env := &api.Env{Grains: map[string]any{"os": "Fedora", "os_family": "RedHat"}}
	for _, fun := range []string{"cron.present", "cron.absent", "cron.env_present", "cron.env_absent"} {
		t.Run(fun, func(t *testing.T) {
			f, ok := states.Lookup(fun)
			if !ok {
				t.Fatalf("%s is not registered", fun)
			}
			for _, test := range []bool{false, true} {
				r := f.Apply(context.Background(), &states.Request{ID: "x", Name: "x", Args: map[string]any{}, Test: test, Env: env})
				if r.Result == nil || *r.Result || !strings.Contains(r.Comment, "not supported on Fedora") || len(r.Changes) != 0 {
					t.Errorf("test=%v: result %v comment %q changes %v; want a failure naming Fedora", test, r.Result, r.Comment, r.Changes)
				}
			}
		})
	}
}
