package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/config"
	"github.com/brine-cm/brine/modules"
	"github.com/brine-cm/brine/states"
)

func newDocCmd(stdout io.Writer) *cobra.Command {
	var cfgPath, stateDir string
	cmd := &cobra.Command{
		Use:   "doc [FUNC|MODULE]",
		Short: "Show documentation of execution and state functions (sys.doc)",
		Long: `Show the documentation of execution functions (what brine call runs) and
state functions (what SLS files declare).

  brine doc                 list every function with its summary
  brine doc file            everything in the file modules
  brine doc file.managed    one function

Plugins in plugin_dirs and <state_dir>/plugins are documented with the
built-ins; --config and --state-dir say where to find them.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			closePlugins, err := docPlugins(cmd, cfgPath, stateDir)
			if err != nil {
				return usage("doc: %v", err)
			}
			defer closePlugins()
			query := ""
			if len(args) == 1 {
				query = strings.TrimSuffix(args[0], ".")
			}
			text, ok := docText(query)
			if !ok {
				return usage("doc: no execution or state function or module named '%s'", query)
			}
			_, err = io.WriteString(stdout, text)
			return err
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "minion configuration file, for its plugin directories (default "+config.DefaultMinionPath+", optional)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "the minion's state directory, whose plugins/ holds synced plugins (default from state_dir)")
	return cmd
}

// docEntry is one function from either registry.
type docEntry struct {
	name, kind, doc string
	args            []string
}

func docEntries(query string) []docEntry {
	match := func(name string) bool {
		if query == "" || name == query {
			return true
		}
		return !strings.Contains(query, ".") && strings.HasPrefix(name, query+".")
	}
	var out []docEntry
	for _, n := range modules.Names() {
		if match(n) {
			f, _ := modules.Lookup(n)
			out = append(out, docEntry{name: n, kind: "execution function", doc: f.Doc, args: f.Params})
		}
	}
	for _, n := range states.Names() {
		if match(n) {
			f, _ := states.Lookup(n)
			out = append(out, docEntry{name: n, kind: "state function", doc: f.Doc, args: f.Args})
		}
	}
	return out
}

// docText renders the documentation for query: a summary line per function
// when listing everything, the full text otherwise.
func docText(query string) (string, bool) {
	entries := docEntries(query)
	if len(entries) == 0 {
		return "", false
	}
	var b strings.Builder
	if query == "" {
		for _, kind := range []string{"execution function", "state function"} {
			b.WriteString(strings.ToUpper(kind[:1]) + kind[1:] + "s:\n")
			for _, e := range entries {
				if e.kind == kind {
					fmt.Fprintf(&b, "  %-40s %s\n", e.name, summary(e.doc))
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("brine doc NAME shows one function or module in full.\n")
		return b.String(), true
	}
	for i, e := range entries {
		if i > 0 {
			b.WriteString("\n")
		}
		args := "none"
		if len(e.args) > 0 {
			args = strings.Join(e.args, ", ")
		}
		label := "arguments"
		if e.kind == "execution function" {
			label = "positional arguments"
		}
		fmt.Fprintf(&b, "%s (%s; %s: %s)\n\n", e.name, e.kind, label, args)
		doc := strings.TrimSpace(e.doc)
		if doc == "" {
			doc = "(undocumented)"
		}
		for _, l := range strings.Split(doc, "\n") {
			if strings.TrimSpace(l) == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String(), true
}

// summary is the first sentence of the first paragraph.
func summary(doc string) string {
	para, _, _ := strings.Cut(strings.TrimSpace(doc), "\n\n")
	para = strings.Join(strings.Fields(para), " ")
	if i := strings.Index(para, ". "); i >= 0 {
		para = para[:i+1]
	}
	return para
}
