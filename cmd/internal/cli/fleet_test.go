package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fleet tests run the real binary: a master and three minions as
// separate processes on 127.0.0.1, each with its own temporary state
// directory, driven through the CLI as an operator would.

// checkFor polls fn until it returns nil or total has passed.
func checkFor(t *testing.T, total, every time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(every)
	}
	t.Fatalf("condition not met after %v: %v", total, err)
}

// proc is a long-running brine process whose output goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	once sync.Once
}

func startProc(t *testing.T, dir, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(brine, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process with SIGTERM, or SIGKILL if it lingers.
func (p *proc) stop(t *testing.T) {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop on SIGTERM; killing it", p.name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// kill ends the process at once, as a crash would.
func (p *proc) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

type fleet struct {
	// t owns the processes: they outlive the subtests that start them.
	t                *testing.T
	dir, state, root string
	port             int
	master           *proc
	minions          map[string]*proc
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	dir := t.TempDir()
	f := &fleet{t: t, dir: dir, state: filepath.Join(dir, "master-state"), root: filepath.Join(dir, "managed"), port: freePort(t), minions: map[string]*proc{}}
	writeTree(t, dir, map[string]string{
		"master.yaml": fmt.Sprintf(`listen: 127.0.0.1:%d
file_roots:
  base: [salt]
pillar_roots:
  base: [pillar]
nodegroups:
  webs: 'L@web1,web2'
state_dir: master-state
log_level: debug
`, f.port),
		"salt/top.sls": "base:\n  '*':\n    - motd\n  'G@roles:db':\n    - match: compound\n    - db\n",
		"salt/motd.sls": `motd:
  file.managed:
    - name: ` + f.root + `/{{ grains['id'] }}/motd
    - source: salt://files/motd.j2
    - template: jinja
    - makedirs: True
`,
		"salt/db.sls":        "db-marker:\n  file.managed:\n    - name: " + f.root + "/{{ grains['id'] }}/db\n    - contents: {{ pillar['role'] }}\n    - makedirs: True\n",
		"salt/files/motd.j2": "Welcome to {{ grains['id'] }} ({{ pillar['role'] }}), colour {{ pillar['colour'] }}, port {{ pillar['port'] }}\n",
		"salt/broken.sls":    "fails:\n  test.fail_without_changes\n",
		"salt/escape.sls": `via-dotdot:
  file.managed:
    - name: ` + f.root + `/{{ grains['id'] }}/stolen1
    - source: salt://../outside/secret
via-link:
  file.managed:
    - name: ` + f.root + `/{{ grains['id'] }}/stolen2
    - source: salt://files/link
`,
		"outside/secret":    "top secret\n",
		"pillar/top.sls":    "base:\n  '*':\n    - common\n  'web*':\n    - web\n  'db1':\n    - db\n",
		"pillar/common.sls": "colour: blue\nrole: none\nport: 8080\n",
		"pillar/web.sls":    "role: web\n",
		"pillar/db.sls":     "role: db\ncolour: green\n",
	})
	if err := os.Symlink(filepath.Join(dir, "outside", "secret"), filepath.Join(dir, "salt", "files", "link")); err != nil {
		t.Fatal(err)
	}
	f.startMaster(t)
	grains := map[string]string{
		"web1": "grains:\n  roles: [web]\n  ipv4: [10.0.0.1]\n",
		"web2": "grains:\n  roles: [web]\n  ipv4: [10.0.1.2]\n",
		"db1":  "grains:\n  roles: [db]\n  ipv4: [10.0.1.3]\n",
	}
	for id, g := range grains {
		cfg := filepath.Join(dir, id+".yaml")
		writeTree(t, dir, map[string]string{id + ".yaml": fmt.Sprintf("id: %s\nmaster: 127.0.0.1:%d\nstate_dir: %s-state\nlog_level: info\n%s", id, f.port, id, g)})
		f.minions[id] = startProc(t, dir, id, "minion", "--config", cfg)
	}
	return f
}

func (f *fleet) startMaster(t *testing.T) {
	t.Helper()
	f.master = startProc(f.t, f.dir, "master", "master", "--config", filepath.Join(f.dir, "master.yaml"))
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if _, err := os.Stat(filepath.Join(f.state, "master.url")); err != nil {
			return fmt.Errorf("master not ready:\n%s", f.master.logText())
		}
		return nil
	})
}

// brine runs the CLI against the fleet's master.
func (f *fleet) brine(t *testing.T, args ...string) result {
	t.Helper()
	return call(t, []string{"NO_COLOR=1"}, append(args, "--state-dir", f.state)...)
}

// returns reads `--out json --static` output.
func returns(t *testing.T, r result) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, r)
	}
	return out
}

func ids(m map[string]any) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (f *fleet) ping(t *testing.T, tgt ...string) map[string]any {
	t.Helper()
	args := append(append([]string{}, tgt...), "test.ping", "--out", "json", "--static")
	r := f.brine(t, args...)
	if r.code != 0 {
		t.Fatalf("brine %v:\n%s", args, r)
	}
	return returns(t, r)
}

// ready waits until every minion answers test.ping.
func (f *fleet) ready(t *testing.T) {
	t.Helper()
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		r := f.brine(t, "*", "test.ping", "--out", "json", "--static", "-t", "2")
		if r.code != 0 {
			return fmt.Errorf("not all minions answer:\n%s", r)
		}
		return nil
	})
}

func TestFleet(t *testing.T) {
	f := newFleet(t)

	t.Run("no admin credentials", func(t *testing.T) {
		r := call(t, nil, "*", "test.ping", "--state-dir", t.TempDir())
		if r.code != 1 || !strings.Contains(r.stderr, "no admin credentials") {
			t.Errorf("CLI without credentials:\n%s", r)
		}
		for _, args := range [][]string{{"key", "list"}, {"jobs", "list"}, {"events", "--count", "1"}} {
			if r := call(t, nil, append(args, "--state-dir", t.TempDir())...); r.code != 1 {
				t.Errorf("%v without credentials:\n%s", args, r)
			}
		}
	})

	// Key flow: every minion shows up as pending, accept them all.
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		r := f.brine(t, "key", "list", "--out", "json")
		if !strings.Contains(r.stdout, `"minions_pre": [
        "db1",
        "web1",
        "web2"
    ]`) {
			return fmt.Errorf("keys not pending yet:\n%s", r)
		}
		return nil
	})
	if r := f.brine(t, "key", "accept", "--all"); r.code != 0 || strings.Count(r.stdout, "accepted.") != 3 {
		t.Fatalf("key accept --all:\n%s", r)
	}
	f.ready(t)
	if r := f.brine(t, "key", "list"); r.stdout != "Accepted Keys:\ndb1\nweb1\nweb2\nUnaccepted Keys:\nRejected Keys:\n" {
		t.Errorf("key list:\n%s", r)
	}

	t.Run("targets", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"*"}, "db1,web1,web2"},
			{[]string{"web*"}, "web1,web2"},
			{[]string{"-E", `web[12]$`}, "web1,web2"},
			{[]string{"-L", "web1,db1"}, "db1,web1"},
			{[]string{"-G", "roles:db"}, "db1"},
			{[]string{"-P", "roles:w.b"}, "web1,web2"},
			{[]string{"-I", "role:web"}, "web1,web2"},
			{[]string{"-C", "G@roles:web and not web2"}, "web1"},
			{[]string{"-N", "webs"}, "web1,web2"},
			{[]string{"-S", "10.0.1.0/24"}, "db1,web2"},
		} {
			t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
				if got := ids(f.ping(t, tc.args...)); got != tc.want {
					t.Errorf("returned: %s, want %s", got, tc.want)
				}
			})
		}
	})

	t.Run("bad input publishes nothing", func(t *testing.T) {
		before := f.brine(t, "jobs", "list", "--out", "json").stdout
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"zzz*", "test.ping"}, 2, "No minions matched the target"},
			{[]string{"-E", "web[", "test.ping"}, 1, "invalid target"},
			{[]string{"*", "nope.nothing"}, 1, "'nope.nothing' is not available"},
			{[]string{"-G", "-L", "web1", "test.ping"}, 1, "choose one target type"},
			{[]string{"-N", "nosuchgroup", "test.ping"}, 1, "unknown nodegroup"},
		} {
			r := f.brine(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("brine %v: want exit %d and %q:\n%s", tc.args, tc.code, tc.want, r)
			}
		}
		if r := f.brine(t, "key", "accept", "web 1"); r.code != 1 || !strings.Contains(r.stderr, "white space") {
			t.Errorf("key accept with a space:\n%s", r)
		}
		if after := f.brine(t, "jobs", "list", "--out", "json").stdout; after != before {
			t.Errorf("bad input published a job:\nbefore %s\nafter %s", before, after)
		}
	})

	t.Run("highstate across the fleet", func(t *testing.T) {
		r := f.brine(t, "*", "state.apply")
		if r.code != 0 {
			t.Fatalf("state.apply:\n%s", r)
		}
		for _, id := range []string{"web1", "web2", "db1"} {
			if !strings.Contains(r.stdout, "Summary for "+id+"\n") {
				t.Errorf("no summary for %s:\n%s", id, r.stdout)
			}
		}
		for id, want := range map[string]string{
			"web1": "Welcome to web1 (web), colour blue, port 8080\n",
			"web2": "Welcome to web2 (web), colour blue, port 8080\n",
			"db1":  "Welcome to db1 (db), colour green, port 8080\n",
		} {
			b, err := os.ReadFile(filepath.Join(f.root, id, "motd"))
			if err != nil || string(b) != want {
				t.Errorf("%s motd = %q, %v; want %q", id, b, err, want)
			}
		}
		if b, err := os.ReadFile(filepath.Join(f.root, "db1", "db")); err != nil || string(b) != "db\n" {
			t.Errorf("db1 db marker = %q, %v", b, err)
		}
		if _, err := os.Stat(filepath.Join(f.root, "web1", "db")); err == nil {
			t.Error("web1 got the db state")
		}
		// Second run: nothing changes, nothing is fetched again.
		fetched := strings.Count(f.minions["web1"].logText(), "fetched a file")
		r = f.brine(t, "*", "state.apply", "--out", "json", "--static")
		if r.code != 0 || strings.Contains(r.stdout, `"changes": {
                "diff"`) {
			t.Errorf("second state.apply:\n%s", r)
		}
		if n := strings.Count(f.minions["web1"].logText(), "fetched a file"); n != fetched {
			t.Errorf("the second highstate fetched %d files again", n-fetched)
		}
		// A failing state on one minion: exit 11.
		r = f.brine(t, "-L", "db1,web1", "state.sls", "broken")
		if r.code != ExitMinionsFailed || !strings.Contains(r.stdout, "Failed:    1") {
			t.Errorf("failing state:\n%s", r)
		}
	})

	t.Run("plugins synced from the master", func(t *testing.T) {
		platform := runtime.GOOS + "_" + runtime.GOARCH
		copyExecutable(t, iniPlugin(t), filepath.Join(f.dir, "salt", "_plugins", platform, "ini"))
		writeTree(t, f.dir, map[string]string{"salt/iniapp.sls": `app.ini:
  ini.options_present:
    - name: ` + f.root + `/{{ grains['id'] }}/app.ini
    - sections:
        server:
          id: {{ grains['id'] }}
          colour: {{ pillar['colour'] }}
`})
		if r := f.brine(t, "web*", "state.sls", "iniapp"); r.code != ExitMinionsFailed || !strings.Contains(r.stdout, "ini.options_present") {
			t.Errorf("before the sync the SLS should not compile on the minions:\n%s", r)
		}
		r := f.brine(t, "web*", "saltutil.sync_all", "--out", "json", "--static")
		if r.code != 0 {
			t.Fatalf("saltutil.sync_all:\n%s", r)
		}
		got := returns(t, r)
		for _, id := range []string{"web1", "web2"} {
			if !strings.Contains(fmt.Sprint(got[id]), "plugins.ini") {
				t.Errorf("%s did not sync the ini plugin: %v", id, got[id])
			}
			if _, err := os.Stat(filepath.Join(f.dir, id+"-state", "plugins", "ini")); err != nil {
				t.Errorf("%s: synced plugin missing: %v", id, err)
			}
		}
		if _, ok := got["db1"]; ok {
			t.Errorf("db1 was not targeted but returned: %v", got["db1"])
		}
		r = f.brine(t, "web*", "state.sls", "iniapp")
		if r.code != 0 {
			t.Fatalf("state.sls iniapp after the sync:\n%s", r)
		}
		for _, id := range []string{"web1", "web2"} {
			b, err := os.ReadFile(filepath.Join(f.root, id, "app.ini"))
			if want := "[server]\ncolour = blue\nid = " + id + "\n"; err != nil || string(b) != want {
				t.Errorf("%s app.ini = %q, %v; want %q", id, b, err, want)
			}
		}
		if r := f.brine(t, "web*", "saltutil.sync_plugins", "--out", "json", "--static"); r.code != 0 || strings.Contains(r.stdout, "plugins.ini") {
			t.Errorf("a second sync changed something:\n%s", r)
		}
	})

	t.Run("brine call through the master", func(t *testing.T) {
		// salt-call on a minion's host: its own key, the master's pillar
		// and files, run here.
		r := call(t, nil, "call", "--config", filepath.Join(f.dir, "db1.yaml"), "pillar.item", "role", "--out", "json")
		if r.code != 0 || r.stdout != "{\n    \"local\": {\n        \"role\": \"db\"\n    }\n}\n" {
			t.Errorf("brine call pillar.item:\n%s", r)
		}
		r = call(t, nil, "call", "--config", filepath.Join(f.dir, "db1.yaml"), "state.sls", "db")
		if r.code != 0 || !strings.Contains(r.stdout, "Summary for local") {
			t.Errorf("brine call state.sls:\n%s", r)
		}
		r = call(t, nil, "call", "--id", "stranger", "--master", fmt.Sprintf("127.0.0.1:%d", f.port), "--state-dir", t.TempDir(), "test.ping")
		if r.code != 1 || !strings.Contains(r.stderr, "brine key accept stranger") {
			t.Errorf("brine call with an unaccepted key:\n%s", r)
		}
		f.brine(t, "key", "delete", "stranger")
	})

	t.Run("path traversal refused", func(t *testing.T) {
		r := f.brine(t, "web1", "state.sls", "escape", "--out", "json")
		if r.code != ExitMinionsFailed || strings.Count(r.stdout, "leaves the file root") < 1 {
			t.Errorf("escape.sls:\n%s", r)
		}
		for _, name := range []string{"stolen1", "stolen2"} {
			if _, err := os.Stat(filepath.Join(f.root, "web1", name)); err == nil {
				t.Errorf("%s was written", name)
			}
		}
	})

	var asyncJID string
	t.Run("async and jobs show", func(t *testing.T) {
		r := f.brine(t, "web*", "test.echo", "hello")
		if r.code != 0 {
			t.Fatal(r)
		}
		r = f.brine(t, "--async", "*", "test.arg", "a", "k=v")
		m := regexp.MustCompile(`^Executed command with job ID: (\d{20})\n$`).FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil {
			t.Fatalf("--async:\n%s", r)
		}
		asyncJID = m[1]
		checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
			r := f.brine(t, "jobs", "show", asyncJID, "--out", "json")
			if strings.Count(r.stdout, `"k": "v"`) != 3 {
				return fmt.Errorf("jobs show:\n%s", r)
			}
			return nil
		})
		r = f.brine(t, "jobs", "list")
		if !strings.Contains(r.stdout, asyncJID+"  test.arg") || !strings.Contains(r.stdout, "3/3") {
			t.Errorf("jobs list:\n%s", r)
		}
	})

	t.Run("batch", func(t *testing.T) {
		r := f.brine(t, "-b", "1", "*", "test.ping", "--out", "json", "--static")
		if r.code != 0 || strings.Count(r.stderr, "Executing run on") != 3 || ids(returns(t, r)) != "db1,web1,web2" {
			t.Errorf("batch 1:\n%s", r)
		}
		r = f.brine(t, "-b", "50%", "*", "test.ping")
		if r.code != 0 || strings.Count(r.stderr, "Executing run on") != 2 {
			t.Errorf("batch 50%%:\n%s", r)
		}
	})

	t.Run("events", func(t *testing.T) {
		ev := exec.Command(brine, "events", "--json", "--count", "3", "--state-dir", f.state)
		var out bytes.Buffer
		ev.Stdout = &out
		if err := ev.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- ev.Wait() }()
		// Events are not replayed: ping until the watcher, once subscribed,
		// has seen a whole job (new + two returns) and exits.
		deadline := time.After(15 * time.Second)
	wait:
		for {
			f.ping(t, "-L", "web1,web2")
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				break wait
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				_ = ev.Process.Kill()
				t.Fatalf("brine events saw fewer than 3 events:\n%s", out.String())
			}
		}
		for _, want := range []string{`/new","data":{"arg":[],"fun":"test.ping"`, `{"tag":"brine/job/`, `/ret/web1"`, `/ret/web2"`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("events lack %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("minion killed mid-job", func(t *testing.T) {
		cli := exec.Command(brine, "*", "cmd.run", "sleep 3", "-t", "3", "--out", "json", "--static", "--state-dir", f.state)
		var out, errb bytes.Buffer
		cli.Stdout, cli.Stderr = &out, &errb
		if err := cli.Start(); err != nil {
			t.Fatal(err)
		}
		checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			if !strings.Contains(f.minions["db1"].logText(), "fun=cmd.run") {
				return fmt.Errorf("db1 has not started the job")
			}
			return nil
		})
		f.minions["db1"].kill()
		err := cli.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		var got map[string]any
		_ = json.Unmarshal(out.Bytes(), &got)
		if code != ExitMinionsFailed || got["db1"] != "Minion did not return. [No response]" || got["web1"] != "" || got["web2"] != "" {
			t.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
		// Restart it for the rest of the test.
		f.minions["db1"] = startProc(f.t, f.dir, "db1", "minion", "--config", filepath.Join(f.dir, "db1.yaml"))
		f.ready(t)
	})

	t.Run("master restart", func(t *testing.T) {
		// A job still running when the master goes away: its return is kept
		// by the minion and delivered once the master is back.
		r := f.brine(t, "--async", "web1", "test.sleep", "2")
		m := regexp.MustCompile(`(\d{20})`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatal(r)
		}
		sleeping := m[1]
		checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if !strings.Contains(f.minions["web1"].logText(), "jid="+sleeping+" fun=test.sleep") {
				return fmt.Errorf("web1 has not started %s", sleeping)
			}
			return nil
		})
		f.master.stop(t)
		checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			if !strings.Contains(f.minions["web1"].logText(), "keeping it to retry") {
				return fmt.Errorf("web1 did not spool its return:\n%s", f.minions["web1"].logText())
			}
			return nil
		})
		f.startMaster(t)
		f.ready(t)
		checkFor(t, 20*time.Second, 200*time.Millisecond, func() error {
			r := f.brine(t, "jobs", "show", sleeping, "--out", "json")
			if !strings.Contains(r.stdout, `"web1": true`) {
				return fmt.Errorf("the spooled return did not arrive:\n%s", r)
			}
			return nil
		})
		// The job cache from before the restart survives.
		r = f.brine(t, "jobs", "show", asyncJID, "--out", "json")
		if strings.Count(r.stdout, `"k": "v"`) != 3 {
			t.Errorf("jobs show after restart:\n%s", r)
		}
	})

	t.Run("delete cuts off", func(t *testing.T) {
		if r := f.brine(t, "key", "delete", "web2"); r.code != 0 || r.stdout != "Key for minion web2 deleted.\n" {
			t.Fatalf("key delete:\n%s", r)
		}
		// web2 comes back as pending and gets no job.
		checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			r := f.brine(t, "key", "list")
			if !strings.Contains(r.stdout, "Unaccepted Keys:\nweb2\n") {
				return fmt.Errorf("web2 not pending again:\n%s", r)
			}
			return nil
		})
		if got := ids(f.ping(t, "*")); got != "db1,web1" {
			t.Errorf("after deleting web2, '*' reached %s", got)
		}
	})
}

// TestFleetExternalNATS runs a master and two minions against a separate,
// real nats-server (built from its Go module) that the master configures
// through `brine master --print-nats-config` and serves as auth callout.
func TestFleetExternalNATS(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "master-state")
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	r := call(t, nil, "master", "--print-nats-config", "--state-dir", state)
	if r.code != 0 || !strings.Contains(r.stdout, "auth_callout") {
		t.Fatalf("--print-nats-config:\n%s", r)
	}
	port := freePort(t)
	writeTree(t, dir, map[string]string{
		"nats.conf":      fmt.Sprintf("listen: 127.0.0.1:%d\njetstream { store_dir: %q }\n%s", port, filepath.Join(dir, "js"), r.stdout),
		"master.yaml":    fmt.Sprintf("bus:\n  url: nats://127.0.0.1:%d\nfile_roots:\n  base: [salt]\npillar_roots:\n  base: [pillar]\nstate_dir: master-state\n", port),
		"salt/top.sls":   "base:\n  '*':\n    - hello\n",
		"salt/hello.sls": "hello:\n  file.managed:\n    - name: " + dir + "/out/{{ grains['id'] }}\n    - source: salt://hello.j2\n    - template: jinja\n    - makedirs: True\n",
		"salt/hello.j2":  "{{ grains['id'] }} says {{ pillar['word'] }}\n",
		"pillar/top.sls": "base:\n  'a1':\n    - a1\n  'b1':\n    - b1\n",
		"pillar/a1.sls":  "word: alpha\n",
		"pillar/b1.sls":  "word: beta\n",
		"a1.yaml":        fmt.Sprintf("id: a1\nmaster: 127.0.0.1:%d\nstate_dir: a1-state\nlog_level: info\n", port),
		"b1.yaml":        fmt.Sprintf("id: b1\nmaster: 127.0.0.1:%d\nstate_dir: b1-state\nlog_level: info\n", port),
	})
	nats := exec.Command(bin, "-c", filepath.Join(dir, "nats.conf"))
	natsLog, _ := os.Create(filepath.Join(dir, "nats.log"))
	nats.Stdout, nats.Stderr = natsLog, natsLog
	if err := nats.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = nats.Process.Kill()
		_ = nats.Wait()
		natsLog.Close()
	})
	checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		return c.Close()
	})
	m := startProc(t, dir, "master", "master", "--config", filepath.Join(dir, "master.yaml"))
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if _, err := os.Stat(filepath.Join(state, "master.url")); err != nil {
			return fmt.Errorf("master not ready:\n%s", m.logText())
		}
		return nil
	})
	for _, id := range []string{"a1", "b1"} {
		startProc(t, dir, id, "minion", "--config", filepath.Join(dir, id+".yaml"))
	}
	b := func(args ...string) result {
		return call(t, []string{"NO_COLOR=1"}, append(args, "--state-dir", state)...)
	}
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if r := b("key", "list"); !strings.Contains(r.stdout, "Unaccepted Keys:\na1\nb1\n") {
			return fmt.Errorf("keys not pending:\n%s", r)
		}
		return nil
	})
	if r := b("key", "accept", "--all"); r.code != 0 {
		t.Fatal(r)
	}
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if r := b("*", "test.ping", "-t", "2"); r.code != 0 {
			return fmt.Errorf("not all minions answer:\n%s", r)
		}
		return nil
	})
	if r := b("*", "state.apply"); r.code != 0 || strings.Count(r.stdout, "Succeeded: 1 (changed=1)") != 2 {
		t.Fatalf("state.apply:\n%s", r)
	}
	for id, want := range map[string]string{"a1": "a1 says alpha\n", "b1": "b1 says beta\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, "out", id)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", id, got, err)
		}
	}
	if r := b("jobs", "list"); !strings.Contains(r.stdout, "state.apply  *       2/2") {
		t.Errorf("jobs list:\n%s", r)
	}
}
