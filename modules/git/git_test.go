package git

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const lsRemote = `ref: refs/heads/main	HEAD
1111111111111111111111111111111111111111	HEAD
1111111111111111111111111111111111111111	refs/heads/main
2222222222222222222222222222222222222222	refs/heads/release
3333333333333333333333333333333333333333	refs/tags/v1.0
4444444444444444444444444444444444444444	refs/tags/v1.1
2222222222222222222222222222222222222222	refs/tags/v1.1^{}
`

func TestParseLsRemote(t *testing.T) {
	got := ParseLsRemote(lsRemote)
	want := Remote{
		HeadBranch: "main",
		Refs: map[string]string{
			"HEAD":               "1111111111111111111111111111111111111111",
			"refs/heads/main":    "1111111111111111111111111111111111111111",
			"refs/heads/release": "2222222222222222222222222222222222222222",
			"refs/tags/v1.0":     "3333333333333333333333333333333333333333",
			"refs/tags/v1.1":     "2222222222222222222222222222222222222222", // annotated: the commit, not the tag object
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseLsRemote (-want +got):\n%s", d)
	}
}

func TestResolve(t *testing.T) {
	r := ParseLsRemote(lsRemote)
	tests := []struct {
		rev               string
		sha, kind, branch string
		wantErr           bool
	}{
		{rev: "HEAD", sha: "1111111111111111111111111111111111111111", kind: KindHead, branch: "main"},
		{rev: "", sha: "1111111111111111111111111111111111111111", kind: KindHead, branch: "main"},
		{rev: "release", sha: "2222222222222222222222222222222222222222", kind: KindBranch, branch: "release"},
		{rev: "v1.1", sha: "2222222222222222222222222222222222222222", kind: KindTag},
		{rev: "ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD", sha: "abcdefabcdefabcdefabcdefabcdefabcdefabcd", kind: KindCommit},
		{rev: "abc123", wantErr: true},
		{rev: "no-such-branch", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.rev, func(t *testing.T) {
			sha, kind, branch, err := r.Resolve(tc.rev)
			if tc.wantErr {
				if !errors.Is(err, ErrNoRevision) {
					t.Errorf("Resolve = %v, want ErrNoRevision", err)
				}
				return
			}
			if err != nil || sha != tc.sha || kind != tc.kind || branch != tc.branch {
				t.Errorf("Resolve = %q %q %q %v; want %q %q %q", sha, kind, branch, err, tc.sha, tc.kind, tc.branch)
			}
		})
	}
	if _, _, _, err := (Remote{Refs: map[string]string{}}).Resolve("HEAD"); err == nil {
		t.Error("Resolve(HEAD) of an empty repository succeeded")
	}
}
