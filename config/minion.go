// Package config reads brine's configuration files. The minion file keeps
// Salt's key names (file_roots, pillar_roots, state_output...) so that a Salt
// user's minion config mostly carries over, but it is read strictly: a key
// brine does not know is an error naming the file, the key and the line,
// rather than a setting silently ignored.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/states/render"
)

// DefaultMinionPath is read when no --config is given; it may be absent.
const DefaultMinionPath = "/etc/brine/minion.yaml"

// Minion is the minion (and masterless `brine call`) configuration.
type Minion struct {
	// ID is the minion ID; the host name when not set.
	ID string `yaml:"id"`
	// Master is host:port of the master, for the networked minion.
	Master string `yaml:"master"`
	// FileRoots maps saltenv to the directories serving salt:// (Salt's
	// file_roots). Relative directories are read from the config file's
	// directory.
	FileRoots map[string][]string `yaml:"file_roots"`
	// PillarRoots maps saltenv to the pillar tree directories.
	PillarRoots map[string][]string `yaml:"pillar_roots"`
	// Grains are static grains, merged over the collected ones.
	Grains map[string]any `yaml:"-"`
	// StateDir holds the minion's own state (keys, caches). Plugins synced
	// from the master live in its plugins/ directory.
	StateDir string `yaml:"state_dir"`
	// PluginDirs are more directories of plugin executables, searched
	// before <state_dir>/plugins. Relative ones are read from the config
	// file's directory.
	PluginDirs []string `yaml:"plugin_dirs"`
	// StateTimeout bounds each state function; 0 means the engine default.
	StateTimeout Duration `yaml:"state_timeout"`
	// LogLevel is Salt's level name: trace, debug, info, warning, error,
	// critical or quiet.
	LogLevel string `yaml:"log_level"`
	// Test makes every state run a dry run unless test=False is passed.
	Test bool `yaml:"test"`
	// Saltenv is the default file server environment.
	Saltenv string `yaml:"saltenv"`
	// Failhard stops a state run at the first failure.
	Failhard bool `yaml:"failhard"`
	// StateOutput is the highstate layout: full, terse, mixed or changes;
	// a "_id" suffix shows state IDs instead of names.
	StateOutput string `yaml:"state_output"`
	// StateVerbose false hides states that succeeded without changes.
	StateVerbose bool `yaml:"state_verbose"`

	// Path is the file the configuration was read from, "" for defaults.
	Path string `yaml:"-"`
}

// file mirrors Minion for decoding, with grains kept as a node so that
// they are read with the same scalar rules as SLS files.
type file struct {
	ID           string              `yaml:"id"`
	Master       string              `yaml:"master"`
	FileRoots    map[string][]string `yaml:"file_roots"`
	PillarRoots  map[string][]string `yaml:"pillar_roots"`
	Grains       yaml.Node           `yaml:"grains"`
	StateDir     string              `yaml:"state_dir"`
	PluginDirs   []string            `yaml:"plugin_dirs"`
	StateTimeout Duration            `yaml:"state_timeout"`
	LogLevel     string              `yaml:"log_level"`
	Test         bool                `yaml:"test"`
	Saltenv      string              `yaml:"saltenv"`
	Failhard     bool                `yaml:"failhard"`
	StateOutput  string              `yaml:"state_output"`
	StateVerbose *bool               `yaml:"state_verbose"`
}

// Duration is a duration written as Go's "10m", "1h30m", or as a number of
// seconds (Salt's habit).
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration such as 10m, got a %s", n.Line, kindName(n.Kind))
	}
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: expected a duration such as 10m or 90s, got %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "value"
	}
}

// Defaults returns the configuration used when no file is present: Salt's
// roots (/srv/salt, /srv/pillar), the host name as ID, saltenv base.
func Defaults() *Minion {
	id, _ := os.Hostname()
	return &Minion{
		ID:           id,
		FileRoots:    map[string][]string{"base": {"/srv/salt"}},
		PillarRoots:  map[string][]string{"base": {"/srv/pillar"}},
		Grains:       map[string]any{},
		StateDir:     "/var/lib/brine/minion",
		LogLevel:     "warning",
		Saltenv:      "base",
		StateOutput:  "full",
		StateVerbose: true,
	}
}

// LoadMinion reads the minion configuration at path over Defaults. An empty
// path means DefaultMinionPath, which may be missing; a file named
// explicitly must exist.
func LoadMinion(path string) (*Minion, error) {
	if path == "" {
		return loadMinion(DefaultMinionPath, false)
	}
	return loadMinion(path, true)
}

func loadMinion(path string, explicit bool) (*Minion, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return Defaults(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read minion config: %w", err)
	}
	m, err := ParseMinion(path, b)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ParseMinion reads a minion configuration from src; name is used in errors
// and to resolve relative roots.
func ParseMinion(name string, src []byte) (*Minion, error) {
	m := Defaults()
	m.Path = name
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return m, nil // empty file: defaults
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the configuration must be a mapping of keys to values", name, top.Line)
	}
	known := knownKeys()
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		if !known[k.Value] {
			return nil, fmt.Errorf("%s:%d: unknown key '%s' (known keys: %s)", name, k.Line, k.Value, strings.Join(sortedKeys(known), ", "))
		}
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
	}
	if err := m.apply(name, &f); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Minion) apply(name string, f *file) error {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&m.ID, f.ID)
	set(&m.Master, f.Master)
	set(&m.StateDir, f.StateDir)
	set(&m.LogLevel, f.LogLevel)
	set(&m.Saltenv, f.Saltenv)
	set(&m.StateOutput, f.StateOutput)
	m.Test, m.Failhard, m.StateTimeout = f.Test, f.Failhard, f.StateTimeout
	if f.StateVerbose != nil {
		m.StateVerbose = *f.StateVerbose
	}
	dir := filepath.Dir(name)
	if f.FileRoots != nil {
		m.FileRoots = relativeTo(dir, f.FileRoots)
	}
	if f.PillarRoots != nil {
		m.PillarRoots = relativeTo(dir, f.PillarRoots)
	}
	if f.StateDir != "" && !filepath.IsAbs(f.StateDir) {
		m.StateDir = filepath.Join(dir, f.StateDir)
	}
	for _, d := range f.PluginDirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		m.PluginDirs = append(m.PluginDirs, d)
	}
	if f.Grains.Kind != 0 {
		if f.Grains.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d: grains must be a mapping", name, f.Grains.Line)
		}
		v, err := render.Value(&f.Grains)
		if err != nil {
			return fmt.Errorf("%s: grains: %w", name, err)
		}
		g, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s:%d: grains must be a mapping", name, f.Grains.Line)
		}
		m.Grains = g
	}
	return m.validate(name)
}

func (m *Minion) validate(name string) error {
	switch strings.TrimSuffix(m.StateOutput, "_id") {
	case "full", "terse", "mixed", "changes":
	default:
		return fmt.Errorf("%s: state_output must be full, terse, mixed or changes (optionally with _id), not %q", name, m.StateOutput)
	}
	if _, err := ParseLogLevel(m.LogLevel); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if m.StateTimeout < 0 {
		return fmt.Errorf("%s: state_timeout must not be negative", name)
	}
	for env, dirs := range m.FileRoots {
		if len(dirs) == 0 {
			return fmt.Errorf("%s: file_roots: saltenv '%s' has no directories", name, env)
		}
	}
	return nil
}

// relativeTo makes relative root directories relative to the config file,
// so that a config shipped inside a tree works from any working directory.
func relativeTo(dir string, roots map[string][]string) map[string][]string {
	out := make(map[string][]string, len(roots))
	for env, dirs := range roots {
		for _, d := range dirs {
			if !filepath.IsAbs(d) {
				d = filepath.Join(dir, d)
			}
			out[env] = append(out[env], d)
		}
	}
	return out
}

func knownKeys() map[string]bool {
	t := reflect.TypeFor[file]()
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Opts returns the configuration the way Salt exposes opts to templates and
// modules: plain maps, lists and scalars under Salt's key names.
func (m *Minion) Opts() map[string]any {
	roots := func(r map[string][]string) map[string]any {
		out := make(map[string]any, len(r))
		for env, dirs := range r {
			l := make([]any, len(dirs))
			for i, d := range dirs {
				l[i] = d
			}
			out[env] = l
		}
		return out
	}
	return map[string]any{
		"id":            m.ID,
		"master":        m.Master,
		"file_roots":    roots(m.FileRoots),
		"pillar_roots":  roots(m.PillarRoots),
		"grains":        m.Grains,
		"state_dir":     m.StateDir,
		"plugin_dirs":   stringList(m.PluginDirs),
		"cachedir":      m.StateDir,
		"state_timeout": time.Duration(m.StateTimeout).String(),
		"log_level":     m.LogLevel,
		"test":          m.Test,
		"saltenv":       m.Saltenv,
		"failhard":      m.Failhard,
		"state_output":  m.StateOutput,
		"state_verbose": m.StateVerbose,
		"renderer":      "jinja|yaml",
		"file_client":   "local",
	}
}

func stringList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// PluginSearchPath is where the minion looks for plugins, in order:
// plugin_dirs, then <state_dir>/plugins (where saltutil.sync_plugins puts
// the master's).
func (m *Minion) PluginSearchPath() []string {
	return append(append([]string(nil), m.PluginDirs...), m.SyncedPluginDir())
}

// SyncedPluginDir is the directory saltutil.sync_plugins manages.
func (m *Minion) SyncedPluginDir() string {
	return filepath.Join(m.StateDir, "plugins")
}
