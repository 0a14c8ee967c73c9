package cmd

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/brine-cm/brine/api"
)

// Options are the process arguments shared by the cmd.* execution functions
// and the cmd.* states, decoded strictly from SLS or CLI arguments. Embed it
// in an argument struct and call Spec.
type Options struct {
	Cwd   string
	Runas string
	Group string
	Shell string
	// Env is a mapping or a list of single-key mappings (Salt's usual
	// spelling), merged over the current environment.
	Env         EnvVars
	ClearEnv    bool   `arg:"clean_env"`
	PrependPath string `arg:"prepend_path"`
	Umask       *api.Mode
	// Timeout is in seconds; 0 means none.
	Timeout           float64
	Stdin             *string
	HideOutput        bool       `arg:"hide_output"`
	IgnoreRetcode     bool       `arg:"ignore_retcode"`
	SuccessRetcodes   IntList    `arg:"success_retcodes"`
	SuccessStdout     StringList `arg:"success_stdout"`
	SuccessStderr     StringList `arg:"success_stderr"`
	ResetSystemLocale *bool      `arg:"reset_system_locale"`
	Rstrip            *bool
	// Accepted for compatibility with Salt SLS files; they change nothing
	// in brine (no VT, logging is the minion's, output is UTF-8).
	OutputLoglevel string `arg:"output_loglevel"`
	UseVT          bool   `arg:"use_vt"`
	OutputEncoding string `arg:"output_encoding"`
}

// ShellFor is the shell used when a state or call names none: the `shell`
// grain when it names an executable (Salt's default, usually the $SHELL
// brine started with), else DefaultShell.
func ShellFor(env *api.Env) string {
	if env != nil {
		if sh, ok := env.Grains["shell"].(string); ok && strings.HasPrefix(sh, "/") && executable(sh) {
			return sh
		}
	}
	return DefaultShell
}

// Spec turns the options into a process spec for a shell command line.
func (o *Options) Spec(command string) (Spec, error) {
	s := Spec{
		Command:         command,
		Shell:           o.Shell,
		Cwd:             o.Cwd,
		Env:             o.Env,
		ClearEnv:        o.ClearEnv,
		PrependPath:     o.PrependPath,
		Runas:           o.Runas,
		Group:           o.Group,
		Stdin:           o.Stdin,
		HideOutput:      o.HideOutput,
		SuccessRetcodes: o.SuccessRetcodes,
		SuccessStdout:   o.SuccessStdout,
		SuccessStderr:   o.SuccessStderr,
	}
	if o.Umask != nil {
		if *o.Umask == 0 {
			return Spec{}, fmt.Errorf("zero umask is not allowed")
		}
		if *o.Umask > 0o777 {
			return Spec{}, fmt.Errorf("invalid umask: '%s'", o.Umask)
		}
		m := fs.FileMode(*o.Umask)
		s.Umask = &m
	}
	if o.Timeout < 0 {
		return Spec{}, fmt.Errorf("timeout must not be negative, got %v", o.Timeout)
	}
	s.Timeout = time.Duration(o.Timeout * float64(time.Second))
	if o.ResetSystemLocale != nil && !*o.ResetSystemLocale {
		s.KeepLocale = true
	}
	if o.Rstrip != nil && !*o.Rstrip {
		s.KeepTrailingSpace = true
	}
	return s, nil
}

// EnvVars is an `env` argument. It accepts a mapping, a list of mappings
// (`- GREETING: bonjour`), and KEY=VALUE strings. Values are taken
// literally ($PATH is not expanded); a null value becomes "", as in Salt.
type EnvVars map[string]string

// UnmarshalArg implements api.ArgUnmarshaler.
func (e *EnvVars) UnmarshalArg(v any) error {
	m, err := ParseEnv(v)
	if err != nil {
		return err
	}
	*e = m
	return nil
}

// ParseEnv reads an env value as written in an SLS file or on the command
// line: nil, a mapping, a list of mappings or of KEY=VALUE strings, or one
// KEY=VALUE string.
func ParseEnv(v any) (map[string]string, error) {
	out := map[string]string{}
	var add func(item any) error
	add = func(item any) error {
		switch x := item.(type) {
		case nil:
			return nil
		case map[string]any:
			for k, val := range x {
				s, ok := api.ScalarString(val)
				if !ok {
					return fmt.Errorf("env variable %s: expected a string value, got a %T", k, val)
				}
				out[k] = s
			}
		case string:
			k, val, ok := strings.Cut(x, "=")
			if !ok || k == "" {
				return fmt.Errorf("env entry %q is not KEY=VALUE", x)
			}
			out[k] = val
		case []any:
			for _, it := range x {
				if _, nested := it.([]any); nested {
					return fmt.Errorf("env: expected a mapping or a list of mappings, got a nested list")
				}
				if err := add(it); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("env: expected a mapping or a list of mappings, got %T", item)
		}
		return nil
	}
	if err := add(v); err != nil {
		return nil, err
	}
	return out, nil
}

// IntList is a list of integers that also reads a single integer or a
// comma-separated string ("2, 3"), like Salt's split_input.
type IntList []int

// UnmarshalArg implements api.ArgUnmarshaler.
func (l *IntList) UnmarshalArg(v any) error {
	var items []any
	switch x := v.(type) {
	case nil:
		*l = nil
		return nil
	case []any:
		items = x
	case string:
		for _, f := range strings.Split(x, ",") {
			items = append(items, strings.TrimSpace(f))
		}
	default:
		items = []any{x}
	}
	out := make(IntList, 0, len(items))
	for _, it := range items {
		n, ok := api.Int(it)
		if !ok {
			return fmt.Errorf("expected a list of integers, got %v", it)
		}
		out = append(out, int(n))
	}
	*l = out
	return nil
}

// StringList is a list of strings that also reads one comma-separated
// string, like Salt's split_input.
type StringList []string

// UnmarshalArg implements api.ArgUnmarshaler.
func (l *StringList) UnmarshalArg(v any) error {
	switch x := v.(type) {
	case nil:
		*l = nil
	case string:
		var out StringList
		for _, f := range strings.Split(x, ",") {
			out = append(out, strings.TrimSpace(f))
		}
		*l = out
	case []any:
		out := make(StringList, 0, len(x))
		for _, it := range x {
			s, ok := api.ScalarString(it)
			if !ok {
				return fmt.Errorf("expected a list of strings, got %v", it)
			}
			out = append(out, s)
		}
		*l = out
	default:
		s, ok := api.ScalarString(x)
		if !ok {
			return fmt.Errorf("expected a list of strings, got %v", x)
		}
		*l = StringList{s}
	}
	return nil
}

// Command is a command argument: a string (run through the shell) or a list
// (executed directly, no shell).
type Command struct {
	Line string
	Argv []string
}

// UnmarshalArg implements api.ArgUnmarshaler.
func (c *Command) UnmarshalArg(v any) error {
	switch x := v.(type) {
	case []any:
		c.Argv = make([]string, 0, len(x))
		for _, it := range x {
			s, ok := api.ScalarString(it)
			if !ok {
				return fmt.Errorf("expected a command line or a list of strings, got %v", it)
			}
			c.Argv = append(c.Argv, s)
		}
		if len(c.Argv) == 0 {
			return fmt.Errorf("empty command")
		}
	default:
		s, ok := api.ScalarString(x)
		if !ok || strings.TrimSpace(s) == "" {
			return fmt.Errorf("expected a command line, got %v", x)
		}
		c.Line = s
	}
	return nil
}
