package dynschema

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/files"
)

// savedUploads are the files of one create or update root field, stored
// before the operation's transaction begins: copying and syncing files must
// not hold SQLite's single write lock (other writes would wait behind it).
type savedUploads struct {
	id    string         // the record's id (generated for a create without one)
	names map[string]any // input key -> stored name or names
	files []storedFile
	used  bool // the record was written with them
}

// saveUploadsFirst stores the uploads of every create and update root field
// of the mutation, before any write: it checks all of a field's uploads
// (sniffed type, size) and stores them only when all pass. A refusal or a
// storage failure is reported on its root field, and false is returned
// (the caller rolls back, which deletes what was stored). Fields whose rule
// is null (only superusers) store nothing here: they fail on their own.
func (x *operation) saveUploadsFirst(fields []graphql.CollectedField) bool {
	for _, f := range fields {
		rf := x.v.m.mutation[f.Name]
		if rf == nil || rf.kind != rkCreate && rf.kind != rkUpdate || !rf.t.files {
			continue
		}
		t := rf.t
		args := f.ArgumentMap(x.oc.Variables)
		in := inputArg(args)
		plans, o := t.create, access.Create
		if rf.kind == rkUpdate {
			plans, o = t.update, access.Update
		}
		if !hasUploads(plans, in) {
			continue
		}
		if dec, err := x.acc.Rule(t.coll, o); err != nil || !dec.Allowed {
			continue
		}
		su := &savedUploads{names: map[string]any{}}
		if rf.kind == rkCreate {
			if su.id, _ = in["id"].(string); su.id == "" {
				su.id = newID()
			}
		} else {
			su.id, _ = args["id"].(string)
		}
		err := x.saveFieldUploads(t, plans, in, su)
		if err != nil {
			x.push(f.Alias)
			x.fail(err, f.Field)
			x.pop()
			return false
		}
		if x.mut.uploads == nil {
			x.mut.uploads = map[string]*savedUploads{}
		}
		x.mut.uploads[f.Alias] = su
	}
	return true
}

// saveFieldUploads checks every upload of the input in, then stores them
// for su.id into su. It returns the refusal (BAD_USER_INPUT, per field) or
// the storage failure.
func (x *operation) saveFieldUploads(t *objType, plans map[string]*inPlan, in map[string]any, su *savedUploads) error {
	var fe apperr.FieldErrors
	for _, k := range sortedKeys(in) {
		if p := plans[k]; p != nil && p.upload && in[k] != nil {
			checkUploads(p, in[k], &fe)
		}
	}
	if err := fe.Err("invalid input"); err != nil {
		return err
	}
	first := len(x.mut.created)
	for _, k := range sortedKeys(in) {
		p := plans[k]
		if p == nil || !p.upload || in[k] == nil {
			continue
		}
		v := in[k]
		if p.kind == inAppend {
			v = asList(v)
		}
		names, err := x.saveUploads(t, p.field, su.id, v, &fe)
		if err != nil {
			return err
		}
		su.names[k] = names
	}
	su.files = append(su.files, x.mut.created[first:]...)
	return fe.Err("invalid input")
}

// checkUploads adds to fe the refusals of the upload(s) v of the input p.
func checkUploads(p *inPlan, v any, fe *apperr.FieldErrors) {
	for _, item := range asList(v) {
		up, ok := asUpload(item)
		if !ok {
			continue // saveUploads reports it
		}
		if ae := apperr.As(files.CheckUpload(p.field, up)); ae != nil {
			for name, m := range ae.Fields {
				fe.Add(name, m.Code, "%s", m.Message)
			}
		}
	}
}

// uploadNames returns the stored name(s) for the upload input k (plan p) of
// the root field being run: those saveUploadsFirst stored, or, when it did
// not run for this field, the upload(s) stored now.
func (x *operation) uploadNames(t *objType, p *inPlan, k, id string, v any, fe *apperr.FieldErrors) (any, error) {
	if su := x.mut.cur; su != nil {
		if names, ok := su.names[k]; ok {
			return names, nil
		}
	}
	if p.kind == inAppend {
		v = asList(v)
	}
	return x.saveUploads(t, p.field, id, v, fe)
}

// deleteUnusedUploads deletes, after a commit, the files stored for root
// fields that did not write their record (a middleware answered instead).
func (x *operation) deleteUnusedUploads() {
	for _, su := range x.mut.uploads {
		if !su.used {
			for _, sf := range su.files {
				x.deleteFile(sf)
			}
		}
	}
}

// uploadTempDir returns the folder for uploads being received: the file
// store's temporary folder when it has one (files.Store.TempDir), else ""
// (os.TempDir()).
func (e *Engine) uploadTempDir() string {
	if td, ok := e.cfg.Files.(interface{ TempDir() string }); ok {
		return td.TempDir()
	}
	return ""
}
