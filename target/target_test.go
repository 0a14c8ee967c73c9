package target

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestFnmatch(t *testing.T) {
	// Expected values are Python's fnmatch.fnmatchcase.
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"web*", "web01", true},
		{"web*", "Web01", false},
		{"web?1", "web01", true},
		{"web?1", "web1", false},
		{"web[0-9]", "web1", true},
		{"web[0-9]", "weba", false},
		{"web[!0-9]", "weba", true},
		{"web[!0-9]", "web1", false},
		{"[]]", "]", true},
		{"[]a]", "a", true},
		{"[!]a]", "a", false},
		{"[!]a]", "b", true},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[a-c-e]", "-", true},
		{"[a-c-e]", "d", false},
		{"[z-a]", "b", false},
		{"[z-ab]", "b", true},
		{"[x", "[x", true},
		{"[]", "[]", true},
		{"*", "a.b/c", true},
		{"*", "", true},
		{"?", "", false},
		{"a", "ab", false},
		{"*b", "aaab", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{`\`, `\`, true},
		{`a\*`, `a\x`, true},
		{"db[0-9][0-9].*", "db12.example.com", true},
		{"é*", "été", true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"~"+tc.name, func(t *testing.T) {
			if got := Fnmatch(tc.pattern, tc.name); got != tc.want {
				t.Errorf("Fnmatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
			}
		})
	}
}

func debian() Minion {
	return Minion{
		ID: "web01.example.com",
		Grains: map[string]any{
			"id":             "web01.example.com",
			"os":             "Debian",
			"os_family":      "Debian",
			"osrelease":      "12",
			"osmajorrelease": 12,
			"roles":          []any{"web", "cache"},
			"site":           map[string]any{"rack": "r12", "dc": map[string]any{"name": "fra1"}},
			"ipv4":           []any{"10.1.2.3", "127.0.0.1"},
			"ipv6":           []any{"::1", "fe80::1"},
			"virtual":        "kvm",
			"ssds":           []any{},
			"gpu":            false,
			"mounts":         []any{map[string]any{"path": "/srv", "fs": "xfs"}},
		},
		Pillar: map[string]any{
			"role":   "frontend",
			"webapp": map[string]any{"server": map[string]any{"port": 8443}},
			"tier":   "Prod",
		},
	}
}

func db() Minion {
	return Minion{
		ID: "db12",
		Grains: map[string]any{
			"os":        "CentOS Stream",
			"os_family": "RedHat",
			"roles":     []any{"db"},
			"ipv4":      []any{"192.168.7.12"},
		},
		Pillar: map[string]any{"role": "backend"},
	}
}

func TestMatch(t *testing.T) {
	groups := map[string]string{
		"webs":    "web*",
		"dbs":     "E@db\\d+",
		"all":     "N@webs or N@dbs",
		"named":   "web01.example.com db12",
		"debians": "G@os:Debian",
	}
	tests := []struct {
		name string
		kind Kind
		expr string
		m    Minion
		want bool
	}{
		{"glob star", Glob, "*", debian(), true},
		{"glob prefix", Glob, "web*", debian(), true},
		{"glob miss", Glob, "db*", debian(), false},
		{"glob set", Glob, "web0[0-9].*", debian(), true},
		{"default kind is glob", "", "web01.*", debian(), true},
		{"pcre anchored at start", PCRE, `web\d+`, debian(), true},
		{"pcre not anchored at end", PCRE, `web`, debian(), true},
		{"pcre not searched", PCRE, `example`, debian(), false},
		{"pcre full with $", PCRE, `web\d+$`, debian(), false},
		{"pcre alternation", PCRE, `db|web`, debian(), true},
		{"list hit", List, "a,web01.example.com,b", debian(), true},
		{"list with blanks", List, "a, web01.example.com", debian(), true},
		{"list is not a glob", List, "web*", debian(), false},
		{"list single", List, "db12", db(), true},
		{"grain", Grain, "os:Debian", debian(), true},
		{"grain case-insensitive", Grain, "os:debian", debian(), true},
		{"grain glob", Grain, "os:Deb*", debian(), true},
		{"grain miss", Grain, "os:RedHat", debian(), false},
		{"grain value with space", Grain, "os:CentOS Stream", db(), true},
		{"grain nested", Grain, "site:dc:name:fra*", debian(), true},
		{"grain key exists", Grain, "site:rack", debian(), true},
		{"grain list element", Grain, "roles:cache", debian(), true},
		{"grain list element glob", Grain, "roles:ca*", debian(), true},
		{"grain list miss", Grain, "roles:db", debian(), false},
		{"grain int", Grain, "osmajorrelease:12", debian(), true},
		{"grain bool", Grain, "gpu:False", debian(), true},
		{"grain value with colons", Grain, "ipv6:::1", debian(), true},
		{"grain wildcard top", Grain, "*:fra1", debian(), false},
		{"grain wildcard second level", Grain, "site:*:fra1", debian(), false},
		{"grain wildcard top hit", Grain, "*:Debian", debian(), true},
		{"grain wildcard second level hit", Grain, "site:*:r12", debian(), true},
		{"grain list of dicts", Grain, "mounts:fs:xfs", debian(), true},
		{"grain missing", Grain, "nope:x", debian(), false},
		{"grain empty list", Grain, "ssds:*", debian(), false},
		{"grain pcre", GrainPCRE, "os:(RedHat|Debian)", debian(), true},
		{"grain pcre anchored", GrainPCRE, "os:ebian", debian(), false},
		{"grain pcre list", GrainPCRE, `ipv4:10\.1\.`, debian(), true},
		{"grain pcre case", GrainPCRE, "os_family:REDHAT", db(), true},
		{"pillar", Pillar, "role:front*", debian(), true},
		{"pillar nested int", Pillar, "webapp:server:port:8443", debian(), true},
		{"pillar miss", Pillar, "role:backend", debian(), false},
		{"pillar pcre", PillarPCRE, "role:^(front|back)end$", db(), true},
		{"pillar exact", PillarExact, "tier:prod", debian(), true},
		{"pillar exact no glob", PillarExact, "tier:pro*", debian(), false},
		{"ipcidr network", IPCIDR, "10.1.0.0/16", debian(), true},
		{"ipcidr address", IPCIDR, "10.1.2.3", debian(), true},
		{"ipcidr loopback", IPCIDR, "127.0.0.0/8", debian(), true},
		{"ipcidr v6", IPCIDR, "fe80::/10", debian(), true},
		{"ipcidr miss", IPCIDR, "10.2.0.0/16", debian(), false},
		{"ipcidr other minion", IPCIDR, "192.168.7.0/24", db(), true},
		{"nodegroup glob", Nodegroup, "webs", debian(), true},
		{"nodegroup pcre", Nodegroup, "dbs", db(), true},
		{"nodegroup nested", Nodegroup, "all", db(), true},
		{"nodegroup nested miss", Nodegroup, "debians", db(), false},
		{"nodegroup names", Nodegroup, "named", db(), true},
		{"compound simple", Compound, "G@os:Debian and web*", debian(), true},
		{"compound bare word is glob", Compound, "web01.example.com", debian(), true},
		{"compound or", Compound, "db* or G@os:Debian", debian(), true},
		{"compound not", Compound, "not db*", debian(), true},
		{"compound leading not miss", Compound, "not web*", debian(), false},
		{"compound implicit and-not", Compound, "web* not G@os:Debian", debian(), false},
		{"compound implicit and-not hit", Compound, "* not G@os:RedHat", debian(), true},
		{"compound every engine", Compound, "G@os:Debian and P@os_family:Deb.* and I@role:frontend and J@role:^front and L@x,web01.example.com and S@10.1.0.0/16 and E@web\\d", debian(), true},
		{"compound custom delimiter", Compound, "G;@site;rack;r12", debian(), true},
		{"compound nodegroup", Compound, "N@dbs and not G@os:Debian", db(), true},
		{"compound parens", Compound, "( db* or web* ) and G@os:Debian", db(), false},
		{"compound parens hit", Compound, "( db* or web* ) and G@os:Debian", debian(), true},
		{"compound nested parens", Compound, "not ( ( db* ) or ( G@os:Red* ) )", debian(), true},
		{"compound not binds tighter than and", Compound, "not db* and web*", debian(), true},
		{"compound unknown engine is glob", Compound, "X@foo", Minion{ID: "X@foo"}, true},
		// Precedence: and binds tighter than or, as in Python.
		// "web* or db* and G@os:RedHat" = web* or (db* and RedHat).
		{"and before or (left)", Compound, "web* or db* and G@os:RedHat", debian(), true},
		// "db* and G@os:RedHat or web*" = (db* and RedHat) or web*.
		{"and before or (right)", Compound, "db* and G@os:RedHat or web*", debian(), true},
		// With or first evaluated left-to-right it would be (web* or db*) and
		// RedHat = false for debian; Python's precedence gives true.
		{"or is not left-assoc with and", Compound, "web* or db* and G@os:RedHat", debian(), true},
		{"parens override precedence", Compound, "( web* or db* ) and G@os:RedHat", debian(), false},
		// The example from Salt's docs.
		{"docs example web", Compound, `G@os:Debian and web* or L@a,b and not E@db\d+`, debian(), true},
		{"docs example list", Compound, `G@os:Debian and web* or L@a,b and not E@db\d+`, Minion{ID: "a"}, true},
		{"docs example list excluded", Compound, `G@os:Debian and web* or L@a,db12 and not E@db\d+`, db(), false},
		{"docs example other", Compound, `G@os:Debian and web* or L@a,b and not E@db\d+`, db(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Match(tc.kind, tc.expr, tc.m, groups)
			if err != nil {
				t.Fatalf("Match(%s, %q): %v", tc.kind, tc.expr, err)
			}
			if got != tc.want {
				t.Errorf("Match(%s, %q) on %s = %v, want %v", tc.kind, tc.expr, tc.m.ID, got, tc.want)
			}
		})
	}
}

func TestMatchIPsOverride(t *testing.T) {
	m := debian()
	m.IPs = []netip.Addr{netip.MustParseAddr("172.16.0.5")}
	for expr, want := range map[string]bool{"172.16.0.0/12": true, "10.1.2.3": false} {
		got, err := Match(IPCIDR, expr, m, nil)
		if err != nil || got != want {
			t.Errorf("Match(ipcidr, %q) = %v, %v; want %v", expr, got, err, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	groups := map[string]string{"loop": "N@loop2", "loop2": "web* or N@loop"}
	tests := []struct {
		name    string
		kind    Kind
		expr    string
		wantMsg string
	}{
		{"grain without value", Grain, "os", "key:value"},
		{"bad pcre", PCRE, "web(", "missing closing )"},
		{"empty pcre", PCRE, "", "empty"},
		{"bad grain pcre", GrainPCRE, "os:(Deb", "missing closing )"},
		{"bad cidr", IPCIDR, "10.0.0.0/33", "not an IP address"},
		{"host bits", IPCIDR, "10.0.0.1/24", "host bits"},
		{"unknown nodegroup", Nodegroup, "nope", `unknown nodegroup "nope"`},
		{"nodegroup cycle", Nodegroup, "loop", "nodegroup cycle: loop -> loop2 -> loop"},
		{"empty compound", Compound, "  ", "empty"},
		{"leading and", Compound, "and web*", `cannot start with "and"`},
		{"trailing or", Compound, "web* or", `ends after "or"`},
		{"adjacent operands", Compound, "web* db*", `expected 'and' or 'or' before "db*"`},
		{"unbalanced open", Compound, "( web* or db*", "unbalanced '('"},
		{"unbalanced close", Compound, "web* )", "unbalanced ')'"},
		{"glued parens", Compound, "(web* or db*)", "parentheses must be separate words"},
		{"and after paren", Compound, "( and web* )", `unexpected "and" after "("`},
		{"grain in compound", Compound, "web* and G@os", `"G@os": expected key:value`},
		{"empty engine", Compound, "G@", "empty G@ expression"},
		{"range", Compound, "R@%foo", "not supported"},
		{"bad engine regex", Compound, "E@web(", `"E@web(": bad regular expression`},
		{"unknown kind", Kind("data"), "x", "unknown match type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.kind, tc.expr, groups)
			if err == nil {
				t.Fatalf("Compile(%s, %q) succeeded, want error containing %q", tc.kind, tc.expr, tc.wantMsg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), tc.expr) {
				t.Errorf("error %q should name the expression %q and say %q", err, tc.expr, tc.wantMsg)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for _, s := range []string{"glob", "pcre", "grain", "grain_pcre", "list", "pillar", "pillar_pcre", "pillar_exact", "compound", "ipcidr", "nodegroup", " Grain "} {
		if _, err := ParseKind(s); err != nil {
			t.Errorf("ParseKind(%q): %v", s, err)
		}
	}
	if _, err := ParseKind("grains"); err == nil || !strings.Contains(err.Error(), "grain_pcre") {
		t.Errorf("ParseKind(grains) = %v, want an error listing the known kinds", err)
	}
}

func TestLookup(t *testing.T) {
	data := map[string]any{
		"a":     map[string]any{"b": map[string]any{"c": 1}},
		"list":  []any{"x", "y", "z"},
		"dicts": []any{map[string]any{"name": "one"}, map[string]any{"port": 80}},
		"str":   "text",
	}
	tests := []struct {
		path, delim string
		want        any
		found       bool
	}{
		{"a:b:c", "", 1, true},
		{"a.b.c", ".", 1, true},
		{"a:b:x", ":", nil, false},
		{"list:1", ":", "y", true},
		{"list:-1", ":", "z", true},
		{"list:3", ":", nil, false},
		{"list:x", ":", nil, false},
		{"dicts:port", ":", 80, true},
		{"dicts:0:name", ":", "one", true},
		{"str:x", ":", nil, false},
		{"missing", ":", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, ok := Lookup(data, tc.path, tc.delim)
			if ok != tc.found || got != tc.want {
				t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.found)
			}
		})
	}
}

func TestNodegroups(t *testing.T) {
	got, err := Nodegroups(map[string]any{
		"web":  "web* and G@os:Debian",
		"list": []any{"a", "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := Match(Nodegroup, "list", Minion{ID: "b"}, got)
	if err != nil || !ok {
		t.Errorf("list nodegroup: %v, %v", ok, err)
	}
	ok, err = Match(Compound, "N@web", debian(), got)
	if err != nil || !ok {
		t.Errorf("string nodegroup: %v, %v", ok, err)
	}
	if _, err := Nodegroups(map[string]any{"bad": 3}); err == nil {
		t.Error("a number as nodegroup should be refused")
	}
}

func TestMatchList(t *testing.T) {
	if !MatchList([]string{"a", "b"}, "b") || MatchList([]string{"a"}, "ab") {
		t.Error("MatchList compares whole IDs")
	}
}

func BenchmarkCompoundMatch(b *testing.B) {
	e, err := Compile(Compound, `G@os:Debian and web* or L@a,b and not E@db\d+`, nil)
	if err != nil {
		b.Fatal(err)
	}
	m := debian()
	for b.Loop() {
		e.Match(m)
	}
}
