// Package hosts reads and edits /etc/hosts and registers Salt's hosts.*
// execution functions (hosts.list_hosts, hosts.add_host, hosts.rm_host
// ...). Edits keep every line they do not touch exactly as it was:
// comments, blank lines, spacing, entries for other names. The host
// states use the same File.
package hosts

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/internal/platform"
)

// DefaultPath is the hosts file; the minion option hosts.file overrides
// it, as in Salt.
const DefaultPath = "/etc/hosts"

// Path returns the hosts file for this minion.
func Path(env *api.Env) string {
	if env != nil {
		if p, ok := env.Opts["hosts.file"].(string); ok && p != "" {
			return p
		}
	}
	return DefaultPath
}

// Check fails on hosts that are not Debian-family.
func Check(env *api.Env) error { return platform.RequireDebian(env, "hosts") }

// Line is one line of the file: an entry (IP set) or anything else kept
// verbatim (Raw).
type Line struct {
	IP      string
	Names   []string
	Comment string
	// Raw is the original text; it is written back unless the entry was
	// changed.
	Raw   string
	dirty bool
}

// File is a parsed hosts file.
type File struct {
	Lines []Line
}

// Parse reads hosts(5) text.
func Parse(text string) *File {
	f := &File{}
	if text == "" {
		return f
	}
	for _, raw := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		l := Line{Raw: raw}
		body, comment, _ := strings.Cut(raw, "#")
		fields := strings.Fields(body)
		if len(fields) >= 2 {
			l.IP = fields[0]
			l.Names = fields[1:]
			l.Comment = strings.TrimSpace(comment)
		}
		f.Lines = append(f.Lines, l)
	}
	return f
}

// Render writes the file back; untouched lines keep their text.
func (f *File) Render() string {
	var b strings.Builder
	for _, l := range f.Lines {
		switch {
		case !l.dirty:
			b.WriteString(l.Raw)
		case l.Comment != "":
			fmt.Fprintf(&b, "%s\t%s # %s", l.IP, strings.Join(l.Names, " "), l.Comment)
		default:
			fmt.Fprintf(&b, "%s\t%s", l.IP, strings.Join(l.Names, " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// List is Salt's hosts.list_hosts: each address with its aliases (lines
// with the same address merged, in file order) and comment.
func (f *File) List() map[string]any {
	out := map[string]any{}
	for _, l := range f.Lines {
		if l.IP == "" {
			continue
		}
		entry, ok := out[l.IP].(map[string]any)
		if !ok {
			entry = map[string]any{"aliases": []any{}}
			out[l.IP] = entry
		}
		for _, n := range l.Names {
			entry["aliases"] = append(entry["aliases"].([]any), n)
		}
		if l.Comment != "" {
			entry["comment"] = l.Comment
		}
	}
	return out
}

// Aliases returns the names an address has, in file order.
func (f *File) Aliases(ip string) []string {
	var out []string
	for _, l := range f.Lines {
		if l.IP == ip {
			out = append(out, l.Names...)
		}
	}
	return out
}

// IPs returns the addresses a name is listed under, in file order.
func (f *File) IPs(name string) []string {
	var out []string
	for _, l := range f.Lines {
		for _, n := range l.Names {
			if n == name {
				out = append(out, l.IP)
				break
			}
		}
	}
	return out
}

// Has reports whether the address lists the name.
func (f *File) Has(ip, name string) bool {
	for _, n := range f.Aliases(ip) {
		if n == name {
			return true
		}
	}
	return false
}

// Add lists name under ip: appended to the first line for ip, or on a new
// line at the end. It reports whether anything changed.
func (f *File) Add(ip, name string) bool {
	if f.Has(ip, name) {
		return false
	}
	for i := range f.Lines {
		if f.Lines[i].IP == ip {
			f.Lines[i].Names = append(f.Lines[i].Names, name)
			f.Lines[i].dirty = true
			return true
		}
	}
	f.Lines = append(f.Lines, Line{IP: ip, Names: []string{name}, dirty: true})
	return true
}

// Remove takes name off every line for ip, dropping lines left without a
// name. It reports whether anything changed.
func (f *File) Remove(ip, name string) bool {
	changed := false
	kept := f.Lines[:0]
	for _, l := range f.Lines {
		if l.IP == ip {
			var names []string
			for _, n := range l.Names {
				if n != name {
					names = append(names, n)
				}
			}
			if len(names) != len(l.Names) {
				changed = true
				if len(names) == 0 {
					continue
				}
				l.Names, l.dirty = names, true
			}
		}
		kept = append(kept, l)
	}
	f.Lines = kept
	return changed
}

// Set makes names the only aliases of ip (none removes its lines).
func (f *File) Set(ip string, names []string) bool {
	if strings.Join(f.Aliases(ip), " ") == strings.Join(names, " ") {
		return false
	}
	kept := f.Lines[:0]
	placed := false
	for _, l := range f.Lines {
		if l.IP == ip {
			if placed || len(names) == 0 {
				continue
			}
			l.Names, l.dirty, placed = append([]string(nil), names...), true, true
		}
		kept = append(kept, l)
	}
	f.Lines = kept
	if !placed && len(names) > 0 {
		f.Lines = append(f.Lines, Line{IP: ip, Names: append([]string(nil), names...), dirty: true})
	}
	return true
}

// ValidIP reports whether s is an IPv4 or IPv6 address.
func ValidIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// ValidName refuses names that would break the file's syntax.
func ValidName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n#")
}

// Read parses the hosts file at path (a missing file is empty).
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(string(b)), nil
}

// Write replaces the hosts file at path (in place where it is a mount
// point, as in containers).
func Write(path string, f *File) error {
	return platform.WriteFile(path, []byte(f.Render()), 0o644)
}
