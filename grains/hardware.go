package grains

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// cpuGrains reads /proc/cpuinfo: num_cpus (online processors, as Python's
// os.cpu_count and Salt report, not the process's affinity), cpu_model and
// cpu_flags.
func cpuGrains(_ context.Context, h *host, g map[string]any) error {
	data, err := h.read("/proc/cpuinfo")
	if err != nil {
		return err
	}
	num := 0
	model := ""
	var flags []any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxFileSize)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			num++
		case "# processors": // s390x
			if n, err := strconv.Atoi(val); err == nil {
				num = n
			}
		case "model name", "vendor_id", "cpu": // x86; s390x; ppc64le
			if key != "vendor_id" || model == "" {
				model = val
			}
		case "Processor": // old ARM kernels
			model, _, _ = strings.Cut(val, "-")
			model = strings.TrimSpace(model)
		case "flags", "Features":
			if flags == nil {
				for _, f := range strings.Fields(val) {
					flags = append(flags, f)
				}
			}
		}
	}
	if model == "" {
		model = "Unknown"
	}
	if flags == nil {
		flags = []any{}
	}
	g["num_cpus"] = num
	g["cpu_model"] = model
	g["cpu_flags"] = flags
	return nil
}

// memGrains reads mem_total and swap_total in MiB from /proc/meminfo.
func memGrains(_ context.Context, h *host, g map[string]any) error {
	data, err := h.read("/proc/meminfo")
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		grain := map[string]string{"MemTotal": "mem_total", "SwapTotal": "swap_total"}[key]
		if grain == "" {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return fmt.Errorf("meminfo %s: %w", key, err)
		}
		g[grain] = int(kb / 1024)
	}
	if _, ok := g["mem_total"]; !ok {
		return fmt.Errorf("no MemTotal in /proc/meminfo")
	}
	return nil
}

// dmi reads one SMBIOS field the kernel exposes (those readable without
// root).
func (h *host) dmi(field string) string {
	b, err := h.read("/sys/class/dmi/id/" + field)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
}

// hardwareGrains reports manufacturer, productname, biosversion and
// biosreleasedate from /sys/class/dmi/id (Salt asks dmidecode or smbios).
// Serial numbers and UUIDs need root and are left out.
func hardwareGrains(_ context.Context, h *host, g map[string]any) error {
	for grain, field := range map[string]string{
		"manufacturer":    "sys_vendor",
		"productname":     "product_name",
		"biosversion":     "bios_version",
		"biosreleasedate": "bios_date",
		"biosvendor":      "bios_vendor",
	} {
		if v := h.dmi(field); v != "" {
			g[grain] = v
		}
	}
	return nil
}

// virtualGrains decides `virtual` and `virtual_subtype` the way Salt's
// _virtual does on Linux, from files only (Salt also runs
// systemd-detect-virt, virt-what, dmidecode or lspci):
//
//   - hypervisor from DMI product name and vendor, or "QEMU Virtual CPU" in
//     /proc/cpuinfo; Xen from /proc/xen;
//   - then containers, which win over the hypervisor they run on:
//     /proc/1/cgroup (Docker, LXC, kubepods, libpod), /.dockerenv,
//     /run/.containerenv (Podman) and /run/systemd/container;
//   - a machine whose CPU flags say "hypervisor" but that nothing else
//     identifies is "virtual", Salt's word for an unnamed hypervisor.
func virtualGrains(_ context.Context, h *host, g map[string]any) error {
	virtual, subtype := "physical", ""
	product, vendor := h.dmi("product_name"), h.dmi("sys_vendor")
	board := h.dmi("board_vendor")
	switch {
	case strings.Contains(product, "VirtualBox"):
		virtual = "VirtualBox"
	case strings.Contains(product, "VMware") || strings.Contains(vendor, "VMware"):
		virtual = "VMware"
	case strings.Contains(product, "RHEV Hypervisor"):
		virtual, subtype = "kvm", "rhev"
	case strings.Contains(product, "oVirt"):
		virtual, subtype = "kvm", "ovirt"
	case strings.Contains(product, "Google") || strings.Contains(vendor, "Google"):
		virtual = "gce"
	case strings.Contains(product, "BHYVE"):
		virtual = "bhyve"
	case strings.Contains(vendor, "Amazon EC2"):
		virtual, subtype = "Nitro", "Amazon EC2"
	case strings.Contains(vendor, "Microsoft") && strings.Contains(product, "Virtual Machine"):
		virtual = "VirtualPC"
	case strings.Contains(vendor, "Parallels"):
		virtual = "Parallels"
	case strings.Contains(product, "KVM"), strings.Contains(vendor, "QEMU"),
		strings.Contains(vendor, "Bochs"), strings.Contains(board, "QEMU"),
		strings.Contains(vendor, "OpenStack"):
		virtual = "kvm"
	case strings.Contains(vendor, "Xen") || product == "HVM domU":
		virtual, subtype = "xen", "Xen HVM DomU"
	}
	cpuinfo, _ := h.read("/proc/cpuinfo")
	if bytes.Contains(cpuinfo, []byte("QEMU Virtual CPU")) {
		virtual = "kvm"
	}
	if caps, err := h.read("/proc/xen/capabilities"); err == nil {
		virtual = "xen"
		if bytes.Contains(caps, []byte("control_d")) {
			subtype = "Xen Dom0"
		} else {
			subtype = "Xen PV DomU"
		}
	}

	// Containers: checked last so that a container on a VM says container.
	cgroup, _ := h.read("/proc/1/cgroup")
	cg := string(cgroup)
	container := ""
	switch {
	case strings.Contains(cg, ":/lxc/") || strings.Contains(cg, ":/lxc.payload"):
		container = "LXC"
	case strings.Contains(cg, ":/kubepods"):
		container = "kubernetes"
	case strings.Contains(cg, ":/libpod_parent/"):
		container = "libpod"
	case strings.Contains(cg, ":/system.slice/docker") || strings.Contains(cg, ":/docker/") ||
		strings.Contains(cg, ":/docker-ce/"):
		container = "Docker"
	}
	if container == "" {
		switch {
		case h.exists("/.dockerenv"):
			container = "Docker"
		case h.exists("/run/.containerenv"):
			container = "Podman"
		}
	}
	if container == "" {
		if b, err := h.read("/run/systemd/container"); err == nil {
			switch kind := strings.TrimSpace(string(b)); kind {
			case "docker":
				container = "Docker"
			case "podman":
				container = "Podman"
			case "lxc", "lxc-libvirt":
				container = "LXC"
			case "":
			default:
				container = kind
			}
		}
	}
	if container != "" {
		virtual, subtype = "container", container
	}
	if virtual == "physical" && hasCPUFlag(cpuinfo, "hypervisor") {
		virtual = "virtual"
	}
	g["virtual"] = virtual
	if subtype != "" {
		g["virtual_subtype"] = subtype
	}
	return nil
}

func hasCPUFlag(cpuinfo []byte, flag string) bool {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	sc.Buffer(make([]byte, 64<<10), maxFileSize)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "flags" {
			for _, f := range strings.Fields(val) {
				if f == flag {
					return true
				}
			}
			return false
		}
	}
	return false
}
