package db

// Collection changes: every create, update, delete and import runs in one
// write transaction together with its DDL and the definition rows, calls
// OnSchemaChange before the commit, and swaps the in-memory snapshot after.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/uptrace/bun"
)

// schemaTx is one collection change in progress.
type schemaTx struct {
	d   *DB
	ctx context.Context
	tx  bun.Tx
	q   *sql.Tx
	now time.Time
	// cols is the working list in creation order; entries shared with the
	// current snapshot are never modified (copy on write).
	cols []*Collection
	// pending holds definitions being prepared (an import batch), so that
	// relations may point at collections created later in the batch.
	pending []*Collection
	dirty   map[string]bool // ids of collections whose row must be written
	deleted []string        // ids of collections whose row must be deleted
	altered bool            // existing tables or views changed (views are rechecked)
	// fieldKeys maps the fields of definitions being prepared to their
	// input error key ("fields.3").
	fieldKeys map[*Field]string
}

// keyOf returns the input error key of f, or prefix+"fields".
func (s *schemaTx) keyOf(f *Field, prefix string) string {
	if k, ok := s.fieldKeys[f]; ok {
		return k
	}
	return prefix + "fields"
}

const invalidCollection = "invalid collection definition"

func (d *DB) changeSchema(ctx context.Context, fn func(s *schemaTx) error) error {
	if d.txFrom(ctx) != nil {
		return apperr.Wrap(errors.New("collection change inside an open record transaction would deadlock"), "collection change failed")
	}
	d.schemaMu.Lock()
	defer d.schemaMu.Unlock()

	btx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin collection change: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = btx.Rollback()
		}
	}()
	before, err := d.schemaBase(ctx, btx.Tx) // cluster.go: the latest definitions on PostgreSQL
	if err != nil {
		return err
	}
	s := &schemaTx{
		d: d, ctx: ctx, tx: btx, q: btx.Tx,
		now:       time.Now().UTC().Truncate(time.Millisecond),
		cols:      slices.Clone(before),
		dirty:     map[string]bool{},
		fieldKeys: map[*Field]string{},
	}
	if err := fn(s); err != nil {
		return err
	}
	if err := s.finish(); err != nil {
		return err
	}
	var apply func()
	if d.OnSchemaChange != nil {
		apply, err = d.OnSchemaChange(ctx, s.cols)
		if err != nil {
			return err
		}
	}
	if d.Automigrate != nil {
		name, discard, err := d.Automigrate(ctx, before, s.cols)
		if discard != nil {
			defer func() {
				if !done {
					discard()
				}
			}()
		}
		if err != nil {
			return err
		}
		if name != "" {
			if err := recordMigration(ctx, s.q, name, true); err != nil {
				return err
			}
		}
	}
	if err := btx.Commit(); err != nil {
		return fmt.Errorf("commit collection change: %w", err)
	}
	done = true
	d.storeSnapshot(s.cols)
	if apply != nil {
		apply()
	}
	return nil
}

// find returns the collection with that id or name among the pending
// definitions and the working list, or nil.
func (s *schemaTx) find(ref string) *Collection {
	if ref == "" {
		return nil
	}
	for _, p := range s.pending {
		if p.ID == ref {
			return p
		}
	}
	for _, c := range s.cols {
		if c.ID == ref {
			return c
		}
	}
	for _, p := range s.pending {
		if p.Name == ref {
			return p
		}
	}
	for _, c := range s.cols {
		if c.Name == ref {
			return c
		}
	}
	return nil
}

func (s *schemaTx) index(id string) int {
	return slices.IndexFunc(s.cols, func(c *Collection) bool { return c.ID == id })
}

func (s *schemaTx) put(c *Collection) {
	if i := s.index(c.ID); i >= 0 {
		s.cols[i] = c
	} else {
		s.cols = append(s.cols, c)
	}
	s.dirty[c.ID] = true
}

// create validates and creates c (a private copy).
func (s *schemaTx) create(c *Collection, prefix string, internal bool, fe *apperr.FieldErrors) {
	if !slices.Contains(s.pending, c) {
		s.pending = append(s.pending, c)
	}
	n := len(*fe)
	s.prepareDef(nil, c, prefix, internal, fe)
	if len(*fe) > n {
		return
	}
	if err := s.createDDL(c, prefix, fe); err != nil {
		fe.Add(prefix+"name", "invalid", "%v", err)
		return
	}
	if len(*fe) > n {
		return
	}
	s.put(c)
}

// update validates c (a private copy) as the new definition of old and
// applies the difference.
func (s *schemaTx) update(old, c *Collection, prefix string, fe *apperr.FieldErrors) {
	if !slices.Contains(s.pending, c) {
		s.pending = append(s.pending, c)
	}
	n := len(*fe)
	s.prepareDef(old, c, prefix, old.System, fe)
	if len(*fe) > n {
		return
	}
	s.alterDDL(old, c, prefix, fe)
	if len(*fe) > n {
		return
	}
	s.altered = true
	s.put(c)
}

// remove drops the collection; references from other collections are
// checked by finish.
func (s *schemaTx) remove(c *Collection, prefix string, fe *apperr.FieldErrors) {
	if c.System {
		fe.Add(prefix+"name", "invalid", "the system collection %q can't be deleted", c.Name)
		return
	}
	if err := s.dropDDL(c); err != nil {
		fe.Add(prefix+"name", "invalid", "can't delete %q: %v", c.Name, err)
		return
	}
	if i := s.index(c.ID); i >= 0 {
		s.cols = slices.Delete(s.cols, i, i+1)
	}
	delete(s.dirty, c.ID)
	s.deleted = append(s.deleted, c.ID)
	s.altered = true
}

// finish rechecks views and relations and writes the changed definitions.
func (s *schemaTx) finish() error {
	var fe apperr.FieldErrors
	for _, c := range s.cols {
		for _, f := range c.Fields {
			if f.Type != FieldRelation {
				continue
			}
			if s.index(f.Collection) < 0 {
				fe.Add(c.Name+"."+f.Name, "not_found",
					"the relation field %s.%s points at a collection that does not exist (%s)", c.Name, f.Name, f.Collection)
			}
		}
	}
	if err := fe.Err(invalidCollection); err != nil {
		return err
	}
	if s.altered {
		if err := s.refreshViews(); err != nil {
			return err
		}
	}
	for _, id := range s.deleted {
		if _, err := s.q.ExecContext(s.ctx, `DELETE FROM "_collections" WHERE "id" = ?`, id); err != nil {
			return fmt.Errorf("delete collection row: %w", err)
		}
	}
	for _, c := range s.cols {
		if !s.dirty[c.ID] {
			continue
		}
		data, err := s.d.encodeCollection(c)
		if err != nil {
			return fmt.Errorf("encode collection %s: %w", c.Name, err)
		}
		if _, err := s.q.ExecContext(s.ctx, `INSERT INTO "_collections" ("id", "name", "type", "system", "data", "created", "updated")
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "type" = excluded."type", "system" = excluded."system",
  "data" = excluded."data", "updated" = excluded."updated"`,
			c.ID, c.Name, string(c.Type), c.System, string(data), FormatDate(c.Created), FormatDate(c.Updated)); err != nil {
			return fmt.Errorf("store collection %s: %w", c.Name, err)
		}
	}
	return nil
}

// CreateCollection validates the definition in (names, field options, rules' syntax is
// checked by the caller, relation targets, index SQL), fills ids and the
// system fields, creates its table and indexes and stores the definition,
// all in one transaction. Bad definitions are apperr.Invalid with
// per-field messages (keys like "name", "fields.2.name"); nothing changes.
func (d *DB) CreateCollection(ctx context.Context, in *Collection) (*Collection, error) {
	if in == nil {
		return nil, apperr.New(apperr.Invalid, "missing collection definition")
	}
	c := cloneCollection(in)
	var out *Collection
	err := d.changeSchema(ctx, func(s *schemaTx) error {
		var fe apperr.FieldErrors
		s.create(c, "", false, &fe)
		if err := fe.Err(invalidCollection); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, _ = d.Collection(c.ID)
	return out, nil
}

// UpdateCollection replaces the definition of idOrName with in: a field with
// an id keeps its data (a changed name renames the column), a field without
// id is added, a missing field is dropped; a changed collection name renames
// the table. One transaction; on any error nothing changes.
func (d *DB) UpdateCollection(ctx context.Context, idOrName string, in *Collection) (*Collection, error) {
	if in == nil {
		return nil, apperr.New(apperr.Invalid, "missing collection definition")
	}
	c := cloneCollection(in)
	var id string
	err := d.changeSchema(ctx, func(s *schemaTx) error {
		old := s.find(idOrName)
		if old == nil {
			return apperr.New(apperr.NotFound, "collection %q not found", idOrName)
		}
		id = old.ID
		var fe apperr.FieldErrors
		s.update(old, c, "", &fe)
		return fe.Err(invalidCollection)
	})
	if err != nil {
		return nil, err
	}
	return d.Collection(id)
}

// DeleteCollection drops the collection and its table. System collections
// and collections that others relate to are refused (apperr.Invalid).
func (d *DB) DeleteCollection(ctx context.Context, idOrName string) error {
	return d.changeSchema(ctx, func(s *schemaTx) error {
		c := s.find(idOrName)
		if c == nil {
			return apperr.New(apperr.NotFound, "collection %q not found", idOrName)
		}
		var fe apperr.FieldErrors
		for _, o := range s.cols {
			if o.ID == c.ID {
				continue
			}
			for _, f := range o.Fields {
				if f.Type == FieldRelation && f.Collection == c.ID {
					fe.Add("name", "referenced", "the collection %q is referenced by the relation field %s.%s", c.Name, o.Name, f.Name)
				}
			}
		}
		if err := fe.Err("can't delete the collection"); err != nil {
			return err
		}
		s.remove(c, "", &fe)
		return fe.Err("can't delete the collection")
	})
}

// ImportCollections creates or updates (matched by id, then name) each of cs
// and, with deleteMissing, deletes the non-system collections not in cs,
// all in one transaction.
func (d *DB) ImportCollections(ctx context.Context, cs []*Collection, deleteMissing bool) ([]*Collection, error) {
	var ids []string
	err := d.changeSchema(ctx, func(s *schemaTx) error {
		var err error
		ids, err = s.importDefs(cs, deleteMissing)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Collection, 0, len(ids))
	for _, id := range ids {
		c, err := d.Collection(id)
		if err != nil {
			return nil, fmt.Errorf("imported collection %s vanished: %w", id, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// importDefs is the body of ImportCollections on s: it returns the ids of
// the collections of cs, or apperr.Invalid with per-field messages.
func (s *schemaTx) importDefs(cs []*Collection, deleteMissing bool) ([]string, error) {
	defs := make([]*Collection, len(cs))
	var fe apperr.FieldErrors
	olds := make([]*Collection, len(cs))
	for i, in := range cs {
		if in == nil {
			fe.Add(fmt.Sprintf("collections.%d", i), "required", "a collection must not be null")
			continue
		}
		c := cloneCollection(in)
		defs[i] = c
		var old *Collection
		if c.ID != "" {
			old = s.byID(c.ID)
		}
		if old == nil && c.Name != "" {
			old = s.byName(c.Name)
		}
		olds[i] = old
		if old != nil {
			c.ID = old.ID
		} else if c.ID == "" {
			for c.ID == "" || s.find(c.ID) != nil {
				c.ID = NewID()
			}
		}
	}
	if err := fe.Err(invalidCollection); err != nil {
		return nil, err
	}
	s.pending = slices.Clone(defs)
	for i, c := range defs {
		prefix := fmt.Sprintf("collections.%d.", i)
		if olds[i] != nil {
			s.update(olds[i], c, prefix, &fe)
		} else {
			s.create(c, prefix, false, &fe)
		}
	}
	if deleteMissing && len(fe) == 0 {
		keep := map[string]bool{}
		for _, c := range defs {
			keep[c.ID] = true
		}
		for _, c := range slices.Clone(s.cols) {
			if !keep[c.ID] && !c.System {
				s.remove(c, "delete."+c.Name+".", &fe)
			}
		}
	}
	if err := fe.Err(invalidCollection); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(defs))
	for _, c := range defs {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func (s *schemaTx) byID(id string) *Collection {
	if i := s.index(id); i >= 0 {
		return s.cols[i]
	}
	return nil
}

func (s *schemaTx) byName(name string) *Collection {
	for _, c := range s.cols {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// load reads the collection definitions into the snapshot.
func (d *DB) load(ctx context.Context) error {
	list, err := d.readCollections(ctx, d.writer.DB)
	if err != nil {
		return err
	}
	d.storeSnapshot(list)
	return nil
}

// readCollections reads and decodes the collection definitions through q.
func (d *DB) readCollections(ctx context.Context, q querier) ([]*Collection, error) {
	rows, err := q.QueryContext(ctx, `SELECT "data" FROM "_collections" ORDER BY "rowid"`)
	if err != nil {
		return nil, fmt.Errorf("load collections: %w", err)
	}
	defer rows.Close()
	var raw [][]byte
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("load collections: %w", err)
		}
		raw = append(raw, data)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load collections: %w", err)
	}
	// Decoding the definitions dominates a cold open: spread it over the
	// cores.
	list := make([]*Collection, len(raw))
	errs := make([]error, len(raw))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(raw)/16))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(raw); i += workers {
				c, err := decodeCollection(raw[i])
				if err != nil {
					errs[i] = fmt.Errorf("decode collection %d: %w", i, err)
				}
				list[i] = c
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := d.openCollectionSecrets(list); err != nil {
		return nil, fmt.Errorf("load collections: %w", err)
	}
	return list, nil
}

// bootstrap creates the system collections on first start: "_superusers"
// and the default "users" auth collection (once: a deleted "users" stays
// deleted, as both are created in the same transaction).
func (d *DB) bootstrap(ctx context.Context) error {
	if _, err := d.Collection(SuperusersCollection); err == nil {
		return nil
	}
	err := d.changeSchema(ctx, func(s *schemaTx) error {
		var fe apperr.FieldErrors
		s.create(superusersDef(), "", true, &fe)
		if s.byName("users") == nil {
			s.create(usersDef(), "", false, &fe)
		}
		return fe.Err(invalidCollection)
	})
	if err != nil {
		return fmt.Errorf("create system collections: %w", err)
	}
	return nil
}

func superusersDef() *Collection {
	return &Collection{Name: SuperusersCollection, Type: TypeAuth, System: true, AuthRule: ptr("")}
}

func usersDef() *Collection {
	own := "id = @request.auth.id"
	return &Collection{
		Name: "users", Type: TypeAuth,
		Fields: []*Field{
			{Name: "name", Type: FieldText, Max: ptr(255.0)},
			{Name: "avatar", Type: FieldFile, MaxSelect: 1, MaxSize: 5 << 20,
				MimeTypes: []string{"image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"}},
		},
		ListRule: ptr(own), ViewRule: ptr(own), CreateRule: ptr(""), UpdateRule: ptr(own), DeleteRule: ptr(own),
		AuthRule: ptr(""),
	}
}

// ---- copies ------------------------------------------------------------

func cloneField(f *Field) *Field {
	if f == nil {
		return nil
	}
	c := *f
	if f.Min != nil {
		c.Min = ptr(*f.Min)
	}
	if f.Max != nil {
		c.Max = ptr(*f.Max)
	}
	c.Values = slices.Clone(f.Values)
	c.MimeTypes = slices.Clone(f.MimeTypes)
	c.Thumbs = slices.Clone(f.Thumbs)
	c.OnlyDomains = slices.Clone(f.OnlyDomains)
	c.ExceptDomains = slices.Clone(f.ExceptDomains)
	return &c
}

func cloneRule(r *string) *string {
	if r == nil {
		return nil
	}
	return ptr(*r)
}

func cloneCollection(c *Collection) *Collection {
	out := *c
	out.Fields = make([]*Field, len(c.Fields))
	for i, f := range c.Fields {
		out.Fields[i] = cloneField(f)
	}
	out.Indexes = slices.Clone(c.Indexes)
	out.ListRule = cloneRule(c.ListRule)
	out.ViewRule = cloneRule(c.ViewRule)
	out.CreateRule = cloneRule(c.CreateRule)
	out.UpdateRule = cloneRule(c.UpdateRule)
	out.DeleteRule = cloneRule(c.DeleteRule)
	out.AuthRule = cloneRule(c.AuthRule)
	out.ManageRule = cloneRule(c.ManageRule)
	out.Name = strings.TrimSpace(out.Name)
	return &out
}
