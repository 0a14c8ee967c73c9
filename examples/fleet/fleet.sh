#!/bin/sh
# The fleet quickstart: build brine, start a master and two minions on
# 127.0.0.1 in a temporary directory, accept their keys, apply the example
# highstate (examples/fleet/salt, pillar per minion from examples/fleet/pillar)
# across both, print the output, and stop everything.
#
#   sh examples/fleet/fleet.sh          (from the repository root, needs Go)
#
# Nothing is written outside the temporary directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/brine-fleet.XXXXXX")
pids=""

cleanup() {
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	for pid in $pids; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== building brine"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/brine" ./cmd/brine)
brine="$work/brine"

cat > "$work/master.yaml" <<YAML
listen: 127.0.0.1:0          # any free port; the CLI reads it from state_dir
file_roots:
  base: [$here/salt]
pillar_roots:
  base: [$here/pillar]
state_dir: $work/master
YAML

echo "== starting the master"
"$brine" master --config "$work/master.yaml" --log-level warning 2>"$work/master.log" &
pids="$pids $!"
i=0
until [ -s "$work/master/master.url" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$work/master.log"; exit 1; }
	sleep 0.1
done
addr=$(sed 's|nats://||' "$work/master/master.url")

for id in web1 web2; do
	cat > "$work/$id.yaml" <<YAML
id: $id
master: $addr
state_dir: $work/$id
grains:
  roles: [web]
  demo_root: $work/root
YAML
	echo "== starting minion $id"
	"$brine" minion --config "$work/$id.yaml" 2>"$work/$id.log" &
	pids="$pids $!"
done

b() { "$brine" "$@" --state-dir "$work/master"; }

echo "== waiting for the minions' keys"
i=0
until [ "$(b key list | sed -n '/^Unaccepted/,/^Rejected/p' | grep -c '^web')" = 2 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { b key list; exit 1; }
	sleep 0.1
done
b key list
b key accept --all

echo "== waiting for both minions to answer"
i=0
until b '*' test.ping -t 2 >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 50 ] || { b '*' test.ping; exit 1; }
	sleep 0.2
done
b '*' test.ping

echo "== brine '*' state.apply"
b '*' state.apply

echo "== brine '*' state.apply (again: nothing changes)"
b '*' state.apply --state-output terse

echo "== the files it manages"
for f in "$work"/root/*/motd "$work"/root/*/web.conf; do
	echo "--- $f"
	cat "$f"
done

echo "== brine jobs list"
b jobs list
