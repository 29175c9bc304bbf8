package archtest

import (
	"strings"
	"testing"
)

// transportMayImport are the only Monobase packages the transports may
// depend on: the error codes, their GraphQL presenter, and the leaf that
// tells middleware when a WebSocket closes. The engine
// imports the transport package (for Route and AppendResponse), never the
// other way round, so nothing of the engine or below it may appear here.
var transportMayImport = map[string]bool{
	"github.com/monobase/monobase/apperr":            true,
	"github.com/monobase/monobase/gqlerr":            true,
	"github.com/monobase/monobase/internal/lifetime": true,
}

func TestTransportKnowsNoEngine(t *testing.T) {
	deps := depsOf(t, "./transport")
	if len(deps) != 1 {
		t.Fatalf("go list ./transport: %d packages, want 1", len(deps))
	}
	for pkg, d := range deps {
		for _, dep := range d {
			if strings.HasPrefix(dep, "github.com/monobase/monobase/") && !transportMayImport[dep] {
				t.Errorf("%s depends on %s: the transports talk to the engine through transport.Engine only", pkg, dep)
			}
		}
	}
}
