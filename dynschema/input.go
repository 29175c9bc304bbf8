package dynschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// hasUploads reports whether the input carries a file upload.
func hasUploads(plans map[string]*inPlan, in map[string]any) bool {
	for k, v := range in {
		if p := plans[k]; p != nil && p.upload && v != nil {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// createInput converts a <Type>CreateInput value into db input, saving
// uploads first (they are deleted again if the operation rolls back).
func (x *operation) createInput(t *objType, in map[string]any, id string) (db.RecordInput, error) {
	out := make(db.RecordInput, len(in))
	var fe apperr.FieldErrors
	for _, k := range sortedKeys(in) {
		v := in[k]
		p := t.create[k]
		if p == nil {
			fe.Add(k, "unknown", "%s is not a field of %sCreateInput", k, t.name)
			continue
		}
		if p.upload {
			names, err := x.uploadNames(t, p, k, id, v, &fe)
			if err != nil {
				return nil, err
			}
			out[p.col] = names
			continue
		}
		out[p.col] = inputValue(p, v)
	}
	if err := fe.Err("invalid input"); err != nil {
		return nil, err
	}
	return out, nil
}

// updatePatch converts a <Type>UpdateInput value into a db patch.
func (x *operation) updatePatch(t *objType, in map[string]any, id string) (db.RecordPatch, error) {
	patch := db.RecordPatch{Set: db.RecordInput{}}
	var fe apperr.FieldErrors
	for _, k := range sortedKeys(in) {
		v := in[k]
		p := t.update[k]
		if p == nil {
			fe.Add(k, "unknown", "%s is not a field of %sUpdateInput", k, t.name)
			continue
		}
		switch p.kind {
		case inScalar, inPassword:
			if p.upload {
				names, err := x.uploadNames(t, p, k, id, v, &fe)
				if err != nil {
					return patch, err
				}
				patch.Set[p.col] = names
				continue
			}
			patch.Set[p.col] = inputValue(p, v)
		case inInc:
			if v == nil {
				continue
			}
			n, ok := db.ToFloat(v)
			if !ok {
				fe.Add(k, "invalid", "%s must be a number", k)
				continue
			}
			if patch.Increment == nil {
				patch.Increment = map[string]float64{}
			}
			patch.Increment[p.col] += n
		case inAppend:
			if v == nil {
				continue
			}
			var vals []string
			if p.upload {
				names, err := x.uploadNames(t, p, k, id, v, &fe)
				if err != nil {
					return patch, err
				}
				vals = db.StringList(names)
			} else {
				vals = db.StringList(inputValue(p, v))
			}
			if patch.Append == nil {
				patch.Append = map[string][]string{}
			}
			patch.Append[p.col] = append(patch.Append[p.col], vals...)
		case inRemove:
			if v == nil {
				continue
			}
			if patch.Remove == nil {
				patch.Remove = map[string][]string{}
			}
			patch.Remove[p.col] = append(patch.Remove[p.col], db.StringList(inputValue(p, v))...)
		}
	}
	if err := fe.Err("invalid input"); err != nil {
		return patch, err
	}
	return patch, nil
}

// inputValue converts a GraphQL input value to the form db.RecordInput
// documents: strings, float64, bool, []string for multi-value fields,
// decoded JSON, map[string]any for geo points.
func inputValue(p *inPlan, v any) any {
	if v == nil {
		return nil
	}
	if p.field != nil {
		switch p.field.Type {
		case db.FieldJSON:
			return plainJSON(v)
		case db.FieldNumber:
			if n, ok := db.ToFloat(v); ok {
				return n
			}
			return v
		case db.FieldGeoPoint:
			if m, ok := v.(map[string]any); ok {
				out := map[string]any{}
				for k, val := range m {
					if n, ok := db.ToFloat(val); ok {
						out[k] = n
					} else {
						out[k] = val
					}
				}
				return out
			}
			return v
		}
	}
	switch l := v.(type) {
	case []any:
		out := make([]string, 0, len(l))
		for _, item := range l {
			if s, ok := item.(string); ok {
				out = append(out, s)
			} else {
				out = append(out, fmt.Sprint(item))
			}
		}
		return out
	case json.Number:
		f, _ := l.Float64()
		return f
	case int64:
		return float64(l)
	case int:
		return float64(l)
	}
	return v
}

// plainJSON turns json.Number values (the transports decode numbers so)
// into float64 so that JSON fields hold plain decoded JSON.
func plainJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case int64:
		return float64(t)
	case int:
		return float64(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plainJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = plainJSON(e)
		}
		return out
	}
	return v
}

// asUpload converts a value of the Upload scalar to the files package's
// upload; ok is false when v is not an upload.
func asUpload(v any) (up files.Upload, ok bool) {
	var g graphql.Upload
	switch u := v.(type) {
	case graphql.Upload:
		g = u
	case *graphql.Upload:
		if u == nil {
			return files.Upload{}, false
		}
		g = *u
	default:
		return files.Upload{}, false
	}
	return files.Upload{File: g.File, Filename: g.Filename, Size: g.Size, ContentType: g.ContentType}, true
}

// saveUploads checks the upload(s) of a FILE field (files.CheckUpload: the
// sniffed type against mimeTypes, the size against maxSize or the default)
// and, when all pass, stores them for the record id; it returns the stored
// name (single) or names (multiple). Refusals go to fe under the field's
// name and store nothing; a storage failure is returned.
func (x *operation) saveUploads(t *objType, f *db.Field, id string, v any, fe *apperr.FieldErrors) (any, error) {
	if v == nil {
		return nil, nil
	}
	fs := x.v.eng.cfg.Files
	if fs == nil {
		return nil, apperr.New(apperr.Internal, "file storage is not configured")
	}
	items := []any{v}
	if f.Multiple() {
		items = asList(v)
	} else if l, ok := v.([]any); ok && len(l) == 1 {
		items = l
	} else if ok {
		fe.Add(f.Name, "invalid", "%s takes one file", f.Name)
		return nil, nil
	}
	ups := make([]files.Upload, 0, len(items))
	bad := false
	for _, item := range items {
		up, ok := asUpload(item)
		if !ok {
			fe.Add(f.Name, "invalid", "%s must be an upload", f.Name)
			bad = true
			continue
		}
		if err := files.CheckUpload(f, up); err != nil {
			if ae := apperr.As(err); ae != nil && len(ae.Fields) > 0 {
				for name, m := range ae.Fields {
					fe.Add(name, m.Code, "%s", m.Message)
				}
				bad = true
				continue
			}
			return nil, fmt.Errorf("check %s: %w", up.Filename, err)
		}
		ups = append(ups, up)
	}
	if bad || len(*fe) > 0 {
		return nil, nil // nothing is stored for a refused input
	}
	names := make([]string, 0, len(ups))
	for _, up := range ups {
		name, err := fs.Save(x.ctx, t.coll.ID, id, up)
		if errors.Is(err, files.ErrBadPath) {
			fe.Add("id", "invalid", "files cannot be stored for the record id %q", id)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("save %s: %w", up.Filename, err)
		}
		x.mut.created = append(x.mut.created, storedFile{t.coll.ID, id, name})
		names = append(names, name)
	}
	if !f.Multiple() {
		if len(names) == 0 {
			return nil, nil
		}
		return names[0], nil
	}
	return names, nil
}
