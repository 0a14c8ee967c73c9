package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/output"
)

func newJobsCmd(stdout, stderr io.Writer) *cobra.Command {
	var mf masterFlags
	var outFmt string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Look at the job cache (salt-run jobs.*)",
		Long: `Look at the master's job cache. Returns are kept for keep_jobs (default 24h)
and survive a master restart.

  brine jobs list                 recent jobs, oldest first
  brine jobs show JID             a job's returns, as brine TARGET FUNC printed them
  brine jobs active               jobs still running on some minion`,
	}
	mf.register(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVar(&outFmt, "out", "", "outputter for returns and lists (json, yaml, nested...)")

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List cached jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := mf.dial(cmd.Context())
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer c.Close()
			var rep bus.JobsReply
			if err := c.call(cmd.Context(), bus.APIJobs, bus.JobsRequest{Limit: limit}, &rep); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if outFmt == "json" {
				if rep.Jobs == nil {
					rep.Jobs = []bus.JobInfo{}
				}
				return printJSON(stdout, rep.Jobs)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JID\tFUNCTION\tTARGET\tRETURNED\tSTARTED\tUSER")
			for _, j := range rep.Jobs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.JID, j.Fun, targetString(j.Target), j.Returned, len(j.Minions),
					j.Issued.Local().Format(time.DateTime), j.User)
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "show at most this many of the newest jobs (0: all)")

	show := &cobra.Command{
		Use:   "show JID",
		Short: "Show a job's returns",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bus.ValidateJID(args[0]); err != nil {
				return usage("%v", err)
			}
			c, err := mf.dial(cmd.Context())
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer c.Close()
			var rep bus.JobReply
			if err := c.call(cmd.Context(), bus.APIJob, bus.JobsRequest{JID: args[0]}, &rep); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			p := &printer{w: stdout, errw: stderr, format: outFmt, static: false,
				opts:     output.Options{StateOutput: "full", Color: output.AutoColor(stdout)},
				returned: map[string]any{}, retcodes: map[string]int{}, formats: map[string]string{}}
			got := map[string]bool{}
			for i := range rep.Returns {
				r := rep.Returns[i]
				got[r.ID] = true
				p.ret(r.ID, &r)
			}
			var missing []string
			for _, id := range rep.Job.Minions {
				if !got[id] {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			format := outFmt
			if format == "" || format == "highstate" {
				format = "nested"
			}
			for _, id := range missing {
				_ = output.Write(stdout, format, id, "Minion did not return. [No response]", output.Options{Retcode: 1})
			}
			return nil
		},
	}

	active := &cobra.Command{
		Use:   "active",
		Short: "List jobs still running on minions (asks every minion with saltutil.running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := mf.dial(cmd.Context())
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer c.Close()
			w, err := newWatch(c, 3)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer w.close()
			jid, err := w.start(cmd.Context(), bus.PublishRequest{Fun: "saltutil.running", Target: bus.Target{Kind: "glob", Expr: "*"}, User: currentUser()})
			if err != nil {
				return publishError(err)
			}
			p := &printer{w: io.Discard, errw: stderr, static: true, returned: map[string]any{}, retcodes: map[string]int{}, formats: map[string]string{}}
			w.wait(cmd.Context(), p)
			type activeJob struct {
				JID       string   `json:"jid"`
				Function  string   `json:"fun"`
				Arguments any      `json:"arg"`
				Target    string   `json:"tgt"`
				Running   []string `json:"running"`
			}
			jobs := map[string]*activeJob{}
			for id, v := range p.returned {
				list, _ := v.([]any)
				for _, item := range list {
					m, _ := item.(map[string]any)
					j, _ := m["jid"].(string)
					if j == "" || j == jid {
						continue
					}
					aj := jobs[j]
					if aj == nil {
						fun, _ := m["fun"].(string)
						tgt, _ := m["tgt"].(string)
						aj = &activeJob{JID: j, Function: fun, Arguments: m["arg"], Target: tgt}
						jobs[j] = aj
					}
					aj.Running = append(aj.Running, id)
				}
			}
			out := make([]*activeJob, 0, len(jobs))
			for _, j := range jobs {
				sort.Strings(j.Running)
				out = append(out, j)
			}
			sort.Slice(out, func(i, k int) bool { return out[i].JID < out[k].JID })
			if outFmt == "json" {
				return printJSON(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JID\tFUNCTION\tTARGET\tRUNNING ON")
			for _, j := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", j.JID, j.Function, j.Target, strings.Join(j.Running, ","))
			}
			if len(w.missing) > 0 {
				var ids []string
				for id := range w.missing {
					ids = append(ids, id)
				}
				sort.Strings(ids)
				fmt.Fprintf(stderr, "no answer from: %s\n", strings.Join(ids, ", "))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list, show, active)
	return cmd
}

func targetString(t bus.Target) string {
	if t.Kind == "" || t.Kind == "glob" {
		return t.Expr
	}
	return t.Kind + ":" + t.Expr
}
