package group

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	in := `root:x:0:
# a comment
sudo:x:27:alice,bob
www-data:x:33:
broken:x:notanumber:
short:x:5
+nisgroup::0:
deploy:!:2000: carol , dave
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{
		{Name: "root", Passwd: "x", GID: 0, Members: []string{}},
		{Name: "sudo", Passwd: "x", GID: 27, Members: []string{"alice", "bob"}},
		{Name: "www-data", Passwd: "x", GID: 33, Members: []string{}},
		{Name: "deploy", Passwd: "!", GID: 2000, Members: []string{"carol", "dave"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
	info := want[1].Info()
	wantInfo := map[string]any{"name": "sudo", "passwd": "x", "gid": 27, "members": []any{"alice", "bob"}}
	if d := cmp.Diff(wantInfo, info); d != "" {
		t.Errorf("Info (-want +got):\n%s", d)
	}
}

func TestSplitMembers(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"a,b", "c"}, []string{"a", "b", "c"}},
		{[]string{" a , ,b "}, []string{"a", "b"}},
		{[]string{""}, nil},
		{nil, nil},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, "|"), func(t *testing.T) {
			if d := cmp.Diff(tc.want, SplitMembers(tc.in)); d != "" {
				t.Errorf("SplitMembers (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{"deploy": true, "www-data": true, "": false, "-r": false, "a:b": false, "a b": false, "a,b": false} {
		if err := validName(name); (err == nil) != ok {
			t.Errorf("validName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
