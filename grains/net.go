package grains

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
)

type netInterface struct {
	name   string
	hwaddr string
	addrs  []netip.Addr
}

func liveInterfaces() ([]netInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]netInterface, 0, len(ifs))
	for _, ifc := range ifs {
		ni := netInterface{name: ifc.Name, hwaddr: ifc.HardwareAddr.String()}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				ni.addrs = append(ni.addrs, ip.Unmap())
			}
		}
		out = append(out, ni)
	}
	return out, nil
}

// networkGrains: ipv4 and ipv6 (every address, loopback and link-local
// included, sorted, as Salt lists them), ip_interfaces, ip4_interfaces,
// ip6_interfaces and hwaddr_interfaces.
func networkGrains(_ context.Context, h *host, g map[string]any) error {
	ifs, err := h.interfaces()
	if err != nil {
		return err
	}
	var v4, v6 []netip.Addr
	ipIfs, ip4Ifs, ip6Ifs, hwIfs := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	for _, ifc := range ifs {
		var all, four, six []any
		for _, a := range ifc.addrs {
			if a.Is4() {
				v4 = append(v4, a)
				four = append(four, a.String())
			} else {
				v6 = append(v6, a)
				six = append(six, a.String())
			}
		}
		all = append(append(all, four...), six...)
		ipIfs[ifc.name] = orEmpty(all)
		ip4Ifs[ifc.name] = orEmpty(four)
		ip6Ifs[ifc.name] = orEmpty(six)
		if ifc.hwaddr != "" {
			hwIfs[ifc.name] = ifc.hwaddr
		} else if ifc.name == "lo" {
			hwIfs[ifc.name] = "00:00:00:00:00:00"
		}
	}
	g["ipv4"] = sortedAddrs(v4)
	g["ipv6"] = sortedAddrs(v6)
	g["ip_interfaces"] = ipIfs
	g["ip4_interfaces"] = ip4Ifs
	g["ip6_interfaces"] = ip6Ifs
	g["hwaddr_interfaces"] = hwIfs
	return nil
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func sortedAddrs(addrs []netip.Addr) []any {
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	addrs = slices.Compact(addrs)
	out := make([]any, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// hostnameGrains: localhost (the kernel's hostname), fqdn, host, domain,
// and fqdn_ip4 / fqdn_ip6. Salt asks the resolver for the canonical name
// and its addresses; brine reads /etc/hosts only, so that collecting grains
// never waits on DNS. A hostname that already contains a dot is taken as
// the fqdn.
func hostnameGrains(_ context.Context, h *host, g map[string]any) error {
	name, err := h.hostname()
	if err != nil {
		return err
	}
	g["localhost"] = name
	hosts, _ := h.read("/etc/hosts")
	entries := parseHosts(hosts)
	fqdn := name
	if !strings.Contains(name, ".") {
		for _, e := range entries {
			if slices.Contains(e.names, name) && strings.HasPrefix(e.names[0], name+".") {
				fqdn = e.names[0]
				break
			}
		}
	}
	g["fqdn"] = fqdn
	host, domain, _ := strings.Cut(fqdn, ".")
	g["host"] = host
	g["domain"] = domain
	var ip4, ip6 []netip.Addr
	for _, e := range entries {
		if slices.Contains(e.names, fqdn) {
			if e.addr.Is4() {
				ip4 = append(ip4, e.addr)
			} else {
				ip6 = append(ip6, e.addr)
			}
		}
	}
	g["fqdn_ip4"] = sortedAddrs(ip4)
	g["fqdn_ip6"] = sortedAddrs(ip6)
	return nil
}

type hostsEntry struct {
	addr  netip.Addr
	names []string
}

func parseHosts(data []byte) []hostsEntry {
	var out []hostsEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		out = append(out, hostsEntry{addr: a.Unmap(), names: f[1:]})
	}
	return out
}
