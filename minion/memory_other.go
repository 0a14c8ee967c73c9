//go:build !linux

package minion

import "log/slog"

// trimImage is Linux-only (MADV_PAGEOUT); elsewhere the kernel decides.
func trimImage(*slog.Logger) {}
