package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/brine-cm/brine/states"
)

// JSON prints {"<id>": value} indented by four spaces, as `salt-call --out
// json` does; a compile error becomes the list of its messages. HTML
// characters are not escaped.
func JSON(w io.Writer, id string, value any, _ Options) error {
	if ce, ok := value.(*states.CompileError); ok {
		value = ce.Errors
	}
	if err, ok := value.(error); ok {
		value = err.Error()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(map[string]any{id: value}); err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// YAML prints {"<id>": value} as block YAML.
func YAML(w io.Writer, id string, value any, _ Options) error {
	v, err := plain(value)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{id: v}); err != nil {
		return fmt.Errorf("yaml output: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("yaml output: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// Txt prints "<id>: value", one line per line of a string value, other values
// in Python's repr form, as Salt's txt outputter does.
func Txt(w io.Writer, id string, value any, _ Options) error {
	v, err := plain(value)
	if err != nil {
		return err
	}
	var b strings.Builder
	if s, ok := v.(string); ok {
		for _, l := range splitLines(s) {
			b.WriteString(id + ": " + l + "\n")
		}
	} else {
		b.WriteString(id + ": " + pyRepr(v) + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	return writeString(w, b.String())
}
