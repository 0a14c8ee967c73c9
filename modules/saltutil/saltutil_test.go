package saltutil

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules"
)

type fakeAgent struct {
	refreshed int
	fail      error
	jobs      []map[string]any
}

func (f *fakeAgent) RefreshPillar(context.Context) error {
	f.refreshed++
	return f.fail
}

func (f *fakeAgent) Running() []map[string]any { return f.jobs }

func TestFunctions(t *testing.T) {
	env := &api.Env{}
	job := map[string]any{"jid": "20261125211459123456", "fun": "state.apply"}
	agent := &fakeAgent{jobs: []map[string]any{job}}
	withAgent := WithAgent(context.Background(), agent)
	masterless := context.Background()

	for _, tc := range []struct {
		name string
		ctx  context.Context
		fun  string
		args []any
		want any
	}{
		{"running", withAgent, "saltutil.running", nil, []any{job}},
		{"running masterless", masterless, "saltutil.running", nil, []any{}},
		{"find_job", withAgent, "saltutil.find_job", []any{"20261125211459123456"}, job},
		{"find_job unknown", withAgent, "saltutil.find_job", []any{"20261125211459000000"}, map[string]any{}},
		{"refresh_pillar", withAgent, "saltutil.refresh_pillar", nil, true},
		{"refresh_pillar masterless", masterless, "saltutil.refresh_pillar", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := modules.Call(tc.ctx, env, tc.fun, tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.fun, diff)
			}
		})
	}
	if agent.refreshed != 1 {
		t.Errorf("RefreshPillar called %d times, want 1", agent.refreshed)
	}
	agent.fail = errors.New("master unreachable")
	if _, err := modules.Call(withAgent, env, "saltutil.refresh_pillar", nil, nil); err == nil {
		t.Error("a failed refresh returned no error")
	}
	got, err := modules.Call(masterless, env, "saltutil.sync_all", nil, nil)
	if m, ok := got.(map[string]any); err != nil || !ok || len(m["modules"].([]any)) != 0 {
		t.Errorf("sync_all = %v, %v", got, err)
	}
}
