package bus

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nkeys"
)

func masterKey(t *testing.T) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := nkeys.CreateServer()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return kp, pub
}

func signed(t *testing.T, kp nkeys.KeyPair, jid string, issued time.Time) []byte {
	t.Helper()
	b, err := Sign(kp, &Job{JID: jid, Fun: "test.ping", Target: Target{Kind: "glob", Expr: "*"}, Issued: issued, Expires: issued.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	kp, pub := masterKey(t)
	other, _ := masterKey(t)
	now := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	good := signed(t, kp, "20261125210000000001", now)

	tamper := func(b []byte) []byte {
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		env.Payload = []byte(strings.Replace(string(env.Payload), "test.ping", "cmd.run", 1))
		out, _ := json.Marshal(env)
		return out
	}
	unsign := func(b []byte) []byte {
		var env Envelope
		_ = json.Unmarshal(b, &env)
		env.Sig = nil
		out, _ := json.Marshal(env)
		return out
	}
	// A job signed by another key but claiming to be from the pinned one.
	forged := func() []byte {
		payload, _ := json.Marshal(Job{JID: "20261125210000000009", Fun: "cmd.run", Master: pub, Issued: now, Expires: now.Add(time.Minute)})
		sig, _ := other.Sign(payload)
		out, _ := json.Marshal(Envelope{Payload: payload, Sig: sig})
		return out
	}

	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"valid", good, nil},
		{"garbage", []byte("{not json"), ErrMalformed},
		{"empty envelope", []byte("{}"), ErrMalformed},
		{"unsigned", unsign(signed(t, kp, "20261125210000000002", now)), ErrUnsigned},
		{"tampered", tamper(signed(t, kp, "20261125210000000003", now)), ErrBadSignature},
		{"other master", signed(t, other, "20261125210000000004", now), ErrWrongKey},
		{"forged signature", forged(), ErrBadSignature},
		{"expired", signed(t, kp, "20261125205800000000", now.Add(-2*time.Minute)), ErrExpired},
		{"issued in the future", signed(t, kp, "20261125211000000000", now.Add(10*time.Minute)), ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Master: pub, MaxSkew: time.Minute, Now: clock}
			job, err := v.Verify(tc.msg)
			if tc.want == nil {
				if err != nil || job.Fun != "test.ping" {
					t.Fatalf("Verify = %v, %v; want the job", job, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("replay", func(t *testing.T) {
		v := &Verifier{Master: pub, Now: clock}
		if _, err := v.Verify(good); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(good); !errors.Is(err, ErrReplayed) {
			t.Fatalf("second Verify error = %v, want ErrReplayed", err)
		}
		// Once the first copy has expired, the JID is forgotten, but the
		// replayed message is then refused as expired.
		now = now.Add(2 * time.Minute)
		if _, err := v.Verify(good); !errors.Is(err, ErrExpired) {
			t.Fatalf("late replay error = %v, want ErrExpired", err)
		}
		if len(v.seen) != 0 {
			t.Errorf("expired JIDs are still remembered: %v", v.seen)
		}
	})
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"web1", "web1.example.com", "db_2", "A-b.c", "x"} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for id, want := range map[string]string{
		"":                       "empty",
		"a/b":                    "path separator",
		"../etc":                 `".."`,
		"a..b":                   `".."`,
		".":                      `starts with "."`,
		"..":                     `".."`,
		".hidden":                `starts with "."`,
		"-flag":                  `starts with "-"`,
		"web 1":                  "white space",
		"web*":                   "wildcard",
		"a>":                     "wildcard",
		"a~b":                    `'~'`,
		"$master":                `'$'`,
		"trail.":                 `ends with "."`,
		"é":                      `'é'`,
		strings.Repeat("a", 254): "longer than",
	} {
		err := ValidateID(id)
		if !errors.Is(err, ErrInvalidID) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateID(%q) = %v, want an error containing %q", id, err, want)
		}
	}
}

func TestSubjects(t *testing.T) {
	id := "web1.example.com"
	if got := ReturnSubject("20261125210000000001", id); got != "brine.ret.20261125210000000001.web1~example~com" {
		t.Errorf("ReturnSubject = %s", got)
	}
	jid, back, ok := ParseReturn(ReturnSubject("20261125210000000001", id))
	if !ok || jid != "20261125210000000001" || back != id {
		t.Errorf("ParseReturn = %s %s %v", jid, back, ok)
	}
	for _, bad := range []string{"brine.ret.x.web1", "brine.ret.20261125210000000001", "brine.ret.20261125210000000001.a.b", "brine.ret.20261125210000000001.a*"} {
		if _, _, ok := ParseReturn(bad); ok {
			t.Errorf("ParseReturn(%q) accepted", bad)
		}
	}
	rid, op, ok := ParseRequest(RequestSubject(id, OpFileRead))
	if !ok || rid != id || op != OpFileRead {
		t.Errorf("ParseRequest = %s %s %v", rid, op, ok)
	}
	src, tag, ok := ParseEvent(MasterEvent("job.new"))
	if !ok || src != "master" || tag != "job.new" {
		t.Errorf("ParseEvent(master) = %s %s %v", src, tag, ok)
	}
	src, tag, ok = ParseEvent(EventSubject(id, "start"))
	if !ok || src != id || tag != "start" {
		t.Errorf("ParseEvent = %s %s %v", src, tag, ok)
	}
	// One minion's permissions never cover another's subjects, even when
	// one ID is a dotted prefix of the other.
	pub, sub := MinionPermissions("a")
	for _, s := range append(pub, sub...) {
		if strings.Contains(s, "a~b") || strings.HasSuffix(s, ".a.>") && strings.HasPrefix(RequestSubject("a.b", "pillar"), strings.TrimSuffix(s, ">")) {
			t.Errorf("permission %s of minion a covers minion a.b", s)
		}
	}
}

func TestJIDs(t *testing.T) {
	var g JIDs
	now := time.Date(2026, 11, 25, 21, 14, 59, 123456000, time.UTC)
	a, b := g.Next(now), g.Next(now)
	if a != "20261125211459123456" || b != "20261125211459123457" {
		t.Errorf("JIDs = %s, %s", a, b)
	}
	ts, err := JIDTime(a)
	if err != nil || !ts.Equal(now) {
		t.Errorf("JIDTime(%s) = %v, %v", a, ts, err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "minion.nk")
	kp, err := LoadOrCreateKey(path, nkeys.PrefixByteUser)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	again, err := LoadOrCreateKey(path, nkeys.PrefixByteUser)
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := kp.PublicKey()
	p2, _ := again.PublicKey()
	if p1 != p2 || !strings.HasPrefix(p1, "U") {
		t.Errorf("reloaded key %s, first %s", p2, p1)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("LoadKey on a 0644 seed = %v", err)
	}
	if fp := Fingerprint(p1); len(fp) != 95 || strings.Count(fp, ":") != 31 {
		t.Errorf("Fingerprint = %s", fp)
	}
}

func TestUnmarshalKeepsIntegers(t *testing.T) {
	var got map[string]any
	if err := Unmarshal([]byte(`{"port": 8080, "ratio": 1.5, "big": 1e300, "list": [1, {"n": -2}], "s": "3"}`), &got, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"port": 8080, "ratio": 1.5, "big": 1e300, "list": []any{1, map[string]any{"n": -2}}, "s": "3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unmarshal (-want +got):\n%s", diff)
	}
	if err := Unmarshal([]byte(`{"a": 1} {"b": 2}`), &got, true); err == nil {
		t.Error("trailing data accepted in strict mode")
	}
	var req PillarRequest
	if err := Unmarshal([]byte(`{"grains": {"num_cpus": 4}, "extra": 1}`), &req, true); err == nil {
		t.Error("unknown field accepted in strict mode")
	}
	kp, pub := masterKey(t)
	now := time.Now()
	msg, err := Sign(kp, &Job{JID: "20261125210000000001", Fun: "state.apply", Kwargs: map[string]any{"port": 8080},
		Issued: now, Expires: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	job, err := (&Verifier{Master: pub}).Verify(msg)
	if err != nil || job.Kwargs["port"] != 8080 {
		t.Errorf("job kwargs after the bus: %#v, %v", job.Kwargs, err)
	}
}
