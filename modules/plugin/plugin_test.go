package plugin

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValuesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"int stays int", 644, 644},
		{"float stays float", 1.5, 1.5},
		{"big int", int64(1) << 53, 1 << 53},
		{"nested", map[string]any{"a": []any{1, "x", true, nil, map[string]any{"b": 2.25}}},
			map[string]any{"a": []any{1, "x", true, nil, map[string]any{"b": 2.25}}}},
		{"string that looks like a number", "0644", "0644"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("round trip of %v (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	if _, err := encode(make(chan int)); err == nil {
		t.Errorf("a channel was encoded")
	}
	if _, err := decodeMap([]byte(`[1]`)); err == nil {
		t.Errorf("a list was read as a mapping")
	}
	if _, err := decode([]byte(`{} {}`)); err == nil {
		t.Errorf("trailing data was accepted")
	}
}

func TestCheckArgs(t *testing.T) {
	f := &Function{Name: "ini.options_present", Kind: KindState, Args: []Arg{
		{Name: "sections", Type: TypeMap}, {Name: "separator", Type: TypeString}, {Name: "strict", Type: TypeBool},
		{Name: "retries", Type: TypeInt}, {Name: "ratio", Type: TypeFloat}, {Name: "tags", Type: TypeList}, {Name: "extra"},
	}}
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"sections": map[string]any{}, "separator": " = ", "strict": "yes", "retries": "3", "ratio": 1, "tags": "one", "extra": []any{}}, ""},
		{map[string]any{"strict": nil}, ""},
		{map[string]any{"sectons": map[string]any{}}, "unknown argument 'sectons'"},
		{map[string]any{"sections": "a=b"}, "argument 'sections': expected a mapping"},
		{map[string]any{"strict": "maybe"}, "argument 'strict': expected a boolean"},
		{map[string]any{"retries": 1.5}, "argument 'retries': expected an integer"},
		{map[string]any{"ratio": "fast"}, "argument 'ratio': expected a number"},
		{map[string]any{"tags": map[string]any{}}, "argument 'tags': expected a list"},
		{map[string]any{"separator": []any{"="}}, "argument 'separator': expected a string, got a list"},
	} {
		err := f.CheckArgs(tc.args)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckArgs(%v) = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestInfoCheck(t *testing.T) {
	good := func() *Info {
		return &Info{Name: "ini", ProtocolVersion: ProtocolVersion, Functions: []Function{
			{Name: "ini.get_option", Kind: KindExec}, {Name: "ini.get_option", Kind: KindState},
		}}
	}
	if err := good().Check(); err != nil {
		t.Fatalf("a good info: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Info)
		want   string
	}{
		{"protocol", func(i *Info) { i.ProtocolVersion = 2 }, "protocol version 2"},
		{"name", func(i *Info) { i.Name = "a b" }, "invalid plugin name"},
		{"function name", func(i *Info) { i.Functions[0].Name = "get_option" }, "invalid function name"},
		{"kind", func(i *Info) { i.Functions[0].Kind = "other" }, "unknown kind"},
		{"duplicate", func(i *Info) { i.Functions[1].Kind = KindExec }, "declared twice"},
		{"arg type", func(i *Info) { i.Functions[0].Args = []Arg{{Name: "x", Type: "dict"}} }, "unknown type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := good()
			tc.change(i)
			if err := i.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}
