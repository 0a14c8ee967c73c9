package config

import (
	"fmt"
	"log/slog"
	"strings"
)

// LevelQuiet is above every level a record can have: nothing is logged.
const LevelQuiet = slog.Level(100)

// ParseLogLevel maps Salt's log level names to slog levels: all, garbage,
// trace, debug and profile log everything; info; warning (or warn); error
// and critical; quiet logs nothing.
func ParseLogLevel(name string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "all", "garbage", "trace", "debug", "profile":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warning", "warn", "":
		return slog.LevelWarn, nil
	case "error", "critical":
		return slog.LevelError, nil
	case "quiet":
		return LevelQuiet, nil
	}
	return 0, fmt.Errorf("log_level %q is not one of trace, debug, info, warning, error, critical, quiet", name)
}
