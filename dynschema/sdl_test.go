package dynschema

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestSDLGolden(t *testing.T) {
	m, _, err := loadSchema(fixtureCollections())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.graphql")
	if *update {
		if err := os.WriteFile(golden, []byte(m.sdl), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != m.sdl {
		t.Errorf("SDL differs from %s (run go test -run TestSDLGolden -update)", golden)
	}
}
