// Package filestest holds the checks that tests of several packages make
// on stored files: the keys a backend holds and the files records name.
package filestest

import (
	"context"
	"slices"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// Keys returns every key b holds, sorted; a listing error fails t.
func Keys(t testing.TB, b files.Backend) []string {
	t.Helper()
	var out []string
	if err := b.List(context.Background(), "", func(o files.ObjectInfo) error {
		out = append(out, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// NamedKeys returns the key ("collectionId/recordId/name") of every file
// the records of d name, sorted; a read error fails t.
func NamedKeys(t testing.TB, d *db.DB) []string {
	t.Helper()
	var out []string
	for _, c := range d.Collections() {
		var fields []string
		for _, f := range c.Fields {
			if f.Type == db.FieldFile {
				fields = append(fields, f.Name)
			}
		}
		if len(fields) == 0 || c.Type == db.TypeView {
			continue
		}
		recs, _, err := d.ReadRecords(context.Background(), &db.Read{Collection: c, Columns: fields})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			for _, f := range fields {
				for _, n := range db.StringList(r[f]) {
					out = append(out, c.ID+"/"+r.ID()+"/"+n)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
