package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/target"
)

// DefaultMasterPath is read by `brine master` (and the CLI) when no
// --config is given; it may be absent.
const DefaultMasterPath = "/etc/brine/master.yaml"

// DefaultPort is the master's bus port (the NATS client port).
const DefaultPort = 4222

// Master is the master's configuration (Salt's master config keys where
// they exist).
type Master struct {
	// Listen is host:port of the embedded bus server.
	Listen string `yaml:"listen"`
	// FileRoots and PillarRoots are served to minions as in Salt.
	FileRoots   map[string][]string `yaml:"file_roots"`
	PillarRoots map[string][]string `yaml:"pillar_roots"`
	// Nodegroups maps a name to a compound target (-N, N@ in top files);
	// the file may also give a list of words or of minion IDs, as in Salt.
	Nodegroups map[string]string `yaml:"nodegroups"`
	// KeepJobs is how long returns and job metadata stay in the job cache.
	KeepJobs Duration `yaml:"keep_jobs"`
	// JobTTL is how long after publishing a minion still accepts a job.
	JobTTL Duration `yaml:"job_ttl"`
	// AutoAccept accepts every new minion key (for labs, never production).
	AutoAccept bool `yaml:"auto_accept"`
	// StateDir holds keys, the signing key, admin credentials and the
	// JetStream store.
	StateDir string `yaml:"state_dir"`
	// LogLevel is Salt's level name (see ParseLogLevel).
	LogLevel string `yaml:"log_level"`
	// PillarMergeLists is Salt's pillar_merge_lists.
	PillarMergeLists bool `yaml:"pillar_merge_lists"`
	// Bus configures an external NATS server instead of the embedded one.
	Bus Bus `yaml:"bus"`

	// Path is the file the configuration was read from, "" for defaults.
	Path string `yaml:"-"`
}

// Bus is the `bus:` section of the master configuration.
type Bus struct {
	// URL points at an external NATS server or cluster; empty embeds one.
	URL string `yaml:"url"`
}

// DefaultStateDir is where brine keeps a component's state: /var/lib/brine
// (plus sub) when running as root, else the user's data directory
// ($XDG_DATA_HOME/brine or ~/.local/share/brine).
func DefaultStateDir(sub string) string {
	base := "/var/lib/brine"
	if os.Geteuid() != 0 {
		if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
			base = filepath.Join(x, "brine")
		} else if home, err := os.UserHomeDir(); err == nil {
			base = filepath.Join(home, ".local", "share", "brine")
		}
	}
	return filepath.Join(base, sub)
}

// MasterDefaults returns the configuration used without a file.
func MasterDefaults() *Master {
	return &Master{
		Listen:      "0.0.0.0:" + strconv.Itoa(DefaultPort),
		FileRoots:   map[string][]string{"base": {"/srv/salt"}},
		PillarRoots: map[string][]string{"base": {"/srv/pillar"}},
		Nodegroups:  map[string]string{},
		KeepJobs:    Duration(24 * time.Hour),
		JobTTL:      Duration(time.Minute),
		StateDir:    DefaultStateDir(""),
		LogLevel:    "info",
	}
}

// LoadMaster reads the master configuration at path over MasterDefaults.
// An empty path means DefaultMasterPath, which may be missing.
func LoadMaster(path string) (*Master, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultMasterPath
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return MasterDefaults(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read master config: %w", err)
	}
	return ParseMaster(path, b)
}

// masterFile mirrors Master for strict decoding.
type masterFile struct {
	Listen           string              `yaml:"listen"`
	FileRoots        map[string][]string `yaml:"file_roots"`
	PillarRoots      map[string][]string `yaml:"pillar_roots"`
	Nodegroups       map[string]any      `yaml:"nodegroups"`
	KeepJobs         *Duration           `yaml:"keep_jobs"`
	JobTTL           *Duration           `yaml:"job_ttl"`
	AutoAccept       bool                `yaml:"auto_accept"`
	StateDir         string              `yaml:"state_dir"`
	LogLevel         string              `yaml:"log_level"`
	PillarMergeLists bool                `yaml:"pillar_merge_lists"`
	Bus              Bus                 `yaml:"bus"`
}

// ParseMaster reads a master configuration from src; name is used in
// errors and to resolve relative directories. Unknown keys, also inside
// `bus:`, are errors naming the file, the key and the line.
func ParseMaster(name string, src []byte) (*Master, error) {
	m := MasterDefaults()
	m.Path = name
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return m, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the configuration must be a mapping of keys to values", name, top.Line)
	}
	if err := checkKeys(name, "", top, yamlKeys(masterFile{})); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "bus" && top.Content[i+1].Kind == yaml.MappingNode {
			if err := checkKeys(name, "bus.", top.Content[i+1], yamlKeys(Bus{})); err != nil {
				return nil, err
			}
		}
	}
	var f masterFile
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
	}
	dir := filepath.Dir(name)
	if f.Listen != "" {
		m.Listen = f.Listen
	}
	if f.FileRoots != nil {
		m.FileRoots = relativeTo(dir, f.FileRoots)
	}
	if f.PillarRoots != nil {
		m.PillarRoots = relativeTo(dir, f.PillarRoots)
	}
	if f.Nodegroups != nil {
		ng, err := target.Nodegroups(f.Nodegroups)
		if err != nil {
			return nil, fmt.Errorf("%s: nodegroups: %w", name, err)
		}
		m.Nodegroups = ng
	}
	if f.KeepJobs != nil {
		m.KeepJobs = *f.KeepJobs
	}
	if f.JobTTL != nil {
		m.JobTTL = *f.JobTTL
	}
	m.AutoAccept, m.PillarMergeLists, m.Bus = f.AutoAccept, f.PillarMergeLists, f.Bus
	if f.StateDir != "" {
		m.StateDir = f.StateDir
		if !filepath.IsAbs(m.StateDir) {
			m.StateDir = filepath.Join(dir, m.StateDir)
		}
	}
	if f.LogLevel != "" {
		m.LogLevel = f.LogLevel
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// Validate checks values that decoding cannot: the listen address, the
// durations and the log level. Flags laid over a loaded file are checked
// with it again.
func (m *Master) Validate() error {
	if _, _, err := SplitListen(m.Listen); err != nil {
		return err
	}
	if m.KeepJobs <= 0 {
		return fmt.Errorf("keep_jobs must be positive (e.g. 24h)")
	}
	if m.JobTTL < Duration(time.Second) {
		return fmt.Errorf("job_ttl must be at least 1s")
	}
	if _, err := ParseLogLevel(m.LogLevel); err != nil {
		return err
	}
	for env, dirs := range m.FileRoots {
		if len(dirs) == 0 {
			return fmt.Errorf("file_roots: saltenv '%s' has no directories", env)
		}
	}
	return nil
}

// SplitListen reads a listen address, "host:port" (host may be empty for
// every interface; port 0 picks a free one).
func SplitListen(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("listen %q: want HOST:PORT, e.g. 0.0.0.0:%d", addr, DefaultPort)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("listen %q: bad port %q", addr, port)
	}
	return host, p, nil
}

func checkKeys(name, prefix string, n *yaml.Node, known map[string]bool) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			return fmt.Errorf("%s:%d: unknown key '%s%s' (known keys: %s)", name, k.Line, prefix, k.Value, strings.Join(sortedKeys(known), ", "))
		}
	}
	return nil
}

func yamlKeys(v any) map[string]bool {
	t := reflect.TypeOf(v)
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}
