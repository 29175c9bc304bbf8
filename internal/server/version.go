package server

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags
// "-X github.com/monobase/monobase/internal/server.Version=v1.2.3"
// (scripts/release.sh does); "dev" otherwise.
var Version = "dev"

// VersionCommand prints the version, the Go version and, when the binary
// was built from a git checkout, the commit.
type VersionCommand struct {
	Stdout io.Writer
}

// Run prints one line such as "monobase dev (go1.26.0, commit 952c23c)".
func (c *VersionCommand) Run() error {
	extra := runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "+dirty"
				}
			}
		}
		if len(rev) > 7 {
			rev = rev[:7]
		}
		if rev != "" {
			extra += ", commit " + rev + modified
		}
	}
	_, err := fmt.Fprintf(c.Stdout, "monobase %s (%s)\n", Version, extra)
	return err
}
