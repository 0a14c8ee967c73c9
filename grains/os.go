package grains

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// osGrains reads /etc/os-release (or /usr/lib/os-release) and names the
// distribution the way Salt does: os "Debian", "Ubuntu", "CentOS Stream",
// "Rocky", "RedHat", "SUSE"...; os_family "Debian", "RedHat", "Suse",
// "Arch"...; osrelease and its derived osrelease_info, osmajorrelease and
// osfinger; oscodename, osfullname and the lsb_distrib_* grains.
func osGrains(_ context.Context, h *host, g map[string]any) error {
	rel, err := h.osRelease()
	if err != nil {
		// Salt's defaults for a system without os-release.
		rel = map[string]string{"NAME": "Linux", "ID": "linux", "PRETTY_NAME": "Linux"}
	}
	for k, v := range osReleaseGrains(rel) {
		g[k] = v
	}
	lsb := h.lsbRelease()
	setLSB := func(grain, lsbKey, fallback string) {
		if v, ok := lsb[lsbKey]; ok {
			g[grain] = v
		} else if fallback != "" {
			g[grain] = fallback
		}
	}
	codename := rel["VERSION_CODENAME"]
	if _, ok := rel["VERSION_CODENAME"]; !ok {
		codename = rel["PRETTY_NAME"]
	}
	setLSB("lsb_distrib_id", "DISTRIB_ID", strings.TrimSpace(rel["NAME"]))
	setLSB("lsb_distrib_release", "DISTRIB_RELEASE", rel["VERSION_ID"])
	setLSB("lsb_distrib_codename", "DISTRIB_CODENAME", codename)
	setLSB("lsb_distrib_description", "DISTRIB_DESCRIPTION", "")
	if err != nil {
		return fmt.Errorf("os-release: %w", err)
	}
	return nil
}

// osRelease parses the freedesktop os-release file.
func (h *host) osRelease() (map[string]string, error) {
	data, err := h.read("/etc/os-release")
	if err != nil {
		var err2 error
		data, err2 = h.read("/usr/lib/os-release")
		if err2 != nil {
			return nil, err
		}
	}
	rel := map[string]string{"NAME": "Linux", "ID": "linux", "PRETTY_NAME": "Linux"}
	for k, v := range parseShellVars(data) {
		rel[k] = v
	}
	return rel, nil
}

// lsbRelease parses /etc/lsb-release (Ubuntu and a few others); missing is
// fine.
func (h *host) lsbRelease() map[string]string {
	data, err := h.read("/etc/lsb-release")
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range parseShellVars(data) {
		if strings.HasPrefix(k, "DISTRIB_") {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// parseShellVars reads KEY=value lines as os-release(5) defines them: values
// optionally in single or double quotes, with backslash escapes of $ " ' \
// and ` inside.
func parseShellVars(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !isIdent(key) {
			continue
		}
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		var b strings.Builder
		for i := 0; i < len(val); i++ {
			if val[i] == '\\' && i+1 < len(val) && strings.IndexByte("$\"'\\`", val[i+1]) >= 0 {
				i++
			}
			b.WriteByte(val[i])
		}
		out[key] = b.String()
	}
	return out
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// osReleaseGrains turns os-release fields into Salt's os grains.
func osReleaseGrains(rel map[string]string) map[string]any {
	g := map[string]any{}
	id := strings.ToLower(strings.TrimSpace(rel["ID"]))
	name := strings.TrimSpace(rel["NAME"])
	osName := deriveOS(name, id)
	fullName := name
	if isSUSE(rel) {
		osName = "SUSE"
		switch {
		case name == "openSUSE Leap":
			fullName = "Leap"
		case rel["VERSION"] == "Tumbleweed":
			fullName = "Tumbleweed"
		}
	}
	g["os"] = osName
	g["osfullname"] = fullName
	g["os_family"] = osFamily(osName, id, rel["ID_LIKE"])
	if v := strings.TrimSpace(rel["VERSION_ID"]); v != "" {
		g["osrelease"] = v
	}
	if c := osCodename(rel, osName); c != "" {
		g["oscodename"] = c
	}
	if rel, ok := g["osrelease"].(string); ok {
		for k, v := range osReleaseData(osName, fullName, rel) {
			g[k] = v
		}
	}
	return g
}

// replaceLinux strips " Linux" / " GNU/Linux" from a distribution name,
// as Salt does before looking the name up.
var replaceLinux = regexp.MustCompile(`(?i)\W(?:gnu/)?linux`)

// osNameMap maps the first ten characters (lower-cased, no spaces) of a
// distribution's name to the os grain Salt has always reported.
var osNameMap = map[string]string{
	"redhatente": "RedHat",
	"gentoobase": "Gentoo",
	"archarm":    "Arch ARM",
	"arch":       "Arch",
	"debian":     "Debian",
	"raspbian":   "Raspbian",
	"fedoraremi": "Fedora",
	"chapeau":    "Chapeau",
	"korora":     "Korora",
	"amazonami":  "Amazon",
	"alt":        "ALT",
	"enterprise": "OEL",
	"oracleserv": "OEL",
	"cloudserve": "CloudLinux",
	"cloudlinux": "CloudLinux",
	"almalinux":  "AlmaLinux",
	"pidora":     "Fedora",
	"scientific": "ScientificLinux",
	"synology":   "Synology",
	"nilrt":      "NILinuxRT",
	"poky":       "Poky",
	"manjaro":    "Manjaro",
	"manjarolin": "Manjaro",
	"univention": "Univention",
	"antergos":   "Antergos",
	"sles":       "SUSE",
	"void":       "Void",
	"slesexpand": "RES",
	"linuxmint":  "Mint",
	"neon":       "KDE neon",
	"pop":        "Pop",
	"rocky":      "Rocky",
	"alibabaclo": "Alinux",
	"mendel":     "Mendel",
}

// deriveOS computes the os grain from os-release NAME and ID.
func deriveOS(name, id string) string {
	switch {
	case id == "astra" && name == "Astra Linux (Orel)":
		return "AstraLinuxCE"
	case id == "astra" && name == "Astra Linux (Smolensk)":
		return "AstraLinuxSE"
	case id == "pop" && name == "Pop!_OS":
		return "Pop"
	}
	distro := strings.TrimSpace(replaceLinux.ReplaceAllString(name, ""))
	short := strings.ToLower(strings.ReplaceAll(distro, " ", ""))
	if r := []rune(short); len(r) > 10 {
		short = string(r[:10])
	}
	if os, ok := osNameMap[short]; ok {
		return os
	}
	return distro
}

// osFamilyMap maps the os grain to os_family; an os not listed is its own
// family.
var osFamilyMap = map[string]string{
	"Ubuntu": "Debian", "Fedora": "RedHat", "Chapeau": "RedHat", "Korora": "RedHat",
	"FedBerry": "RedHat", "CentOS": "RedHat", "CentOS Stream": "RedHat", "GoOSe": "RedHat",
	"Scientific": "RedHat", "Amazon": "RedHat", "CloudLinux": "RedHat", "AlmaLinux": "RedHat",
	"OVS": "RedHat", "OEL": "RedHat", "XCP": "RedHat", "XCP-ng": "RedHat", "XenServer": "RedHat",
	"RES": "RedHat", "Sangoma": "RedHat", "VMware Photon OS": "RedHat", "Mandrake": "Mandriva",
	"Mint": "Debian", "VMwareESX": "VMware", "Bluewhite64": "Bluewhite", "Slamd64": "Slackware",
	"SLES": "Suse", "SUSE Enterprise Server": "Suse", "SLED": "Suse", "openSUSE": "Suse",
	"SUSE": "Suse", "openSUSE Leap": "Suse", "openSUSE Tumbleweed": "Suse", "SLES_SAP": "Suse",
	"Arch ARM": "Arch", "Manjaro": "Arch", "Manjaro ARM": "Arch", "Antergos": "Arch",
	"EndeavourOS": "Arch", "ALT": "RedHat", "Trisquel": "Debian", "GCEL": "Debian",
	"Linaro": "Debian", "elementary OS": "Debian", "elementary": "Debian", "Univention": "Debian",
	"ScientificLinux": "RedHat", "Raspbian": "Debian", "Devuan": "Debian", "antiX": "Debian",
	"Kali": "Debian", "Parrot OS": "Debian", "neon": "Debian", "Cumulus": "Debian",
	"Deepin": "Debian", "NILinuxRT": "NILinuxRT", "KDE neon": "Debian", "Void": "Void",
	"IDMS": "Debian", "Funtoo": "Gentoo", "TurnKey": "Debian", "Pop": "Debian",
	"Rocky": "RedHat", "AstraLinuxCE": "Debian", "AstraLinuxSE": "Debian", "Alinux": "RedHat",
	"Mendel": "Debian", "OSMC": "Debian", "RedHat": "RedHat",
}

// osFamily names the family. Distributions Salt reads purely from
// os-release take it from ID/ID_LIKE (the oldest ancestor); the others
// from osFamilyMap. brine adds one fallback: an unknown distribution that
// declares ID_LIKE gets its ancestor's family rather than its own name.
func osFamily(osName, id, idLike string) string {
	switch id {
	case "almalinux", "astra", "debian", "linuxmint", "mendel", "pop", "rocky", "ubuntu":
		return prettyFamily(familyID(id, idLike))
	}
	if f, ok := osFamilyMap[osName]; ok {
		return f
	}
	if strings.TrimSpace(idLike) != "" {
		return prettyFamily(familyID(id, idLike))
	}
	return osName
}

func familyID(id, idLike string) string {
	ids := append([]string{id}, strings.Fields(idLike)...)
	for _, x := range ids {
		if x == "debian" || x == "ubuntu" {
			return "debian"
		}
	}
	return ids[len(ids)-1]
}

func prettyFamily(id string) string {
	switch id {
	case "fedora", "rhel", "centos":
		return "RedHat"
	case "suse", "opensuse", "sles":
		return "Suse"
	case "":
		return ""
	}
	return strings.ToUpper(id[:1]) + strings.ToLower(id[1:])
}

func isSUSE(rel map[string]string) bool {
	id := strings.ToLower(rel["ID"])
	if id == "sles" || id == "sled" || strings.HasPrefix(id, "opensuse") {
		return true
	}
	cpe := strings.Split(rel["CPE_NAME"], ":")
	vendor := ""
	switch {
	case len(cpe) > 2 && strings.HasPrefix(cpe[1], "/"):
		vendor = cpe[2]
	case len(cpe) > 3 && cpe[1] == "2.3":
		vendor = cpe[3]
	}
	vendor = strings.ToLower(vendor)
	return vendor == "suse" || vendor == "opensuse"
}

// versionCodename pulls "Blue Onyx" out of VERSION="9.3 (Blue Onyx)".
var versionCodename = regexp.MustCompile(`^\d[\d.+\-a-z]* \((.+)\)`)

// osCodename follows Salt: VERSION_CODENAME; for Rocky and Alma the name in
// VERSION's parentheses; for distributions Salt reads the legacy way, the
// PRETTY_NAME (Red Hat's excepted, whose codename is in VERSION).
func osCodename(rel map[string]string, osName string) string {
	if c, ok := rel["VERSION_CODENAME"]; ok && strings.TrimSpace(c) != "" {
		return strings.TrimSpace(c)
	}
	id := strings.ToLower(rel["ID"])
	fromVersion := func() string {
		if m := versionCodename.FindStringSubmatch(rel["VERSION"]); m != nil {
			return m[1]
		}
		return ""
	}
	switch id {
	case "almalinux", "rocky":
		return fromVersion()
	case "astra":
		return rel["VARIANT_ID"]
	case "debian", "linuxmint", "mendel", "pop", "ubuntu":
		return ""
	}
	if _, ok := rel["VERSION_CODENAME"]; ok {
		return fromVersion()
	}
	pretty := strings.TrimSpace(rel["PRETTY_NAME"])
	if strings.Contains(pretty, "Red Hat") {
		return fromVersion()
	}
	return pretty
}

// osReleaseData derives osrelease_info, osmajorrelease and osfinger.
func osReleaseData(osName, fullName, release string) map[string]any {
	g := map[string]any{}
	parts := strings.Split(release, ".")
	info := make([]any, len(parts))
	for i, p := range parts {
		if n, err := strconv.Atoi(p); err == nil && isDigits(p) {
			info[i] = n
		} else {
			info[i] = p
		}
	}
	g["osrelease_info"] = info
	if n, ok := info[0].(int); ok {
		g["osmajorrelease"] = n
	} else if n, err := strconv.Atoi(strings.TrimSpace(parts[0])); err == nil {
		g["osmajorrelease"] = n
	}
	name := fullName
	switch osName {
	case "Debian", "FreeBSD", "OpenBSD", "NetBSD", "Mac", "Raspbian":
		name = osName
	}
	ver := fmt.Sprint(info[0])
	if osName == "Ubuntu" || osName == "Pop" {
		ver = release
	}
	g["osfinger"] = name + "-" + ver
	return g
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// osArch is the package architecture: dpkg's names on Debian-like systems
// (amd64, arm64...), rpm's on RedHat and Suse, the CPU's elsewhere. Salt
// asks dpkg or rpm; brine maps the kernel's machine name instead of
// running a program.
func osArch(family, cpuarch string) string {
	switch family {
	case "Debian":
		switch cpuarch {
		case "x86_64":
			return "amd64"
		case "aarch64", "arm64":
			return "arm64"
		case "armv7l", "armv6l":
			return "armhf"
		case "i386", "i486", "i586", "i686":
			return "i386"
		case "ppc64le":
			return "ppc64el"
		case "mips64":
			return "mips64el"
		}
	case "RedHat", "Suse":
		switch cpuarch {
		case "armv7l":
			return "armv7hl"
		case "i486", "i586":
			return "i686"
		}
	}
	return cpuarch
}
