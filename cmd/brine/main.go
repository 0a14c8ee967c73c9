// Command brine is configuration management in the Salt mould: one static
// binary for the master, the minion and the CLI. The command tree lives in
// cmd/internal/cli.
package main

import (
	"os"

	"github.com/brine-cm/brine/cmd/internal/cli"
)

func main() { os.Exit(cli.Main()) }
