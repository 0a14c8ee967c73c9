package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/bus"
)

func newKeyCmd(stdout, stderr io.Writer) *cobra.Command {
	var mf masterFlags
	var outFmt string
	cmd := &cobra.Command{
		Use:   "key",
		Short: "List, accept, reject and delete minion keys (salt-key)",
		Long: `Manage minion keys on the master. A new minion's key is pending until
accepted; accepting takes effect at once, and rejecting or deleting a key
cuts the minion off at once. IDs may be globs ('web*').

  brine key list
  brine key accept web1            brine key accept --all
  brine key reject 'db*'           brine key delete web1
  brine key fingerprint --all      (compare with the minion's log line)`,
	}
	mf.register(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVar(&outFmt, "out", "", "json prints the key lists as JSON")

	list := &cobra.Command{
		Use:   "list",
		Short: "List keys by state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := mf.dial(cmd.Context())
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer c.Close()
			var rep bus.KeysReply
			if err := c.call(cmd.Context(), bus.APIKeys, struct{}{}, &rep); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if outFmt == "json" {
				return printJSON(stdout, map[string]any{"minions": nonNil(rep.Accepted), "minions_pre": nonNil(rep.Pending), "minions_rejected": nonNil(rep.Rejected)})
			}
			var b strings.Builder
			for _, sec := range []struct {
				title string
				ids   []string
			}{{"Accepted Keys:", rep.Accepted}, {"Unaccepted Keys:", rep.Pending}, {"Rejected Keys:", rep.Rejected}} {
				b.WriteString(sec.title + "\n")
				for _, id := range sec.ids {
					b.WriteString(id + "\n")
				}
			}
			_, err = io.WriteString(stdout, b.String())
			return err
		},
	}
	op := func(name, short, apiOp, verb string, include string) *cobra.Command {
		var all, incl, yes bool
		c := &cobra.Command{
			Use:   name + " [ID...] [--all]",
			Short: short,
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 && !all {
					return usage("key %s: name a minion ID (or a glob), or use --all", name)
				}
				for _, id := range args {
					if err := bus.ValidateID(id); err != nil && !strings.ContainsAny(id, "*?[") {
						return usage("key %s: %v", name, err)
					}
				}
				cl, err := mf.dial(cmd.Context())
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				defer cl.Close()
				var rep bus.KeysReply
				err = cl.call(cmd.Context(), apiOp, bus.KeysRequest{IDs: args, All: all, Include: incl}, &rep)
				var ae *apiError
				if err != nil && !errors.As(err, &ae) {
					return &exitError{code: ExitError, err: err}
				}
				if outFmt == "json" {
					if perr := printJSON(stdout, rep.Keys); perr != nil {
						return perr
					}
				} else {
					for _, k := range rep.Keys {
						if apiOp == bus.APIFingerprint {
							fmt.Fprintf(stdout, "%s:  %s  (%s)\n", k.ID, k.Fingerprint, k.State)
						} else {
							fmt.Fprintf(stdout, "Key for minion %s %s.\n", k.ID, verb)
						}
					}
					if apiOp == bus.APIFingerprint && rep.Master != "" {
						fmt.Fprintf(stdout, "Master signing key:  %s\n", rep.MasterFingerprint)
					}
					if len(rep.Keys) == 0 && err == nil && apiOp != bus.APIFingerprint {
						fmt.Fprintf(stdout, "No keys to %s.\n", name)
					}
				}
				if ae != nil {
					return &exitError{code: ExitError, err: ae}
				}
				return nil
			},
		}
		c.Flags().BoolVarP(&all, "all", "A", false, "every key this applies to")
		c.Flags().BoolVarP(&yes, "yes", "y", false, "accepted for salt-key compatibility: brine never asks")
		if include != "" {
			c.Flags().BoolVar(&incl, include, false, "also act on keys in that state")
		}
		return c
	}
	cmd.AddCommand(list,
		op("accept", "Accept pending keys", bus.APIKeyAccept, "accepted", "include-rejected"),
		op("reject", "Reject pending keys", bus.APIKeyReject, "rejected", "include-accepted"),
		op("delete", "Delete keys in any state", bus.APIKeyDelete, "deleted", ""),
		op("fingerprint", "Show key fingerprints", bus.APIFingerprint, "", ""),
	)
	return cmd
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
