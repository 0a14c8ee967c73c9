package plugin

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Plugins log by writing hclog's JSON lines to stderr:
//
//	{"@level":"warn","@message":"text","@timestamp":"...","key":"value"}
//
// go-plugin reads them on the host and hands them to an hclog.Logger; HCLog
// turns that into brine's slog logger with the plugin's name. A line that
// is not JSON is logged at debug level, except a Go panic, which is logged
// as an error.

// LevelTrace is below slog's debug level: go-plugin's own chatter, shown
// with nothing brine's log levels can select.
const LevelTrace = slog.LevelDebug - 4

// HCLog adapts a slog logger to the hclog.Logger go-plugin wants at the
// boundary. Names given with Named are dropped: the logger already carries
// the plugin's name.
func HCLog(l *slog.Logger) hclog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &hcAdapter{l: l}
}

type hcAdapter struct {
	l       *slog.Logger
	implied []any
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Info, hclog.NoLevel:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (a *hcAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	switch msg {
	case "plugin failed to exit gracefully":
		// brine kills a plugin that failed its handshake, and reports
		// crashes and hangs in the failed call itself.
		level = hclog.Debug
	case "plugin process exited":
		level = min(level, hclog.Warn)
	}
	lv := slogLevel(level)
	ctx := context.Background()
	if !a.l.Enabled(ctx, lv) {
		return
	}
	all := make([]any, 0, len(a.implied)+len(args))
	all = append(all, a.implied...)
	all = append(all, args...)
	for i := 0; i+1 < len(all); i += 2 {
		if all[i] == "plugin" { // go-plugin's name for the executable's path
			all[i] = "path"
		}
	}
	a.l.Log(ctx, lv, msg, all...)
}

func (a *hcAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hcAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hcAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hcAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hcAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hcAdapter) enabled(level hclog.Level) bool {
	return a.l.Enabled(context.Background(), slogLevel(level))
}

func (a *hcAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *hcAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *hcAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *hcAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *hcAdapter) IsError() bool { return a.enabled(hclog.Error) }

func (a *hcAdapter) ImpliedArgs() []any { return a.implied }

func (a *hcAdapter) With(args ...any) hclog.Logger {
	implied := make([]any, 0, len(a.implied)+len(args))
	implied = append(implied, a.implied...)
	implied = append(implied, args...)
	return &hcAdapter{l: a.l, implied: implied}
}

func (a *hcAdapter) Name() string                   { return "" }
func (a *hcAdapter) Named(string) hclog.Logger      { return a }
func (a *hcAdapter) ResetNamed(string) hclog.Logger { return a }
func (a *hcAdapter) SetLevel(hclog.Level)           {}
func (a *hcAdapter) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if a.enabled(lv) {
			return lv
		}
	}
	return hclog.Off
}

func (a *hcAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hcAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{emit: func(line string) { a.Info(line) }}
}

// lineWriter calls emit for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" {
			w.emit(line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// LineLogger returns a writer that logs every line written to it at level,
// for a plugin's redirected stdout and stderr.
func LineLogger(l *slog.Logger, level slog.Level) io.Writer {
	return &lineWriter{emit: func(line string) { l.Log(context.Background(), level, line) }}
}

// PluginLogHandler is the slog handler a plugin logs with: hclog JSON
// lines on w (the plugin's original stderr), which the host reads. slog
// writes each record with one Write, so lines from concurrent calls do not
// interleave.
func PluginLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				lv, _ := a.Value.Any().(slog.Level)
				return slog.String("@level", hclogLevelName(lv))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

func hclogLevelName(lv slog.Level) string {
	switch {
	case lv < slog.LevelDebug:
		return "trace"
	case lv < slog.LevelInfo:
		return "debug"
	case lv < slog.LevelWarn:
		return "info"
	case lv < slog.LevelError:
		return "warn"
	}
	return "error"
}

// ParseLevel reads the level a host passes to its plugins in
// BRINE_PLUGIN_LOG_LEVEL (trace, debug, info, warn, error); anything else
// is info.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LevelName is ParseLevel's inverse, for the host to set the variable.
func LevelName(l slog.Level) string { return hclogLevelName(l) }

// EnvLogLevel is the environment variable carrying the host's log level.
const EnvLogLevel = "BRINE_PLUGIN_LOG_LEVEL"
