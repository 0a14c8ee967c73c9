package docker

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// runningArgs are docker_container.running's arguments. Names follow
// Salt's docker_container.running; each is typed, so no skip_translate.
type runningArgs struct {
	Image        string
	Command      Cmd
	Entrypoint   Cmd
	Environment  KV
	Env          KV // alias of environment
	Ports        []string
	PortBindings []string `arg:"port_bindings"`
	Publish      []string // alias of port_bindings
	Binds        []string
	Volumes      []string
	Networks     Networks
	NetworkMode  string `arg:"network_mode"`
	// RestartPolicy is "no", "always", "unless-stopped", "on-failure[:N]".
	RestartPolicy string `arg:"restart_policy"`
	Labels        KV
	Hostname      string
	Domainname    string
	User          string
	WorkingDir    string `arg:"working_dir"`
	Workdir       string // alias of working_dir
	MemLimit      Size   `arg:"mem_limit"`
	Memory        Size   // alias of mem_limit
	MemswapLimit  Size   `arg:"memswap_limit"`
	CPUShares     int64  `arg:"cpu_shares"`
	CPUPeriod     int64  `arg:"cpu_period"`
	CPUQuota      int64  `arg:"cpu_quota"`
	CpusetCpus    string `arg:"cpuset_cpus"`
	NanoCPUs      int64  `arg:"nano_cpus"`
	Privileged    bool
	ReadOnly      bool     `arg:"read_only"`
	CapAdd        []string `arg:"cap_add"`
	CapDrop       []string `arg:"cap_drop"`
	DNS           []string
	ExtraHosts    []string `arg:"extra_hosts"`
	Tty           bool
	Interactive   bool
	LogDriver     string `arg:"log_driver"`
	LogOpt        KV     `arg:"log_opt"`
	StopSignal    string `arg:"stop_signal"`
	StopTimeout   *int   `arg:"stop_timeout"`
	// ShutdownTimeout is how long a stop waits before killing (seconds).
	ShutdownTimeout *int `arg:"shutdown_timeout"`
	// Start (default True) starts the container when it is not running.
	Start *bool
	// Force replaces the container even when it matches.
	Force bool
	// WatchAction is what a watch requisite does: "force" (replace, the
	// default), "restart", or a signal name such as SIGHUP.
	WatchAction string `arg:"watch_action"`
}

// spec is a declared container: the create request (declared values only,
// the engine merges the image's in) and what inspect should then show.
type spec struct {
	cfg  container.Config
	host container.HostConfig
	// nets are the declared networks; nil when networks is not given.
	nets []NetSpec
	// set records which optional settings were declared.
	set map[string]bool
}

// buildSpec turns the arguments into a create request, checking every
// value the engine would otherwise reject later.
func buildSpec(a *runningArgs) (*spec, error) {
	s := &spec{set: map[string]bool{}}
	if a.Image == "" {
		return nil, errors.New("the 'image' argument is required")
	}
	s.cfg.Image = a.Image
	if a.Command.Set {
		s.cfg.Cmd = nonNil(a.Command.Args)
		s.set["Cmd"] = true
	}
	if a.Entrypoint.Set {
		s.cfg.Entrypoint = nonNil(a.Entrypoint.Args)
		s.set["Entrypoint"] = true
	}
	env := a.Environment.merge(a.Env)
	for _, k := range env.Keys {
		if k == "" {
			return nil, errors.New("environment: empty variable name")
		}
		s.cfg.Env = append(s.cfg.Env, k+"="+env.Vals[k])
	}
	s.cfg.Labels = a.Labels.Map()
	s.cfg.Hostname, s.cfg.Domainname, s.cfg.User = a.Hostname, a.Domainname, a.User
	s.set["Hostname"], s.set["Domainname"], s.set["User"] = a.Hostname != "", a.Domainname != "", a.User != ""
	wd := a.WorkingDir
	if wd == "" {
		wd = a.Workdir
	}
	if wd != "" {
		if !path.IsAbs(wd) {
			return nil, fmt.Errorf("working_dir '%s' must be an absolute path", wd)
		}
		s.cfg.WorkingDir = path.Clean(wd)
		s.set["WorkingDir"] = true
	}
	s.cfg.Tty, s.cfg.OpenStdin = a.Tty, a.Interactive
	if a.StopSignal != "" {
		s.cfg.StopSignal = a.StopSignal
		s.set["StopSignal"] = true
	}
	if a.StopTimeout != nil {
		s.cfg.StopTimeout = a.StopTimeout
		s.set["StopTimeout"] = true
	}
	ports, err := parseExposed(splitList(a.Ports))
	if err != nil {
		return nil, err
	}
	bindings, err := parseBindings(splitList(append(slices.Clone(a.PortBindings), a.Publish...)))
	if err != nil {
		return nil, err
	}
	for p := range bindings {
		ports[p] = struct{}{}
	}
	if len(ports) > 0 {
		s.cfg.ExposedPorts = ports
	}
	s.host.PortBindings = bindings
	for _, v := range splitList(a.Volumes) {
		if !path.IsAbs(v) {
			return nil, fmt.Errorf("volumes: '%s' must be an absolute path inside the container", v)
		}
		if s.cfg.Volumes == nil {
			s.cfg.Volumes = map[string]struct{}{}
		}
		s.cfg.Volumes[v] = struct{}{}
	}
	for _, b := range splitList(a.Binds) {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !path.IsAbs(parts[1]) {
			return nil, fmt.Errorf("binds: '%s' is not SOURCE:/container/path[:ro|rw]", b)
		}
		s.host.Binds = append(s.host.Binds, b)
	}
	if a.Networks.Set && len(a.Networks.Nets) > 0 {
		if a.NetworkMode != "" {
			return nil, errors.New("networks and network_mode cannot both be given")
		}
		s.nets = a.Networks.Nets
		for _, n := range s.nets {
			for _, ip := range []string{n.IPv4Address, n.IPv6Address} {
				if ip != "" {
					if _, err := netip.ParseAddr(ip); err != nil {
						return nil, fmt.Errorf("network '%s': %w", n.Name, err)
					}
				}
			}
		}
	}
	s.host.NetworkMode = container.NetworkMode(a.NetworkMode)
	rp, err := parseRestart(a.RestartPolicy)
	if err != nil {
		return nil, err
	}
	s.host.RestartPolicy = rp
	mem := a.MemLimit
	if !mem.Set {
		mem = a.Memory
	}
	s.host.Memory = mem.Bytes
	if a.MemswapLimit.Set {
		s.host.MemorySwap = a.MemswapLimit.Bytes
		s.set["MemorySwap"] = true
	}
	s.host.CPUShares, s.host.CPUPeriod, s.host.CPUQuota = a.CPUShares, a.CPUPeriod, a.CPUQuota
	s.host.CpusetCpus, s.host.NanoCPUs = a.CpusetCpus, a.NanoCPUs
	s.host.Privileged, s.host.ReadonlyRootfs = a.Privileged, a.ReadOnly
	s.host.CapAdd, s.host.CapDrop = normCaps(splitList(a.CapAdd)), normCaps(splitList(a.CapDrop))
	for _, d := range splitList(a.DNS) {
		ip, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		s.host.DNS = append(s.host.DNS, ip)
	}
	s.host.ExtraHosts = splitList(a.ExtraHosts)
	if a.LogDriver != "" || a.LogOpt.Set {
		s.host.LogConfig = container.LogConfig{Type: a.LogDriver, Config: a.LogOpt.Map()}
		s.set["LogConfig"] = true
	}
	return s, nil
}

func nonNil(in []string) []string {
	if in == nil {
		return []string{}
	}
	return in
}

// parseExposed reads exposed ports: "80", "80/tcp", "53/udp".
func parseExposed(in []string) (network.PortSet, error) {
	out := network.PortSet{}
	for _, p := range in {
		port, err := network.ParsePort(p)
		if err != nil {
			return nil, fmt.Errorf("ports: %w", err)
		}
		out[port] = struct{}{}
	}
	return out, nil
}

// parseBindings reads Salt's port_bindings: "8080:80", "127.0.0.1:8080:80",
// "127.0.0.1::80" (any host port on that address), "80" (any host port),
// each optionally with "/udp"; ranges "8000-8001:80-81" map pairwise.
func parseBindings(in []string) (network.PortMap, error) {
	out := network.PortMap{}
	for _, b := range in {
		if err := addBinding(out, b); err != nil {
			return nil, fmt.Errorf("port_bindings: '%s': %w", b, err)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func addBinding(out network.PortMap, b string) error {
	rest, proto := b, "tcp"
	if i := strings.LastIndex(b, "/"); i >= 0 {
		rest, proto = b[:i], b[i+1:]
	}
	var hostIP string
	if strings.HasPrefix(rest, "[") { // [::1]:8080:80
		end := strings.Index(rest, "]")
		if end < 0 || len(rest) < end+2 || rest[end+1] != ':' {
			return errors.New("bad IPv6 address")
		}
		hostIP, rest = rest[1:end], rest[end+2:]
	}
	parts := strings.Split(rest, ":")
	var hostPort, ctrPort string
	switch {
	case len(parts) == 1:
		ctrPort = parts[0]
	case len(parts) == 2:
		hostPort, ctrPort = parts[0], parts[1]
	case len(parts) == 3 && hostIP == "":
		hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
	default:
		return errors.New("expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]")
	}
	var ip netip.Addr
	if hostIP != "" {
		var err error
		if ip, err = netip.ParseAddr(hostIP); err != nil {
			return err
		}
	}
	ctr, err := network.ParsePortRange(ctrPort + "/" + proto)
	if err != nil {
		return err
	}
	hostStart, hostEnd := 0, 0
	if hostPort != "" {
		hr, err := network.ParsePortRange(hostPort + "/" + proto)
		if err != nil {
			return err
		}
		hostStart, hostEnd = int(hr.Start()), int(hr.End())
		if hostEnd-hostStart != int(ctr.End())-int(ctr.Start()) && hostStart != hostEnd {
			return errors.New("host and container port ranges differ in length")
		}
	}
	for i := 0; i <= int(ctr.End())-int(ctr.Start()); i++ {
		p, ok := network.PortFrom(ctr.Start()+uint16(i), ctr.Proto())
		if !ok {
			return errors.New("bad port")
		}
		hp := ""
		switch {
		case hostPort == "":
		case hostStart == hostEnd:
			hp = strconv.Itoa(hostStart)
		default:
			hp = strconv.Itoa(hostStart + i)
		}
		out[p] = append(out[p], network.PortBinding{HostIP: ip, HostPort: hp})
	}
	return nil
}

// parseRestart reads "always", "unless-stopped", "no", "on-failure[:N]".
func parseRestart(s string) (container.RestartPolicy, error) {
	if s == "" {
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}, nil
	}
	name, count, hasCount := strings.Cut(s, ":")
	rp := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil {
			return rp, fmt.Errorf("restart_policy '%s': bad retry count", s)
		}
		rp.MaximumRetryCount = n
	}
	if err := container.ValidateRestartPolicy(rp); err != nil {
		return rp, fmt.Errorf("restart_policy: %w", err)
	}
	return rp, nil
}

func normCaps(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, c := range in {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// diff compares a container as the engine reports it with the declared
// spec merged over the image's defaults, the way the engine would merge
// them on create. It returns Salt's layout: {"Config": {field: {old, new}},
// "HostConfig": {...}}, fields named as the engine API names them.
func diff(cur *container.InspectResponse, s *spec, img *dockerspec.DockerOCIImageConfig) map[string]any {
	out := map[string]any{}
	add := func(section, field string, old, new any) {
		m, _ := out[section].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[section] = m
		}
		m[field] = map[string]any{"old": old, "new": new}
	}
	cfg := cur.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	if img == nil {
		img = &dockerspec.DockerOCIImageConfig{}
	}
	// Command and entrypoint: the engine fills them from the image unless
	// an entrypoint is given, in which case the image's command is dropped.
	wantEntry, wantCmd := img.Entrypoint, s.cfg.Cmd
	if s.set["Entrypoint"] {
		wantEntry = s.cfg.Entrypoint
	}
	if len(wantCmd) == 0 && len(s.cfg.Entrypoint) == 0 {
		wantCmd = img.Cmd
	}
	if !slices.Equal(cfg.Entrypoint, wantEntry) {
		add("Config", "Entrypoint", strs(cfg.Entrypoint), strs(wantEntry))
	}
	if !slices.Equal(cfg.Cmd, wantCmd) {
		add("Config", "Cmd", strs(cfg.Cmd), strs(wantCmd))
	}
	if old, new := sorted(cfg.Env), sorted(mergeEnv(img.Env, s.cfg.Env)); !slices.Equal(old, new) {
		add("Config", "Env", strs(old), strs(new))
	}
	wantLabels := maps.Clone(img.Labels)
	if wantLabels == nil {
		wantLabels = map[string]string{}
	}
	maps.Copy(wantLabels, s.cfg.Labels)
	if !maps.Equal(cfg.Labels, wantLabels) && len(cfg.Labels)+len(wantLabels) > 0 {
		add("Config", "Labels", strMap(cfg.Labels), strMap(wantLabels))
	}
	wantPorts := map[string]bool{}
	for p := range img.ExposedPorts {
		if port, err := network.ParsePort(p); err == nil {
			wantPorts[port.String()] = true
		}
	}
	for p := range s.cfg.ExposedPorts {
		wantPorts[p.String()] = true
	}
	var havePorts []string
	for p := range cfg.ExposedPorts {
		havePorts = append(havePorts, p.String())
	}
	if old, new := sorted(havePorts), sortedKeys(wantPorts); !slices.Equal(old, new) {
		add("Config", "ExposedPorts", strs(old), strs(new))
	}
	wantVols := map[string]bool{}
	for v := range img.Volumes {
		wantVols[v] = true
	}
	for v := range s.cfg.Volumes {
		wantVols[v] = true
	}
	var haveVols []string
	for v := range cfg.Volumes {
		haveVols = append(haveVols, v)
	}
	if old, new := sorted(haveVols), sortedKeys(wantVols); !slices.Equal(old, new) {
		add("Config", "Volumes", strs(old), strs(new))
	}
	for _, f := range []struct {
		name      string
		have, own string
		image     string
	}{
		{"Hostname", cfg.Hostname, s.cfg.Hostname, ""},
		{"Domainname", cfg.Domainname, s.cfg.Domainname, ""},
		{"User", cfg.User, s.cfg.User, img.User},
		{"WorkingDir", cfg.WorkingDir, s.cfg.WorkingDir, img.WorkingDir},
		{"StopSignal", cfg.StopSignal, s.cfg.StopSignal, ""},
	} {
		want := f.own
		if !s.set[f.name] {
			if f.name == "Hostname" || f.name == "Domainname" || f.name == "StopSignal" {
				continue // engine-chosen when not declared
			}
			want = f.image
		}
		if f.have != want {
			add("Config", f.name, f.have, want)
		}
	}
	if s.set["StopTimeout"] && (cfg.StopTimeout == nil || *cfg.StopTimeout != *s.cfg.StopTimeout) {
		var old any
		if cfg.StopTimeout != nil {
			old = *cfg.StopTimeout
		}
		add("Config", "StopTimeout", old, *s.cfg.StopTimeout)
	}
	if cfg.Tty != s.cfg.Tty {
		add("Config", "Tty", cfg.Tty, s.cfg.Tty)
	}
	if cfg.OpenStdin != s.cfg.OpenStdin {
		add("Config", "OpenStdin", cfg.OpenStdin, s.cfg.OpenStdin)
	}
	hostDiff(cur.HostConfig, s, add)
	return out
}

func hostDiff(h *container.HostConfig, s *spec, add func(section, field string, old, new any)) {
	if h == nil {
		h = &container.HostConfig{}
	}
	w := &s.host
	if old, new := sorted(h.Binds), sorted(w.Binds); !slices.Equal(old, new) {
		add("HostConfig", "Binds", strs(old), strs(new))
	}
	if old, new := portMap(h.PortBindings), portMap(w.PortBindings); !equalAny(old, new) {
		add("HostConfig", "PortBindings", old, new)
	}
	oldRP, newRP := h.RestartPolicy, w.RestartPolicy
	if oldRP.Name == "" {
		oldRP.Name = container.RestartPolicyDisabled
	}
	if !oldRP.IsSame(&newRP) {
		add("HostConfig", "RestartPolicy",
			map[string]any{"Name": string(oldRP.Name), "MaximumRetryCount": oldRP.MaximumRetryCount},
			map[string]any{"Name": string(newRP.Name), "MaximumRetryCount": newRP.MaximumRetryCount})
	}
	if s.nets == nil {
		if old, new := netMode(h.NetworkMode), netMode(w.NetworkMode); old != new {
			add("HostConfig", "NetworkMode", old, new)
		}
	}
	for _, f := range []struct {
		name      string
		have, own int64
		declared  bool
	}{
		{"Memory", h.Memory, w.Memory, true},
		{"MemorySwap", h.MemorySwap, w.MemorySwap, s.set["MemorySwap"]},
		{"CpuShares", h.CPUShares, w.CPUShares, true},
		{"CpuPeriod", h.CPUPeriod, w.CPUPeriod, true},
		{"CpuQuota", h.CPUQuota, w.CPUQuota, true},
		{"NanoCpus", h.NanoCPUs, w.NanoCPUs, true},
	} {
		if f.declared && f.have != f.own {
			add("HostConfig", f.name, f.have, f.own)
		}
	}
	if h.CpusetCpus != w.CpusetCpus {
		add("HostConfig", "CpusetCpus", h.CpusetCpus, w.CpusetCpus)
	}
	if h.Privileged != w.Privileged {
		add("HostConfig", "Privileged", h.Privileged, w.Privileged)
	}
	if h.ReadonlyRootfs != w.ReadonlyRootfs {
		add("HostConfig", "ReadonlyRootfs", h.ReadonlyRootfs, w.ReadonlyRootfs)
	}
	if old, new := normCaps(h.CapAdd), w.CapAdd; !slices.Equal(old, new) {
		add("HostConfig", "CapAdd", strs(old), strs(new))
	}
	if old, new := normCaps(h.CapDrop), w.CapDrop; !slices.Equal(old, new) {
		add("HostConfig", "CapDrop", strs(old), strs(new))
	}
	if old, new := addrs(h.DNS), addrs(w.DNS); !slices.Equal(old, new) {
		add("HostConfig", "Dns", strs(old), strs(new))
	}
	if old, new := sorted(h.ExtraHosts), sorted(w.ExtraHosts); !slices.Equal(old, new) {
		add("HostConfig", "ExtraHosts", strs(old), strs(new))
	}
	if s.set["LogConfig"] {
		// The daemon adds its own default options (daemon.json's log-opts),
		// so only the declared type and options are compared.
		want := w.LogConfig
		if want.Type == "" {
			want.Type = h.LogConfig.Type
		}
		same := h.LogConfig.Type == want.Type
		for k, v := range want.Config {
			if have, ok := h.LogConfig.Config[k]; !ok || have != v {
				same = false
			}
		}
		if !same {
			add("HostConfig", "LogConfig",
				map[string]any{"Type": h.LogConfig.Type, "Config": strMap(h.LogConfig.Config)},
				map[string]any{"Type": want.Type, "Config": strMap(want.Config)})
		}
	}
}

// mergeEnv is the engine's merge of image and container environment: the
// container's variables, then the image's that the container does not set.
func mergeEnv(image, own []string) []string {
	out := slices.Clone(own)
	seen := map[string]bool{}
	for _, e := range own {
		k, _, _ := strings.Cut(e, "=")
		seen[k] = true
	}
	for _, e := range image {
		k, _, _ := strings.Cut(e, "=")
		if !seen[k] {
			out = append(out, e)
		}
	}
	return out
}

// portMap renders port bindings as the engine API shows them, with a
// sorted, stable layout: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}.
func portMap(pm network.PortMap) map[string]any {
	if len(pm) == 0 {
		return nil
	}
	out := map[string]any{}
	for p, bs := range pm {
		list := make([]string, 0, len(bs))
		for _, b := range bs {
			ip := ""
			if b.HostIP.IsValid() {
				ip = b.HostIP.String()
			}
			list = append(list, ip+"\x00"+b.HostPort)
		}
		sort.Strings(list)
		items := make([]any, len(list))
		for i, l := range list {
			ip, port, _ := strings.Cut(l, "\x00")
			items[i] = map[string]any{"HostIp": ip, "HostPort": port}
		}
		out[p.String()] = items
	}
	return out
}

// netMode names the engine's default network mode as "bridge" however it
// was spelt (empty, "default").
func netMode(m container.NetworkMode) string {
	if m == "" || m == "default" {
		return "bridge"
	}
	return string(m)
}

func addrs(in []netip.Addr) []string {
	var out []string
	for _, a := range in {
		out = append(out, a.String())
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

// equalAny compares plain values (maps, lists, scalars).
func equalAny(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return len(x) == 0 && b == nil || len(x) == 0 && ok && len(y) == 0
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalAny(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalAny(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		if m, ok := b.(map[string]any); ok {
			return len(m) == 0
		}
		return b == nil
	}
	return a == b
}

// endpoint is the create/connect request for one declared network.
func endpoint(n NetSpec) *network.EndpointSettings {
	ep := &network.EndpointSettings{Aliases: slices.Clone(n.Aliases), Links: slices.Clone(n.Links)}
	if n.IPv4Address != "" || n.IPv6Address != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{}
		if n.IPv4Address != "" {
			ep.IPAMConfig.IPv4Address, _ = netip.ParseAddr(n.IPv4Address)
		}
		if n.IPv6Address != "" {
			ep.IPAMConfig.IPv6Address, _ = netip.ParseAddr(n.IPv6Address)
		}
	}
	return ep
}

// netDiff compares the declared networks with the container's, in Salt's
// layout: {net: {key: {old, new}}}. Aliases the engine adds by itself (the
// short container ID, the hostname) are not counted.
func netDiff(cur *container.InspectResponse, s *spec) map[string]any {
	if s.nets == nil {
		return nil
	}
	have := map[string]*network.EndpointSettings{}
	if cur.NetworkSettings != nil {
		have = cur.NetworkSettings.Networks
	}
	short := cur.ID
	if len(short) > 12 {
		short = short[:12]
	}
	out := map[string]any{}
	declared := map[string]bool{}
	for _, n := range s.nets {
		declared[n.Name] = true
		ep, ok := have[n.Name]
		wantCfg := "automatic"
		if n.IPv4Address != "" || n.IPv6Address != "" {
			wantCfg = "static"
		}
		if !ok || ep == nil {
			ch := map[string]any{"IPConfiguration": map[string]any{"old": "not connected", "new": wantCfg}}
			if len(n.Aliases) > 0 {
				ch["Aliases"] = map[string]any{"old": nil, "new": strs(sorted(n.Aliases))}
			}
			out[n.Name] = ch
			continue
		}
		ch := map[string]any{}
		// The engine adds the short ID, and some versions the hostname,
		// as aliases of their own; they count only when declared.
		auto := map[string]bool{short: true, cur.ID: true}
		if cur.Config != nil && cur.Config.Hostname != "" {
			auto[cur.Config.Hostname] = true
		}
		var aliases []string
		for _, a := range ep.Aliases {
			if !auto[a] || slices.Contains(n.Aliases, a) {
				aliases = append(aliases, a)
			}
		}
		if old, new := sorted(slices.Compact(sorted(aliases))), sorted(slices.Compact(sorted(n.Aliases))); !slices.Equal(old, new) {
			ch["Aliases"] = map[string]any{"old": strs(old), "new": strs(new)}
		}
		var oldV4, oldV6 string
		if ep.IPAMConfig != nil {
			if ep.IPAMConfig.IPv4Address.IsValid() {
				oldV4 = ep.IPAMConfig.IPv4Address.String()
			}
			if ep.IPAMConfig.IPv6Address.IsValid() {
				oldV6 = ep.IPAMConfig.IPv6Address.String()
			}
		}
		if oldV4 != n.IPv4Address || oldV6 != n.IPv6Address {
			ch["IPAMConfig"] = map[string]any{
				"old": map[string]any{"IPv4Address": oldV4, "IPv6Address": oldV6},
				"new": map[string]any{"IPv4Address": n.IPv4Address, "IPv6Address": n.IPv6Address},
			}
		}
		if len(ch) > 0 {
			out[n.Name] = ch
		}
	}
	for name, ep := range have {
		if declared[name] {
			continue
		}
		oldCfg := "automatic"
		if ep != nil && ep.IPAMConfig != nil && (ep.IPAMConfig.IPv4Address.IsValid() || ep.IPAMConfig.IPv6Address.IsValid()) {
			oldCfg = "static"
		}
		out[name] = map[string]any{"IPConfiguration": map[string]any{"old": oldCfg, "new": "not connected"}}
	}
	return out
}
