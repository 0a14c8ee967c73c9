package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// iniFile is an INI file kept line by line, so that an edit changes only
// the lines it must: comments, blank lines, ordering and the spacing
// around each separator stay as the author wrote them.
type iniFile struct {
	sep   string
	lines []iniLine
	// trailingNewline records whether the file ended with one.
	trailingNewline bool
}

type lineKind int

const (
	lineOther lineKind = iota // blank, comment, or text we do not touch
	lineSection
	lineOption
)

type iniLine struct {
	kind    lineKind
	raw     string
	section string // the section the line belongs to; "" before the first header
	key     string
	// valueAt is where the value starts in raw (options only).
	valueAt int
}

func (l iniLine) value() string { return strings.TrimSpace(l.raw[l.valueAt:]) }

func parseINI(b []byte, sep string) *iniFile {
	f := &iniFile{sep: sep, trailingNewline: len(b) == 0 || bytes.HasSuffix(b, []byte("\n"))}
	text := strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if text == "" && len(b) <= 1 {
		return f
	}
	section := ""
	for _, raw := range strings.Split(text, "\n") {
		t := strings.TrimSpace(raw)
		switch {
		case t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";"):
			f.lines = append(f.lines, iniLine{kind: lineOther, raw: raw, section: section})
		case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
			section = strings.TrimSpace(t[1 : len(t)-1])
			f.lines = append(f.lines, iniLine{kind: lineSection, raw: raw, section: section})
		default:
			i := strings.Index(raw, sep)
			if i <= 0 || strings.TrimSpace(raw[:i]) == "" {
				f.lines = append(f.lines, iniLine{kind: lineOther, raw: raw, section: section})
				continue
			}
			f.lines = append(f.lines, iniLine{kind: lineOption, raw: raw, section: section,
				key: strings.TrimSpace(raw[:i]), valueAt: i + len(sep)})
		}
	}
	return f
}

// readINI reads path; a missing file is an empty one.
func readINI(path, sep string) (*iniFile, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return parseINI(nil, sep), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return parseINI(b, sep), true, nil
}

func (f *iniFile) bytes() []byte {
	var b strings.Builder
	for i, l := range f.lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.raw)
	}
	if len(f.lines) > 0 && f.trailingNewline {
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// get returns an option's value; the first occurrence counts.
func (f *iniFile) get(section, key string) (string, bool) {
	for _, l := range f.lines {
		if l.kind == lineOption && l.section == section && l.key == key {
			return l.value(), true
		}
	}
	return "", false
}

func (f *iniFile) hasSection(section string) bool {
	for _, l := range f.lines {
		if l.kind == lineSection && l.section == section {
			return true
		}
	}
	return false
}

// section returns a section's options in file order.
func (f *iniFile) section(section string) ([]string, map[string]string) {
	var keys []string
	vals := map[string]string{}
	for _, l := range f.lines {
		if l.kind == lineOption && l.section == section {
			if _, dup := vals[l.key]; !dup {
				keys = append(keys, l.key)
				vals[l.key] = l.value()
			}
		}
	}
	return keys, vals
}

// sections lists the section names in file order.
func (f *iniFile) sections() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range f.lines {
		if l.kind == lineSection && !seen[l.section] {
			seen[l.section] = true
			out = append(out, l.section)
		}
	}
	return out
}

func (f *iniFile) newOptionLine(section, key, value string) iniLine {
	sep := f.sep
	if strings.TrimSpace(sep) == sep && sep != "" {
		sep = " " + sep + " "
	}
	raw := key + sep + value
	return iniLine{kind: lineOption, raw: raw, section: section, key: key, valueAt: len(key) + len(sep)}
}

// set makes section.key equal value, editing the line in place when the
// option exists, else adding it after the section's last option (and the
// section at the end of the file when it does not exist).
func (f *iniFile) set(section, key, value string) {
	for i, l := range f.lines {
		if l.kind == lineOption && l.section == section && l.key == key {
			prefix := l.raw[:l.valueAt]
			rest := l.raw[l.valueAt:]
			pad := rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))] // the author's spacing after the separator
			f.lines[i].raw = prefix + pad + value
			return
		}
	}
	// Insert after the section's last option; in a section with none,
	// after its last non-blank line (header or comments).
	lastOption, lastText := -1, -1
	found := section == ""
	for i, l := range f.lines {
		if l.section != section {
			continue
		}
		switch {
		case l.kind == lineSection:
			found = true
			lastText = i
		case l.kind == lineOption:
			lastOption = i
		case strings.TrimSpace(l.raw) != "" && section != "":
			lastText = i
		}
	}
	at := lastOption
	if at < 0 {
		at = lastText
	}
	line := f.newOptionLine(section, key, value)
	if section == "" && at < 0 {
		f.lines = append([]iniLine{line}, f.lines...)
		return
	}
	if !found {
		if n := len(f.lines); n > 0 && strings.TrimSpace(f.lines[n-1].raw) != "" {
			f.lines = append(f.lines, iniLine{kind: lineOther, section: f.lines[n-1].section})
		}
		f.lines = append(f.lines, iniLine{kind: lineSection, raw: "[" + section + "]", section: section}, line)
		f.trailingNewline = true
		return
	}
	f.lines = append(f.lines[:at+1], append([]iniLine{line}, f.lines[at+1:]...)...)
}

// remove deletes every line of section.key and returns the first value.
func (f *iniFile) remove(section, key string) (string, bool) {
	var old string
	found := false
	out := f.lines[:0]
	for _, l := range f.lines {
		if l.kind == lineOption && l.section == section && l.key == key {
			if !found {
				old, found = l.value(), true
			}
			continue
		}
		out = append(out, l)
	}
	f.lines = out
	return old, found
}

// write replaces path atomically, keeping an existing file's mode and
// owner; a new file is created 0644.
func (f *iniFile) write(path string) error {
	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".ini-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
