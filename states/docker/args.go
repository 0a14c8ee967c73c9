package docker

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/docker/go-units"

	"github.com/brine-cm/brine/api"
)

// KV is a list of key/value pairs written any way Salt accepts them for
// environment, labels, log options and build arguments: a mapping, a list
// of "KEY=value" strings, a list of one-key mappings, or bare names (an
// empty value). Later entries win.
type KV struct {
	Set  bool
	Keys []string
	Vals map[string]string
}

// UnmarshalArg implements api.ArgUnmarshaler.
func (kv *KV) UnmarshalArg(v any) error {
	*kv = KV{Set: true, Vals: map[string]string{}}
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := kv.addValue(k, x[k]); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for _, item := range x {
			switch it := item.(type) {
			case map[string]any:
				if len(it) != 1 {
					return fmt.Errorf("expected one KEY: value per list item, got %d keys", len(it))
				}
				for k, val := range it {
					if err := kv.addValue(k, val); err != nil {
						return err
					}
				}
			default:
				s, ok := api.ScalarString(it)
				if !ok {
					return fmt.Errorf("expected KEY=value, got %v", item)
				}
				kv.addPair(s)
			}
		}
		return nil
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				kv.addPair(s)
			}
		}
		return nil
	}
	return fmt.Errorf("expected a mapping or a list of KEY=value, got %T", v)
}

func (kv *KV) addValue(k string, v any) error {
	s, ok := api.ScalarString(v)
	if !ok {
		return fmt.Errorf("value of '%s' must be a scalar", k)
	}
	kv.put(k, s)
	return nil
}

func (kv *KV) addPair(s string) {
	k, v, _ := strings.Cut(s, "=")
	kv.put(strings.TrimSpace(k), v)
}

func (kv *KV) put(k, v string) {
	if kv.Vals == nil {
		kv.Vals = map[string]string{}
	}
	if _, dup := kv.Vals[k]; !dup {
		kv.Keys = append(kv.Keys, k)
	}
	kv.Vals[k] = v
}

// Map returns the pairs as a map (nil when none were given).
func (kv KV) Map() map[string]string {
	if len(kv.Vals) == 0 {
		return nil
	}
	out := make(map[string]string, len(kv.Vals))
	for k, v := range kv.Vals {
		out[k] = v
	}
	return out
}

// merge returns kv with other's pairs added over it.
func (kv KV) merge(other KV) KV {
	out := KV{Set: kv.Set || other.Set}
	for _, k := range kv.Keys {
		out.put(k, kv.Vals[k])
	}
	for _, k := range other.Keys {
		out.put(k, other.Vals[k])
	}
	return out
}

// Cmd is a command or entrypoint: a list of words, or a string split the
// way a POSIX shell would split it (quotes and backslashes), as Salt does.
type Cmd struct {
	Set  bool
	Args []string
}

// UnmarshalArg implements api.ArgUnmarshaler.
func (c *Cmd) UnmarshalArg(v any) error {
	*c = Cmd{Set: true}
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		for _, item := range x {
			s, ok := api.ScalarString(item)
			if !ok {
				return fmt.Errorf("expected a list of words, got %v", item)
			}
			c.Args = append(c.Args, s)
		}
		return nil
	default:
		s, ok := api.ScalarString(v)
		if !ok {
			return fmt.Errorf("expected a string or a list, got %T", v)
		}
		words, err := shellSplit(s)
		if err != nil {
			return err
		}
		c.Args = words
		return nil
	}
}

// shellSplit splits s into words like a POSIX shell, without expansion.
func shellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Size is a memory amount: bytes, or a number with a unit as the Docker
// CLI takes it ("512m", "1g").
type Size struct {
	Set   bool
	Bytes int64
}

// UnmarshalArg implements api.ArgUnmarshaler.
func (s *Size) UnmarshalArg(v any) error {
	if n, ok := api.Int(v); ok {
		*s = Size{Set: true, Bytes: n}
		return nil
	}
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a size such as 512m, got %T", v)
	}
	n, err := units.RAMInBytes(strings.TrimSpace(str))
	if err != nil {
		return fmt.Errorf("expected a size such as 512m: %w", err)
	}
	*s = Size{Set: true, Bytes: n}
	return nil
}

// NetSpec is one network a container is attached to.
type NetSpec struct {
	Name        string
	Aliases     []string
	IPv4Address string
	IPv6Address string
	Links       []string
}

// Networks is docker_container.running's networks argument, in Salt's
// forms:
//
//	networks:
//	  - net1
//	  - net2:
//	    - aliases: [web, www]
//	    - ipv4_address: 10.0.0.5
type Networks struct {
	Set  bool
	Nets []NetSpec
}

// netOptions are the per-network settings, decoded strictly.
type netOptions struct {
	Aliases     []string
	IPv4Address string `arg:"ipv4_address"`
	IPv6Address string `arg:"ipv6_address"`
	Links       []string
}

// UnmarshalArg implements api.ArgUnmarshaler.
func (n *Networks) UnmarshalArg(v any) error {
	*n = Networks{Set: true}
	var items []any
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		items = x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			items = append(items, map[string]any{k: x[k]})
		}
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
	default:
		return fmt.Errorf("expected a list of networks, got %T", v)
	}
	seen := map[string]bool{}
	for _, item := range items {
		var spec NetSpec
		switch it := item.(type) {
		case string:
			spec.Name = it
		case map[string]any:
			if len(it) != 1 {
				return errors.New("each network is a name or a one-key mapping of name to options")
			}
			for name, opts := range it {
				spec.Name = name
				o, err := decodeNetOptions(name, opts)
				if err != nil {
					return err
				}
				spec.Aliases, spec.IPv4Address, spec.IPv6Address, spec.Links = o.Aliases, o.IPv4Address, o.IPv6Address, o.Links
			}
		default:
			return fmt.Errorf("expected a network name, got %v", item)
		}
		if spec.Name == "" || seen[spec.Name] {
			return fmt.Errorf("network '%s' is empty or given twice", spec.Name)
		}
		seen[spec.Name] = true
		n.Nets = append(n.Nets, spec)
	}
	return nil
}

func decodeNetOptions(name string, v any) (netOptions, error) {
	m := map[string]any{}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		m = x
	case []any: // Salt's list of one-key mappings
		for _, item := range x {
			im, ok := item.(map[string]any)
			if !ok {
				return netOptions{}, fmt.Errorf("network '%s': expected option mappings, got %v", name, item)
			}
			for k, val := range im {
				m[k] = val
			}
		}
	default:
		return netOptions{}, fmt.Errorf("network '%s': expected options, got %v", name, v)
	}
	var o netOptions
	if err := api.Decode(m, &o); err != nil {
		return o, fmt.Errorf("network '%s': %w", name, err)
	}
	return o, nil
}

// splitList splits comma-separated items, as Salt accepts "80,443" for a
// list of ports.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// strs converts a string list to the plain []any the outputters print.
func strs(in []string) []any {
	if in == nil {
		return nil
	}
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

// strMap converts a string map to the plain map the outputters print.
func strMap(in map[string]string) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// sorted returns a sorted copy.
func sorted(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return out
}
