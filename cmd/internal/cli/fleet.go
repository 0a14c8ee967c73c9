package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/brine-cm/brine/bus"
	"github.com/brine-cm/brine/master"
	"github.com/brine-cm/brine/output"
	"github.com/brine-cm/brine/target"
)

// runFlags are the options of `brine TARGET FUNC`, named as salt's.
type runFlags struct {
	mf masterFlags

	pcre, list, grain, grainPCRE, pillar, pillarPCRE, compound, nodegroup, ipcidr bool

	timeout      int
	async        bool
	batch        string
	out          string
	static       bool
	stateOutput  string
	stateVerbose bool
	noColor      bool
	forceColor   bool
}

const runHelp = `Run an execution function on the minions a target matches, as salt does,
and print their returns as they arrive.

  brine '*' test.ping
  brine 'web*' state.apply test=True
  brine -G 'os:Debian' cmd.run 'uname -a'
  brine -L web1,web2 state.sls nginx
  brine -C 'G@roles:web and not web3' state.apply
  brine -b 25% '*' state.apply          (a quarter of the minions at a time)
  brine --async '*' state.apply         (print the job ID; see brine jobs show)

The target is a glob on minion IDs unless a flag says otherwise. A target
that matches no accepted minion is an error and publishes nothing. Use
"brine run TARGET FUNC" when the target is also the name of a brine command.

Exit codes: 0 every targeted minion returned and succeeded; 1 usage,
connection or master error; 2 the target matched no minion; 11 at least one
minion did not return, or returned a failure (a function error, an SLS that
did not compile, a state that returned False).`

func (f *runFlags) register(fl *pflag.FlagSet) {
	f.mf.register(fl)
	fl.BoolVarP(&f.pcre, "pcre", "E", false, "target is a regular expression on minion IDs")
	fl.BoolVarP(&f.list, "list", "L", false, "target is a comma-separated list of minion IDs")
	fl.BoolVarP(&f.grain, "grain", "G", false, "target is a grain glob: key:value (nested key:sub:value)")
	fl.BoolVarP(&f.grainPCRE, "grain-pcre", "P", false, "target is a grain regular expression: key:regex")
	fl.BoolVarP(&f.pillar, "pillar", "I", false, "target is a pillar glob: key:value")
	fl.BoolVarP(&f.pillarPCRE, "pillar-pcre", "J", false, "target is a pillar regular expression: key:regex")
	fl.BoolVarP(&f.compound, "compound", "C", false, "target is a compound expression: G@os:Debian and web* or L@a,b")
	fl.BoolVarP(&f.nodegroup, "nodegroup", "N", false, "target is a nodegroup from the master's configuration")
	fl.BoolVarP(&f.ipcidr, "ipcidr", "S", false, "target is an IP address or CIDR network")
	fl.IntVarP(&f.timeout, "timeout", "t", 5, "seconds to wait for a minion after its last sign of life (a running job reports every 2s)")
	fl.BoolVar(&f.async, "async", false, "publish the job, print its ID and return at once")
	fl.StringVarP(&f.batch, "batch", "b", "", "run on N minions (or N% of them) at a time")
	fl.StringVar(&f.out, "out", "", "outputter: "+strings.Join(output.Names(), ", ")+" (default: what each return suits)")
	fl.BoolVar(&f.static, "static", false, "print all returns together once every minion answered (one JSON document with --out json)")
	fl.StringVar(&f.stateOutput, "state-output", "full", "highstate layout: full, terse, mixed or changes")
	fl.BoolVar(&f.stateVerbose, "state-verbose", true, "show states that succeeded without changes (false hides them)")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the output")
	fl.BoolVar(&f.forceColor, "force-color", false, "colour the output even when it is not a terminal")
}

func (f *runFlags) kind() (target.Kind, error) {
	var kinds []target.Kind
	for _, k := range []struct {
		set  bool
		kind target.Kind
	}{
		{f.pcre, target.PCRE}, {f.list, target.List}, {f.grain, target.Grain}, {f.grainPCRE, target.GrainPCRE},
		{f.pillar, target.Pillar}, {f.pillarPCRE, target.PillarPCRE}, {f.compound, target.Compound},
		{f.nodegroup, target.Nodegroup}, {f.ipcidr, target.IPCIDR},
	} {
		if k.set {
			kinds = append(kinds, k.kind)
		}
	}
	switch len(kinds) {
	case 0:
		return target.Glob, nil
	case 1:
		return kinds[0], nil
	}
	return "", fmt.Errorf("choose one target type, not %d (-E, -L, -G, -P, -I, -J, -C, -N, -S)", len(kinds))
}

// setupRoot makes the root command `brine TARGET FUNC` and adds the fleet
// commands.
func setupRoot(root *cobra.Command, stdout, stderr io.Writer) {
	f := &runFlags{}
	root.Use = "brine [flags] TARGET FUNC [ARG...] [KEY=VALUE...]"
	root.Long += "\n\n" + runHelp
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return f.run(cmd, args, stdout, stderr)
	}
	f.register(root.Flags())
	rf := &runFlags{}
	run := &cobra.Command{
		Use:   "run [flags] TARGET FUNC [ARG...] [KEY=VALUE...]",
		Short: "Run a function on the minions a target matches (salt)",
		Long:  runHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return rf.run(cmd, args, stdout, stderr)
		},
	}
	rf.register(run.Flags())
	root.AddCommand(run, newMasterCmd(stderr), newMinionCmd(stderr), newKeyCmd(stdout, stderr),
		newJobsCmd(stdout, stderr), newEventsCmd(stdout, stderr))
}

func (f *runFlags) run(cmd *cobra.Command, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return usage("need a target and a function, e.g. brine '*' test.ping")
	}
	expr, fun := args[0], args[1]
	kind, err := f.kind()
	if err != nil {
		return usage("%v", err)
	}
	if !strings.Contains(fun, ".") || strings.Contains(fun, "=") {
		return usage("%q is not a function name (module.function, e.g. test.ping)", fun)
	}
	if kind != target.Nodegroup && !strings.Contains(expr, "N@") {
		if _, err := target.Compile(kind, expr, nil); err != nil {
			return usage("%v; nothing was published", err)
		}
	}
	posArgs, kwargs, err := parseArgs(args[2:])
	if err != nil {
		return usage("%s: %v", fun, err)
	}
	if f.out != "" {
		if _, ok := output.Lookup(f.out); !ok {
			return usage("--out %s: unknown outputter (choose one of %s)", f.out, strings.Join(output.Names(), ", "))
		}
	}
	batch, err := parseBatch(f.batch)
	if err != nil {
		return usage("%v", err)
	}
	if f.timeout <= 0 {
		return usage("--timeout must be a positive number of seconds")
	}
	ctx := cmd.Context()
	c, err := f.mf.dial(ctx)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer c.Close()
	tgt := bus.Target{Kind: string(kind), Expr: expr}
	req := bus.PublishRequest{Fun: fun, Args: posArgs, Kwargs: kwargs, Target: tgt, User: currentUser()}
	p := f.printer(stdout, stderr)
	if batch != nil {
		return f.runBatch(ctx, c, req, batch, p, stderr)
	}
	if f.async {
		var rep bus.PublishReply
		if err := c.call(ctx, bus.APIPublish, req, &rep); err != nil {
			return publishError(err)
		}
		fmt.Fprintf(stdout, "Executed command with job ID: %s\n", rep.JID)
		return nil
	}
	w, err := newWatch(c, f.timeout)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer w.close()
	jid, err := w.start(ctx, req)
	if err != nil {
		return publishError(err)
	}
	res := w.wait(ctx, p)
	return p.finish(w, res, jid)
}

func currentUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return "sudo_" + u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

func publishError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == master.CodeNoMinions {
		return &exitError{code: ExitNoMinions, err: errors.New("No minions matched the target. No command was sent, no jid was assigned.")}
	}
	return &exitError{code: ExitError, err: err}
}

// batchSize is -b: a count, or a percentage of the targeted minions.
type batchSize struct {
	n       int
	percent bool
}

func parseBatch(s string) (*batchSize, error) {
	if s == "" {
		return nil, nil
	}
	pct := strings.HasSuffix(s, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || n <= 0 || (pct && n > 100) {
		return nil, fmt.Errorf("--batch %s: want a positive number or a percentage such as 25%%", s)
	}
	return &batchSize{n: n, percent: pct}, nil
}

func (b *batchSize) of(total int) int {
	if !b.percent {
		return b.n
	}
	return max(1, int(math.Ceil(float64(total)*float64(b.n)/100)))
}

// watch publishes jobs and follows their returns and heartbeats.
type watch struct {
	c       *adminClient
	timeout time.Duration
	rets    chan *nats.Msg
	beats   chan *nats.Msg
	subs    []*nats.Subscription
	// pending maps a minion to when it is given up, per job.
	pending map[string]time.Time
	jobOf   map[string]string // minion -> jid it is waited for
	missing map[string]string // minion -> reason it did not return
	expect  int
}

func newWatch(c *adminClient, timeout int) (*watch, error) {
	w := &watch{c: c, timeout: time.Duration(timeout) * time.Second, rets: make(chan *nats.Msg, 4096), beats: make(chan *nats.Msg, 4096),
		pending: map[string]time.Time{}, jobOf: map[string]string{}, missing: map[string]string{}}
	sub, err := c.nc.ChanSubscribe("brine.evt.*."+bus.OpHeartbeat, w.beats)
	if err != nil {
		return nil, err
	}
	w.subs = append(w.subs, sub)
	return w, nil
}

func (w *watch) close() {
	for _, s := range w.subs {
		_ = s.Unsubscribe()
	}
}

// start takes a job ID, listens for its returns, publishes the job and
// records whom to wait for.
func (w *watch) start(ctx context.Context, req bus.PublishRequest) (string, error) {
	var jr bus.JIDReply
	if err := w.c.call(ctx, bus.APIJID, struct{}{}, &jr); err != nil {
		return "", err
	}
	sub, err := w.c.nc.ChanSubscribe(bus.ReturnsOf(jr.JID), w.rets)
	if err != nil {
		return "", err
	}
	w.subs = append(w.subs, sub)
	if err := w.c.nc.Flush(); err != nil {
		return "", err
	}
	req.JID = jr.JID
	var rep bus.PublishReply
	if err := w.c.call(ctx, bus.APIPublish, req, &rep); err != nil {
		_ = sub.Unsubscribe()
		return "", err
	}
	offline := map[string]bool{}
	for _, id := range rep.NotConnected {
		offline[id] = true
	}
	deadline := time.Now().Add(w.timeout)
	for _, id := range rep.Minions {
		w.expect++
		if offline[id] {
			w.missing[id] = "Not connected"
			continue
		}
		w.pending[id] = deadline
		w.jobOf[id] = rep.JID
	}
	return rep.JID, nil
}

// waitResult is what a wait saw.
type waitResult struct {
	failed      bool // a minion returned a non-zero retcode
	interrupted bool
}

// wait prints returns until every pending minion returned or was given up
// on; with until set it returns as soon as until reports true.
func (w *watch) wait(ctx context.Context, p *printer) waitResult {
	return w.waitUntil(ctx, p, func() bool { return len(w.pending) == 0 })
}

func (w *watch) waitUntil(ctx context.Context, p *printer, done func() bool) waitResult {
	var res waitResult
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	p.progress(w.expect-len(w.pending)-len(w.missing), w.expect)
	for !done() {
		select {
		case <-ctx.Done():
			res.interrupted = true
			for id := range w.pending {
				w.missing[id] = "Interrupted"
				delete(w.pending, id)
			}
			return res
		case msg := <-w.rets:
			jid, id, ok := bus.ParseReturn(msg.Subject)
			if !ok {
				continue
			}
			var r bus.Return
			if err := json.Unmarshal(msg.Data, &r); err != nil {
				continue
			}
			if want, waited := w.jobOf[id]; waited && want != jid {
				continue
			}
			delete(w.pending, id)
			delete(w.missing, id)
			if r.Retcode != 0 {
				res.failed = true
			}
			p.ret(id, &r)
		case msg := <-w.beats:
			id, _, ok := bus.ParseEvent(msg.Subject)
			var ev bus.JobEvent
			if ok && json.Unmarshal(msg.Data, &ev) == nil && w.jobOf[id] == ev.JID {
				if _, still := w.pending[id]; still {
					w.pending[id] = time.Now().Add(w.timeout)
				}
			}
		case now := <-tick.C:
			for id, dl := range w.pending {
				if now.After(dl) {
					w.missing[id] = "No response"
					delete(w.pending, id)
				}
			}
		}
		p.progress(w.expect-len(w.pending)-len(w.missing), w.expect)
	}
	return res
}

func (f *runFlags) runBatch(ctx context.Context, c *adminClient, req bus.PublishRequest, b *batchSize, p *printer, stderr io.Writer) error {
	var exp bus.PublishReply
	if err := c.call(ctx, bus.APIExpect, bus.ExpectRequest{Target: req.Target}, &exp); err != nil {
		return publishError(err)
	}
	if len(exp.Minions) == 0 {
		return publishError(&apiError{Reply: bus.Reply{Code: master.CodeNoMinions}})
	}
	size := b.of(len(exp.Minions))
	w, err := newWatch(c, f.timeout)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer w.close()
	queue := exp.Minions
	var jids []string
	var res waitResult
	for len(queue) > 0 || len(w.pending) > 0 {
		if free := size - len(w.pending); free > 0 && len(queue) > 0 {
			next := queue[:min(free, len(queue))]
			queue = queue[len(next):]
			p.clearProgress()
			fmt.Fprintf(stderr, "\nExecuting run on %s\n\n", pyList(next))
			r := req
			r.Target = bus.Target{Kind: string(target.List), Expr: strings.Join(next, ",")}
			jid, err := w.start(ctx, r)
			if err != nil {
				var ae *apiError
				if errors.As(err, &ae) && ae.Code == master.CodeNoMinions {
					for _, id := range next {
						w.expect++
						w.missing[id] = "Not connected"
					}
					continue
				}
				return &exitError{code: ExitError, err: err}
			}
			jids = append(jids, jid)
		}
		// Wait until a slot frees up (or everything is done).
		before := len(w.pending)
		r := w.waitUntil(ctx, p, func() bool { return len(w.pending) < before || len(w.pending) == 0 })
		res.failed = res.failed || r.failed
		if r.interrupted {
			res.interrupted = true
			break
		}
	}
	return p.finish(w, res, strings.Join(jids, " "))
}

func pyList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + id + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// printer prints returns as they come, or all at the end with --static.
type printer struct {
	w, errw  io.Writer
	format   string
	static   bool
	opts     output.Options
	tty      bool
	shown    bool // a progress line is on screen
	returned map[string]any
	retcodes map[string]int
	formats  map[string]string
}

func (f *runFlags) printer(stdout, stderr io.Writer) *printer {
	return &printer{
		w: stdout, errw: stderr, format: f.out, static: f.static,
		opts: output.Options{
			StateOutput: f.stateOutput,
			HideClean:   !f.stateVerbose,
			Color:       (output.AutoColor(stdout) || f.forceColor) && !f.noColor,
		},
		tty:      isTerminal(stderr),
		returned: map[string]any{}, retcodes: map[string]int{}, formats: map[string]string{},
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *printer) progress(done, total int) {
	if !p.tty || total == 0 {
		return
	}
	fmt.Fprintf(p.errw, "\r\033[K[%d/%d minions returned]", done, total)
	p.shown = true
}

func (p *printer) clearProgress() {
	if p.shown {
		fmt.Fprint(p.errw, "\r\033[K")
		p.shown = false
	}
}

// decodeReturn reads a return value with numbers kept exact.
func decodeReturn(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	return v
}

func (p *printer) ret(id string, r *bus.Return) {
	v := decodeReturn(r.Return)
	format := p.format
	if format == "" {
		format = r.Out
	}
	if _, ok := output.Lookup(format); !ok {
		format = output.DefaultFormat(v)
	}
	p.returned[id] = v
	p.retcodes[id] = r.Retcode
	p.formats[id] = format
	if !p.static {
		p.clearProgress()
		p.print(id)
	}
}

func (p *printer) print(id string) {
	o := p.opts
	o.Retcode = p.retcodes[id]
	if err := output.Write(p.w, p.formats[id], id, p.returned[id], o); err != nil {
		fmt.Fprintf(p.errw, "brine: print the return of %s: %v\n", id, err)
	}
}

// finish prints what --static held back and the minions that did not
// return, and picks the exit code.
func (p *printer) finish(w *watch, res waitResult, jid string) error {
	p.clearProgress()
	var missing []string
	for id := range w.missing {
		missing = append(missing, id)
	}
	sort.Strings(missing)
	notReturned := func(id string) string { return "Minion did not return. [" + w.missing[id] + "]" }
	if p.static && p.format == "json" {
		all := map[string]any{}
		for id, v := range p.returned {
			all[id] = v
		}
		for _, id := range missing {
			all[id] = notReturned(id)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(all); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		_, _ = p.w.Write(buf.Bytes())
	} else {
		if p.static {
			ids := make([]string, 0, len(p.returned))
			for id := range p.returned {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				p.print(id)
			}
		}
		format := p.format
		if format == "" || format == "highstate" {
			format = "nested"
		}
		for _, id := range missing {
			o := p.opts
			o.Retcode = 1
			_ = output.Write(p.w, format, id, notReturned(id), o)
		}
	}
	if res.interrupted {
		return &exitError{code: ExitError, err: fmt.Errorf("interrupted; the job goes on: brine jobs show %s", jid)}
	}
	if len(missing) > 0 {
		fmt.Fprintf(p.errw, "\nNot every minion returned in time; a late return is kept in the job cache: brine jobs show %s\n", jid)
	}
	if len(missing) > 0 || res.failed {
		fmt.Fprintln(p.errw, "ERROR: Minions returned with non-zero exit code")
		return &exitError{code: ExitMinionsFailed}
	}
	return nil
}
