package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/brine-cm/brine/api"
	"github.com/brine-cm/brine/modules/plugin/sdk"
)

const docGetOption = `Return the value of an option, or None when it is not set.

    brine call --local ini.get_option /etc/php/8.2/cli/php.ini PHP memory_limit

section is the section name; an empty string ('') means the options before
the first section. separator defaults to "=".`

const docGetSection = `Return the options of one section as a mapping.

    brine call --local ini.get_section /etc/mysql/my.cnf mysqld`

const docGetINI = `Return a whole INI file: options before the first section at the top
level, each section as a nested mapping.`

const docSetOption = `Set options, creating sections and the file as needed, and return what
changed as {section: {option: {before, after}}} (top-level options as
{option: {before, after}}).

    brine call --local ini.set_option /etc/app.ini '{"server": {"port": 8080}}'`

const docRemoveOption = `Remove an option and return its old value, or None when it was not set.`

const docOptionsPresent = `Make sure options are set in an INI file. Only the lines that differ
change; comments and layout are kept. A file that does not exist is created
(Salt's ini.options_present requires it to exist).

    /etc/php/8.2/fpm/php.ini:
      ini.options_present:
        - separator: '='
        - strict: False
        - sections:
            PHP:
              memory_limit: 256M
              max_execution_time: 60
            Date:
              date.timezone: UTC

sections maps section names to their options; a value that is not a
mapping is an option before the first section. strict: True also removes
the options of the listed sections (and the top-level ones, when any are
listed) that are not declared. Changes are reported per section as
{option: {before, after}}.`

const docOptionsAbsent = `Make sure options are not set in an INI file.

    /etc/app.ini:
      ini.options_absent:
        - sections:
            server:
              - debug
              - trace

A section's value lists the options to remove; an entry whose value is
not a list names an option before the first section.`

type optionArgs struct {
	FileName  string  `arg:"file_name"`
	Section   string  `doc:"section name; '' for the options before the first section"`
	Option    string  `doc:"option name"`
	Separator *string `doc:"separator between option and value, default '='"`
}

type sectionArgs struct {
	FileName  string `arg:"file_name"`
	Section   string
	Separator *string
}

type fileArgs struct {
	FileName  string `arg:"file_name"`
	Separator *string
}

type setArgs struct {
	FileName  string `arg:"file_name"`
	Sections  map[string]any
	Separator *string
}

type presentArgs struct {
	Sections  map[string]any `doc:"{section: {option: value}}; a non-mapping value is a top-level option"`
	Separator *string        `doc:"separator between option and value, default '='"`
	Strict    bool           `doc:"also remove undeclared options of the listed sections"`
}

type absentArgs struct {
	Sections  map[string]any `doc:"{section: [option, ...]}; a non-list value names a top-level option"`
	Separator *string        `doc:"separator between option and value, default '='"`
}

func separator(s *string) string {
	if s == nil || *s == "" {
		return "="
	}
	return *s
}

func needFile(name string) error {
	if name == "" {
		return errors.New("file_name is required")
	}
	return nil
}

func getOption(_ context.Context, _ *api.Env, a *optionArgs) (any, error) {
	f, err := openExisting(a.FileName, a.Separator)
	if err != nil {
		return nil, err
	}
	if v, ok := f.get(a.Section, a.Option); ok {
		return v, nil
	}
	return nil, nil
}

func getSection(_ context.Context, _ *api.Env, a *sectionArgs) (any, error) {
	f, err := openExisting(a.FileName, a.Separator)
	if err != nil {
		return nil, err
	}
	_, vals := f.section(a.Section)
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		out[k] = v
	}
	return out, nil
}

func getINI(_ context.Context, _ *api.Env, a *fileArgs) (any, error) {
	f, err := openExisting(a.FileName, a.Separator)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	_, top := f.section("")
	for k, v := range top {
		out[k] = v
	}
	for _, s := range f.sections() {
		_, vals := f.section(s)
		m := make(map[string]any, len(vals))
		for k, v := range vals {
			m[k] = v
		}
		out[s] = m
	}
	return out, nil
}

func removeOption(_ context.Context, _ *api.Env, a *optionArgs) (any, error) {
	f, err := openExisting(a.FileName, a.Separator)
	if err != nil {
		return nil, err
	}
	old, found := f.remove(a.Section, a.Option)
	if !found {
		return nil, nil
	}
	if err := f.write(a.FileName); err != nil {
		return nil, err
	}
	return old, nil
}

// plan is the edit an INI state would make, computed before anything is
// written, so that test mode reports exactly what a real run changes.
type plan struct {
	file    *iniFile
	changes map[string]any
	notes   []string
}

func change(before any, after any) map[string]any {
	return map[string]any{"before": before, "after": after}
}

// record notes one option's change under its section (top-level options
// directly), in Salt's shape.
func (p *plan) record(section, key string, c map[string]any) {
	if section == "" {
		p.changes[key] = c
		return
	}
	m, _ := p.changes[section].(map[string]any)
	if m == nil {
		m = map[string]any{}
		p.changes[section] = m
	}
	m[key] = c
}

func where(section string) string {
	if section == "" {
		return ""
	}
	return " in section " + section
}

// splitSections separates the section mappings from top-level options.
func splitSections(sections map[string]any) (top map[string]any, named map[string]map[string]any) {
	top, named = map[string]any{}, map[string]map[string]any{}
	for k, v := range sections {
		if m, ok := v.(map[string]any); ok {
			named[k] = m
		} else {
			top[k] = v
		}
	}
	return top, named
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func scalar(section, key string, v any) (string, error) {
	s, ok := api.ScalarString(v)
	if !ok {
		return "", fmt.Errorf("option %s%s: expected a value, got a list or mapping", key, where(section))
	}
	return s, nil
}

func (p *plan) present(sections map[string]any, strict bool) error {
	top, named := splitSections(sections)
	apply := func(section string, opts map[string]any) error {
		for _, k := range sortedKeys(opts) {
			want, err := scalar(section, k, opts[k])
			if err != nil {
				return err
			}
			old, ok := p.file.get(section, k)
			if ok && old == want {
				continue
			}
			var before any
			if ok {
				before = old
			}
			p.file.set(section, k, want)
			p.record(section, k, change(before, want))
			p.notes = append(p.notes, fmt.Sprintf("Changed key %s%s.", k, where(section)))
		}
		if strict {
			keys, vals := p.file.section(section)
			for _, k := range keys {
				if _, declared := opts[k]; declared {
					continue
				}
				p.file.remove(section, k)
				p.record(section, k, change(vals[k], nil))
				p.notes = append(p.notes, fmt.Sprintf("Deleted key %s%s.", k, where(section)))
			}
		}
		return nil
	}
	if len(top) > 0 {
		if err := apply("", top); err != nil {
			return err
		}
	}
	for _, s := range sortedKeys(named) {
		if err := apply(s, named[s]); err != nil {
			return err
		}
	}
	return nil
}

func (p *plan) absent(sections map[string]any) {
	remove := func(section, key string) {
		old, ok := p.file.remove(section, key)
		if !ok {
			p.notes = append(p.notes, fmt.Sprintf("Key %s%s does not exist.", key, where(section)))
			return
		}
		p.record(section, key, change(old, nil))
		p.notes = append(p.notes, fmt.Sprintf("Deleted key %s%s.", key, where(section)))
	}
	for _, s := range sortedKeys(sections) {
		switch v := sections[s].(type) {
		case []any:
			for _, k := range v {
				if key, ok := api.ScalarString(k); ok {
					remove(s, key)
				}
			}
		case map[string]any:
			for _, k := range sortedKeys(v) {
				remove(s, k)
			}
		default:
			remove("", s)
		}
	}
}

// finish writes the plan (unless testing) and reports it as Salt does:
// "Changes take effect" or "No anomaly detected".
func (p *plan) finish(req *sdk.Request) api.Result {
	if len(p.changes) == 0 {
		return api.Succeeded("No anomaly detected", nil)
	}
	detail := strings.Join(p.notes, "\n")
	if req.Test {
		return api.Pending(fmt.Sprintf("%s would be changed:\n%s", req.Name, detail), p.changes)
	}
	if err := p.file.write(req.Name); err != nil {
		return api.Failed(fmt.Sprintf("Unable to write %s: %v", req.Name, err))
	}
	return api.Succeeded("Changes take effect\n"+detail, p.changes)
}

func optionsPresent(_ context.Context, req *sdk.Request, a *presentArgs) api.Result {
	f, _, err := readINI(req.Name, separator(a.Separator))
	if err != nil {
		return api.Failed(err.Error())
	}
	p := &plan{file: f, changes: map[string]any{}}
	if err := p.present(a.Sections, a.Strict); err != nil {
		return api.Failed(err.Error())
	}
	return p.finish(req)
}

func optionsAbsent(_ context.Context, req *sdk.Request, a *absentArgs) api.Result {
	f, exists, err := readINI(req.Name, separator(a.Separator))
	if err != nil {
		return api.Failed(err.Error())
	}
	if !exists {
		return api.Succeeded("No anomaly detected", nil)
	}
	p := &plan{file: f, changes: map[string]any{}}
	p.absent(a.Sections)
	return p.finish(req)
}

// setOption is ini.set_option: options_present's edit, applied at once.
func setOption(_ context.Context, _ *api.Env, a *setArgs) (any, error) {
	if err := needFile(a.FileName); err != nil {
		return nil, err
	}
	f, _, err := readINI(a.FileName, separator(a.Separator))
	if err != nil {
		return nil, err
	}
	p := &plan{file: f, changes: map[string]any{}}
	if err := p.present(a.Sections, false); err != nil {
		return nil, err
	}
	if len(p.changes) > 0 {
		if err := f.write(a.FileName); err != nil {
			return nil, err
		}
	}
	return p.changes, nil
}

// openExisting reads an ini file the execution functions need to exist: a
// path that is not absolute or a missing file is an error naming it.
func openExisting(path string, sep *string) (*iniFile, error) {
	if err := needFile(path); err != nil {
		return nil, err
	}
	f, exists, err := readINI(path, separator(sep))
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("%s: %w", path, os.ErrNotExist)
	}
	return f, nil
}
