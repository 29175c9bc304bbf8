package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/monobase/monobase/db"
)

// Auto writes a JSON migration for every collection change (serve
// --automigrate). Set its Hook as db.DB.Automigrate: the database calls it
// inside the change's transaction and records the migration as applied
// there, so that `migrate up` does nothing on this data folder and replays
// the change on another.
type Auto struct {
	Dir string           // the migrations folder (created when needed)
	Now func() time.Time // nil: time.Now

	last int64 // the newest timestamp written (Hook calls are serialized by db)
}

// Hook writes the migration of the change from before to after into Dir
// as <unix seconds>_<created|updated|deleted>_<collection>.json (or
// <...>_changed_collections.json when several collections changed) and
// returns its name, and a func that removes the file (called by db when
// the change does not commit). The timestamp is later than that of every
// migration in Dir, so that the files sort in the order of the changes.
// A change that leaves every definition as it was (OAuth2 client secrets
// are not written) writes nothing and returns "". It fails when the file
// can't be written, which refuses the change.
func (a *Auto) Hook(_ context.Context, before, after []*db.Collection) (string, func(), error) {
	f, label, ok := diff(before, after)
	if !ok {
		return "", nil, nil
	}
	data, err := encode(f)
	if err != nil {
		return "", nil, err
	}
	ts, err := a.timestamp()
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("%d_%s", ts, label)
	if len(name) > 200 {
		name = name[:200]
	}
	path, err := writeNew(a.Dir, name, data)
	if err != nil {
		return "", nil, err
	}
	return name, func() { _ = os.Remove(path) }, nil
}

// timestamp returns now in unix seconds, or one more than the newest
// timestamp prefix of Dir's migrations (and of the last one written).
func (a *Auto) timestamp() (int64, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	ts := now().Unix()
	newest := a.last
	entries, err := os.ReadDir(a.Dir)
	if err != nil && !os.IsNotExist(err) {
		return 0, fmt.Errorf("migrate: read %s: %w", a.Dir, err)
	}
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		if n, err := strconv.ParseInt(prefix, 10, 64); err == nil && n > newest {
			newest = n
		}
	}
	if ts <= newest {
		ts = newest + 1
	}
	a.last = ts
	return ts, nil
}

// diff returns the migration from before to after, a label for its name,
// and false when no definition changed. Internal collections (whose name
// starts with "_") are left out.
func diff(before, after []*db.Collection) (*fileOut, string, bool) {
	old := map[string]*db.Collection{}
	for _, c := range before {
		old[c.ID] = c
	}
	cur := map[string]bool{}
	var upserts, restores []defOut
	var created, updated, deleted []string
	for _, c := range after {
		cur[c.ID] = true
		if strings.HasPrefix(c.Name, "_") {
			continue
		}
		o := old[c.ID]
		nd := portable(c, after)
		if o == nil {
			upserts = append(upserts, nd)
			created = append(created, c.Name)
			continue
		}
		od := portable(o, before)
		if sameDef(od, nd) {
			continue
		}
		upserts = append(upserts, nd)
		restores = append(restores, od)
		updated = append(updated, c.Name)
	}
	for _, c := range before {
		if cur[c.ID] || strings.HasPrefix(c.Name, "_") {
			continue
		}
		restores = append(restores, portable(c, before))
		deleted = append(deleted, c.Name)
	}
	f := &fileOut{Up: []opOut{}, Down: []opOut{}}
	if len(upserts) > 0 {
		f.Up = append(f.Up, opOut{Op: OpUpsertCollections, Collections: upserts})
	}
	for _, name := range deleted {
		f.Up = append(f.Up, opOut{Op: OpDeleteCollection, Collection: name})
	}
	if len(restores) > 0 {
		f.Down = append(f.Down, opOut{Op: OpUpsertCollections, Collections: restores})
	}
	for _, name := range created {
		f.Down = append(f.Down, opOut{Op: OpDeleteCollection, Collection: name})
	}
	switch n := len(created) + len(updated) + len(deleted); {
	case n == 0:
		return nil, "", false
	case n > 1:
		return f, "changed_collections", true
	case len(created) == 1:
		return f, "created_" + created[0], true
	case len(updated) == 1:
		return f, "updated_" + updated[0], true
	default:
		return f, "deleted_" + deleted[0], true
	}
}

// portable returns c as `schema export` writes it: relation targets by the
// name they have in all, no OAuth2 client secrets, no timestamps.
func portable(c *db.Collection, all []*db.Collection) defOut {
	return defOut{Collection: db.Portable(all, c)[0]}
}

func sameDef(a, b defOut) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}
