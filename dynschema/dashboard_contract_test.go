package dynschema

import (
	"regexp"
	"strings"
	"testing"
)

// TestDashboardContract pins the parts of the SDL the admin dashboard reads
// (dashboard/web/src/names.js, namesFor): each collection's record type is
// found by its description "A record of the collection <name>.", its list
// field by the type [<T>!]! and a filter argument, its single field by an
// id: ID! argument and the type <T>. Changing any of these breaks the
// dashboard's records screen and API preview; change names.js with them.
func TestDashboardContract(t *testing.T) {
	m, _, err := loadSchema(fixtureCollections())
	if err != nil {
		t.Fatal(err)
	}
	query := m.sdl[strings.Index(m.sdl, "\ntype Query {"):]
	query = query[:strings.Index(query, "\n}\n")]
	for _, c := range fixtureCollections() {
		if !exposed(c) {
			continue
		}
		// The same expression as names.js.
		re := regexp.MustCompile(`"""A record of the collection ` + regexp.QuoteMeta(c.Name) + `\."""\s*type (\w+)`)
		got := re.FindStringSubmatch(m.sdl)
		if got == nil {
			t.Errorf("%s: no type described as %q", c.Name, "A record of the collection "+c.Name+".")
			continue
		}
		typ := got[1]
		list := regexp.MustCompile(`(?m)^\s+\w+\([^)]*\bfilter:[^)]*\):\s*\[` + typ + `!\]!$`)
		if !list.MatchString(query) {
			t.Errorf("%s: no Query field of type [%s!]! with a filter argument", c.Name, typ)
		}
		single := regexp.MustCompile(`(?m)^\s+\w+\([^)]*\bid: ID![^)]*\):\s*` + typ + `$`)
		if !single.MatchString(query) {
			t.Errorf("%s: no Query field of type %s with an id: ID! argument", c.Name, typ)
		}
	}
}
