// Command ini is a brine plugin that manages options in INI-style files
// (php.ini, my.cnf, systemd drop-ins, git config...), as Salt's ini_manage
// modules do, editing only the lines that must change.
//
// Build it and put it in a plugin directory:
//
//	go build -o /var/lib/brine/minion/plugins/ini ./examples/plugins/ini
//
// or publish it for minions under the master's file_roots as
// _plugins/linux_amd64/ini and run saltutil.sync_plugins.
package main

import (
	"github.com/brine-cm/brine/modules/plugin/sdk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "1.0.0"

// plugin declares the functions; main serves them. Tests serve the same
// declaration in-process.
func declaration() sdk.Plugin {
	return sdk.Plugin{
		Name:    "ini",
		Version: version,
		Exec: []sdk.ExecFunc{
			sdk.Typed("ini.get_option", docGetOption, []string{"file_name", "section", "option", "separator"}, getOption),
			sdk.Typed("ini.get_section", docGetSection, []string{"file_name", "section", "separator"}, getSection),
			sdk.Typed("ini.get_ini", docGetINI, []string{"file_name", "separator"}, getINI),
			sdk.Typed("ini.set_option", docSetOption, []string{"file_name", "sections", "separator"}, setOption),
			sdk.Typed("ini.remove_option", docRemoveOption, []string{"file_name", "section", "option", "separator"}, removeOption),
		},
		States: []sdk.StateDef{
			sdk.State[presentArgs]{Name: "ini.options_present", Doc: docOptionsPresent, Apply: optionsPresent},
			sdk.State[absentArgs]{Name: "ini.options_absent", Doc: docOptionsAbsent, Apply: optionsAbsent},
		},
	}
}

func main() {
	sdk.Serve(declaration())
}
