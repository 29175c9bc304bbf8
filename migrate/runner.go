package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/monobase/monobase/db"
)

// Migration is a Go migration: Name orders it among the others (give it a
// unix-seconds prefix, as `monobase migrate create` does), Up applies it
// and Down reverts it (nil: it can't be reverted).
type Migration struct {
	Name     string
	Up, Down Func
}

// Runner applies and reverts the migrations of a data folder.
type Runner struct {
	DB  *db.DB
	Dir string      // the folder of the JSON migrations ("" or missing: none)
	Go  []Migration // the app's Go migrations
}

// Status is a migration as Runner.Status lists it.
type Status struct {
	Name    string
	Source  string    // the file's path, or "go"
	Applied time.Time // zero when pending
	// Missing is true for an applied migration whose file or Go function
	// is gone (it can't be reverted).
	Missing bool
}

// known is a migration with its up and down (JSON ones read when run).
type known struct {
	name string
	path string // "" for a Go migration
	m    Migration
}

// known returns the migrations of Dir and Go in name order; it fails on a
// bad name or a name used twice.
func (r *Runner) known() ([]known, error) {
	var out []known
	seen := map[string]string{}
	add := func(k known) error {
		if err := checkName(k.name); err != nil {
			return err
		}
		src := cmp.Or(k.path, "go")
		if prev, dup := seen[k.name]; dup {
			return fmt.Errorf("migrate: the migration %q is defined twice (%s and %s)", k.name, prev, src)
		}
		seen[k.name] = src
		out = append(out, k)
		return nil
	}
	if r.Dir != "" {
		entries, err := os.ReadDir(r.Dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("migrate: read %s: %w", r.Dir, err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if err := add(known{name: name, path: filepath.Join(r.Dir, e.Name())}); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range r.Go {
		if m.Up == nil {
			return nil, fmt.Errorf("migrate: the Go migration %q has no up", m.Name)
		}
		if err := add(known{name: m.Name, m: m}); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b known) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// Status returns every migration, applied or pending: the applied ones in
// the order they were applied, then the pending ones in the order Up
// applies them.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	st, err := r.state(ctx)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, a := range st.applied {
		k, ok := st.byName[a.Name]
		out = append(out, Status{Name: a.Name, Source: cmp.Or(k.path, "go"), Applied: a.Applied, Missing: !ok})
	}
	for _, k := range st.pending() {
		out = append(out, Status{Name: k.name, Source: cmp.Or(k.path, "go")})
	}
	return out, nil
}

// state is what a runner knows and what the data folder has applied.
type state struct {
	known   []known // in name order
	byName  map[string]known
	applied []db.AppliedMigration // in the order they were applied
}

// state reads the runner's migrations (known) and the applied ones.
func (r *Runner) state(ctx context.Context) (*state, error) {
	ks, err := r.known()
	if err != nil {
		return nil, err
	}
	applied, err := r.DB.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	st := &state{known: ks, byName: make(map[string]known, len(ks)), applied: applied}
	for _, k := range ks {
		st.byName[k.name] = k
	}
	return st, nil
}

// pending returns the known migrations not applied, in name order.
func (st *state) pending() []known {
	done := make(map[string]bool, len(st.applied))
	for _, a := range st.applied {
		done[a.Name] = true
	}
	var out []known
	for _, k := range st.known {
		if !done[k.name] {
			out = append(out, k)
		}
	}
	return out
}

// load returns k with its up and down, reading its JSON file when it
// has one.
func (k known) load() (known, error) {
	if k.path != "" {
		f, err := ReadFile(k.path)
		if err != nil {
			return k, err
		}
		k.m = fileMigration(k.name, f)
	}
	return k, nil
}

// Up applies the pending migrations in name order, each in its own
// transaction, and returns the names applied. It stops at the first that
// fails (which changes nothing) and returns the names applied before it
// with the error. The JSON files are all read and checked before any
// migration runs.
func (r *Runner) Up(ctx context.Context) ([]string, error) {
	st, err := r.state(ctx)
	if err != nil {
		return nil, err
	}
	var pending []known
	for _, k := range st.pending() {
		k, err := k.load()
		if err != nil {
			return nil, err
		}
		pending = append(pending, k)
	}
	var names []string
	for _, k := range pending {
		err := r.DB.ApplyMigration(ctx, k.name, func(m *db.MigrationTx) error {
			return k.m.Up(m.Context(), &Tx{m: m})
		})
		if err != nil {
			return names, fmt.Errorf("migrate: apply %s: %w", k.name, err)
		}
		names = append(names, k.name)
	}
	return names, nil
}

// Down reverts the last n applied migrations (in the order they were
// applied, the last first), each in its own transaction, and returns the
// names reverted. It stops at the first that fails or can't be reverted
// (its file or Go function is gone, or it has no down).
func (r *Runner) Down(ctx context.Context, n int) ([]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("migrate: down needs a count of at least 1, not %d", n)
	}
	st, err := r.state(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := len(st.applied) - 1; i >= 0 && len(names) < n; i-- {
		name := st.applied[i].Name
		k, ok := st.byName[name]
		if !ok {
			return names, fmt.Errorf("migrate: can't revert %s: no file %s.json in %s and no Go migration of that name", name, name, r.Dir)
		}
		if k, err = k.load(); err != nil {
			return names, err
		}
		if k.m.Down == nil {
			return names, fmt.Errorf("migrate: can't revert %s: it has no down", name)
		}
		err := r.DB.RevertMigration(ctx, name, func(m *db.MigrationTx) error {
			return k.m.Down(m.Context(), &Tx{m: m})
		})
		if err != nil {
			return names, fmt.Errorf("migrate: revert %s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

// fileMigration is the Migration of a JSON file.
func fileMigration(name string, f *File) Migration {
	return Migration{
		Name: name,
		Up:   func(ctx context.Context, tx *Tx) error { return run(ctx, tx, f.Up) },
		Down: func(ctx context.Context, tx *Tx) error { return run(ctx, tx, f.Down) },
	}
}
