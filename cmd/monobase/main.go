// Command monobase is the Monobase server and its administration commands
// (serve, superuser, schema, files, migrate, version): the root package
// monobase with no hooks or extensions of its own.
package main

import (
	"os"

	"github.com/monobase/monobase"
)

func main() {
	if err := monobase.New(monobase.Config{}).Start(); err != nil {
		os.Exit(monobase.ExitCode(err))
	}
}
