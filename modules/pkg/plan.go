package pkg

import (
	"context"
	"fmt"
	"strings"
)

// Plan works out what apt-get install must be given so that every target
// is installed at a version its spec accepts. installed maps names to
// installed versions. It returns the targets that need work and the
// apt-get arguments for them; a range or glob spec ("≥1.2", "1.2*") is
// resolved against apt's version table to an exact pin.
func Plan(ctx context.Context, targets []Target, installed map[string]string) (todo []Target, args []string, err error) {
	var ranged []string
	for _, t := range targets {
		cur, ok := installed[t.Name]
		if ok && t.Version.Match(cur) {
			continue
		}
		todo = append(todo, t)
		if _, exact := t.Version.Exact(); !exact && t.Version != "" {
			ranged = append(ranged, t.Name)
		}
	}
	var pol map[string]Policy
	if len(ranged) > 0 {
		if pol, err = PolicyOf(ctx, ranged...); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range todo {
		if _, exact := t.Version.Exact(); exact || t.Version == "" {
			args = append(args, t.Arg())
			continue
		}
		p, ok := pol[t.Name]
		if !ok {
			return nil, nil, fmt.Errorf("E: Unable to locate package %s", t.Name)
		}
		v := ""
		for _, av := range p.Available {
			if t.Version.Match(av) {
				v = av
				break
			}
		}
		if v == "" {
			return nil, nil, fmt.Errorf("no version of %s matching '%s' is available (apt knows: %s)",
				t.Name, t.Version, strings.Join(p.Available, ", "))
		}
		args = append(args, t.Name+"="+v)
	}
	return todo, args, nil
}

// Pinned reports whether any apt argument pins a version, which needs
// --allow-downgrades when the pin is below what is installed.
func Pinned(args []string) bool {
	for _, a := range args {
		if strings.Contains(a, "=") {
			return true
		}
	}
	return false
}

// Unmet lists the targets that the installed set still does not satisfy,
// as "name" or "name (version)" for messages.
func Unmet(targets []Target, installed map[string]string) []string {
	var out []string
	for _, t := range targets {
		if cur, ok := installed[t.Name]; ok && t.Version.Match(cur) {
			continue
		}
		if t.Version != "" {
			out = append(out, fmt.Sprintf("%s (%s)", t.Name, t.Version))
		} else {
			out = append(out, t.Name)
		}
	}
	return out
}
