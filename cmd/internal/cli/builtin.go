package cli

// The standard set of modules, pulled in for their init() registrations.
// This is the one place that decides what a brine binary contains.
import (
	_ "github.com/brine-cm/brine/modules/cmd"
	_ "github.com/brine-cm/brine/modules/file"
	_ "github.com/brine-cm/brine/modules/grains"
	_ "github.com/brine-cm/brine/modules/pillar"
	_ "github.com/brine-cm/brine/modules/state"
	_ "github.com/brine-cm/brine/modules/sys"
	_ "github.com/brine-cm/brine/modules/test"
	_ "github.com/brine-cm/brine/states/cmd"
	_ "github.com/brine-cm/brine/states/file"
	_ "github.com/brine-cm/brine/states/test"
)
