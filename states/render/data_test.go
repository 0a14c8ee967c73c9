package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTraverse(t *testing.T) {
	data := map[string]any{
		"a":     map[string]any{"b": map[string]any{"c": 1}},
		"list":  []any{"x", "y"},
		"dicts": []any{map[string]any{"k": "first"}, map[string]any{"k": "second", "j": 2}},
		"colon": map[string]any{"x:y": 3},
	}
	tests := []struct {
		key, delim string
		want       any
		ok         bool
	}{
		{"a:b:c", "", 1, true},
		{"a:b", ":", map[string]any{"c": 1}, true},
		{"a:x", "", nil, false},
		{"list:1", "", "y", true},
		{"list:5", "", nil, false},
		{"dicts:k", "", "first", true},
		{"dicts:j", "", 2, true},
		{"a/b/c", "/", 1, true},
		{"a:b:c:d", "", nil, false},
		{"nope", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, ok := Traverse(data, tc.key, tc.delim)
			if ok != tc.ok || !cmp.Equal(got, tc.want) {
				t.Errorf("Traverse(%q) = %v, %v; want %v, %v", tc.key, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFilterBy(t *testing.T) {
	grains := map[string]any{"os_family": "RedHat", "os": "Rocky", "roles": []any{"web", "db"}, "kernel": map[string]any{"major": 6}}
	lookup := map[string]any{
		"Debian":  map[string]any{"pkg": "apache2", "conf": map[string]any{"dir": "/etc/apache2"}},
		"RedHat":  map[string]any{"pkg": "httpd", "conf": map[string]any{"dir": "/etc/httpd"}},
		"default": map[string]any{"pkg": "apache"},
	}
	tests := []struct {
		name       string
		lookup     map[string]any
		grain      string
		merge      map[string]any
		defaultKey string
		want       any
	}{
		{"os_family by default", lookup, "", nil, "", lookup["RedHat"]},
		{"other grain falls back to default", lookup, "os", nil, "", map[string]any{"pkg": "apache"}},
		{"named default", lookup, "os", nil, "Debian", lookup["Debian"]},
		{"merge is deep", lookup, "os_family", map[string]any{"conf": map[string]any{"user": "apache"}}, "",
			map[string]any{"pkg": "httpd", "conf": map[string]any{"dir": "/etc/httpd", "user": "apache"}}},
		{"merge with no match", map[string]any{"Plan9": 1}, "", map[string]any{"x": 1}, "", map[string]any{"x": 1}},
		{"glob", map[string]any{"Red*": "glob", "Deb*": "other"}, "", nil, "", "glob"},
		{"list grain", map[string]any{"db": "database"}, "roles", nil, "", "database"},
		{"nested grain", map[string]any{"6": "six"}, "kernel:major", nil, "", "six"},
		{"nothing", map[string]any{"Plan9": 1}, "", nil, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FilterBy(grains, tc.lookup, tc.grain, tc.merge, tc.defaultKey)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("inputs are not modified", func(t *testing.T) {
		merge := map[string]any{"conf": map[string]any{"user": "apache"}}
		if _, err := FilterBy(grains, lookup, "", merge, ""); err != nil {
			t.Fatal(err)
		}
		if _, ok := lookup["RedHat"].(map[string]any)["conf"].(map[string]any)["user"]; ok {
			t.Error("FilterBy merged into the lookup table")
		}
	})

	t.Run("base", func(t *testing.T) {
		lk := map[string]any{"RedHat": map[string]any{"pkg": "httpd"}, "common": map[string]any{"pkg": "x", "port": 80}}
		got, err := FilterByBase(grains, lk, "", nil, "", "common")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]any{"pkg": "httpd", "port": 80}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if _, err := FilterByBase(grains, map[string]any{"RedHat": "str", "common": map[string]any{}}, "", nil, "", "common"); err == nil {
			t.Error("want an error merging a dict base into a string")
		}
	})
}

func TestMergeDeep(t *testing.T) {
	dest := map[string]any{"a": map[string]any{"x": 1, "l": []any{1}}, "b": 1}
	MergeDeep(dest, map[string]any{"a": map[string]any{"y": 2, "l": []any{2}}, "b": map[string]any{"now": "dict"}})
	want := map[string]any{"a": map[string]any{"x": 1, "y": 2, "l": []any{2}}, "b": map[string]any{"now": "dict"}}
	if diff := cmp.Diff(want, dest); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFnmatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"Deb*", "Debian", true},
		{"*", "a/b", true},
		{"Red?at", "RedHat", true},
		{"[DR]*", "Debian", true},
		{"[!DR]*", "Debian", false},
		{"a.b", "axb", false},
		{"[", "[", true}, // an unclosed bracket is literal, as in Python
		{"exact", "exact", true},
	}
	for _, tc := range tests {
		if got := fnmatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
