package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/brine-cm/brine/bus"
)

func newEventsCmd(stdout, stderr io.Writer) *cobra.Command {
	var mf masterFlags
	var asJSON bool
	var count int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Watch the event bus (salt-run state.event)",
		Long: `Print events as they happen: minion start, key pending/accepted/rejected,
job published, job running, job return. Tags follow Salt's layout:

  brine/minion/<id>/start          brine/auth
  brine/job/<jid>/new              brine/job/<jid>/ret/<id>
  brine/job/<jid>/running/<id>

Pretty output is "tag<TAB>indented JSON"; --json prints one JSON object
{"tag": ..., "data": ...} per line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := mf.dial(cmd.Context())
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer c.Close()
			ch := make(chan *nats.Msg, 4096)
			for _, subject := range []string{bus.EventsAll, bus.ReturnsAll} {
				sub, err := c.nc.ChanSubscribe(subject, ch)
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				defer sub.Unsubscribe()
			}
			if err := c.nc.Flush(); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			seen := 0
			for {
				select {
				case <-cmd.Context().Done():
					return nil
				case msg := <-ch:
					tag, data, ok := eventOf(msg)
					if !ok {
						continue
					}
					if err := printEvent(stdout, tag, data, asJSON); err != nil {
						return err
					}
					seen++
					if count > 0 && seen >= count {
						return nil
					}
				}
			}
		},
	}
	mf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	cmd.Flags().IntVar(&count, "count", 0, "exit after this many events (0: run until interrupted)")
	return cmd
}

// eventOf turns a bus message into a Salt-style tag and its data.
func eventOf(msg *nats.Msg) (string, any, bool) {
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(msg.Data))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return "", nil, false
	}
	if jid, id, ok := bus.ParseReturn(msg.Subject); ok {
		data["id"] = id
		return "brine/job/" + jid + "/ret/" + id, data, true
	}
	src, tag, ok := bus.ParseEvent(msg.Subject)
	if !ok {
		return "", nil, false
	}
	switch {
	case src == "master" && tag == "job.new":
		jid, _ := data["jid"].(string)
		return "brine/job/" + jid + "/new", data, true
	case src == "master":
		return "brine/" + tag, data, true
	case tag == bus.OpStartTag:
		data["id"] = src
		return "brine/minion/" + src + "/start", data, true
	case tag == bus.OpHeartbeat:
		jid, _ := data["jid"].(string)
		data["id"] = src
		return "brine/job/" + jid + "/running/" + src, data, true
	}
	data["id"] = src
	return "brine/minion/" + src + "/" + tag, data, true
}

func printEvent(w io.Writer, tag string, data any, asJSON bool) error {
	var b []byte
	var err error
	if asJSON {
		b, err = json.Marshal(struct {
			Tag  string `json:"tag"`
			Data any    `json:"data"`
		}{tag, data})
		b = append(b, '\n')
	} else {
		b, err = json.MarshalIndent(data, "", "    ")
		b = append([]byte(tag+"\t"), append(b, '\n')...)
	}
	if err != nil {
		return fmt.Errorf("event %s: %w", tag, err)
	}
	_, err = w.Write(b)
	return err
}
