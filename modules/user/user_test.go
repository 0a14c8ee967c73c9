package user

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	in := `root:x:0:0:root:/root:/bin/bash
deploy:x:2001:2001:Deploy User,Room 1,555-1,555-2,on call, nights:/srv/deploy:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
# comment
bad:x:abc:1::/:/bin/sh
short:x:1:1
svc:x:999:999::/var/lib/svc:/usr/sbin/nologin
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{Name: "root", Passwd: "x", UID: 0, GID: 0, Fullname: "root", Home: "/root", Shell: "/bin/bash"},
		{Name: "deploy", Passwd: "x", UID: 2001, GID: 2001, Fullname: "Deploy User", RoomNumber: "Room 1",
			WorkPhone: "555-1", HomePhone: "555-2", Other: "on call, nights", Home: "/srv/deploy", Shell: "/bin/bash"},
		{Name: "nobody", Passwd: "x", UID: 65534, GID: 65534, Fullname: "nobody", Home: "/nonexistent", Shell: "/usr/sbin/nologin"},
		{Name: "svc", Passwd: "x", UID: 999, GID: 999, Home: "/var/lib/svc", Shell: "/usr/sbin/nologin"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
	if g := got[1].GECOS(); g != "Deploy User,Room 1,555-1,555-2,on call, nights" {
		t.Errorf("GECOS round trip = %q", g)
	}
}

func TestJoinGECOS(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"Deploy", "", "", "", ""}, "Deploy"},
		{[]string{"", "", "555", "", ""}, ",,555"},
		{[]string{"", "", "", "", ""}, ""},
		{[]string{"A", "B", "C", "D", "E"}, "A,B,C,D,E"},
	}
	for _, tc := range tests {
		if got := JoinGECOS(tc.parts...); got != tc.want {
			t.Errorf("JoinGECOS(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}

func TestParseShadow(t *testing.T) {
	in := "root:*:19000:0:99999:7:::\ndeploy:$6$salt$hash:19000:0:99999:7:::\nnopw::19000::::::\n"
	got, err := ParseShadow(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"root": "*", "deploy": "$6$salt$hash", "nopw": ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseShadow (-want +got):\n%s", d)
	}
}

func TestSpecFlags(t *testing.T) {
	uid := 2001
	groups := []string{"sudo", "www-data"}
	gecos := "Deploy User"
	pw := "$6$x$y"
	s := Spec{UID: &uid, NonUnique: true, GID: "deploy", Groups: &groups, Home: "/srv/deploy", Shell: "/bin/bash", GECOS: &gecos, Password: &pw}
	want := []string{"-u", "2001", "-o", "-g", "deploy", "-G", "sudo,www-data", "-d", "/srv/deploy", "-s", "/bin/bash", "-c", "Deploy User", "-p", "$6$x$y"}
	if d := cmp.Diff(want, s.flags()); d != "" {
		t.Errorf("flags (-want +got):\n%s", d)
	}
	if f := (Spec{}).flags(); len(f) != 0 {
		t.Errorf("empty spec flags = %v, want none", f)
	}
}
