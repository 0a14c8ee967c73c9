// Package fleet_test runs the README's first command, examples/fleet/fleet.sh,
// so that the quickstart stays true: a master and two minions on loopback
// apply the example highstate and everything succeeds.
package fleet_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFleetQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the fleet quickstart (builds brine and starts three processes) in -short mode")
	}
	out, err := exec.Command("sh", "fleet.sh").CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("fleet.sh: %v\n%s", err, text)
	}
	if strings.Count(text, "Summary for web") < 2 || strings.Contains(text, "Failed:    1") {
		t.Errorf("want a passing highstate summary for both minions:\n%s", text)
	}
	for _, want := range []string{"Welcome to web1", "Welcome to web2", "listen 8443", "listen 8080"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q (files from salt:// with per-minion pillar):\n%s", want, text)
		}
	}
}
