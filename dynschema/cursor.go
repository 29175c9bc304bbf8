package dynschema

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// Relay connections page with keyset cursors: a cursor is the base64 of the
// JSON list of the row's sort key values followed by its id, so pages stay
// stable when rows are inserted before them.

// connKeys reads the orderBy argument of a connection: direct fields only.
func connKeys(t *objType, v any) ([]db.SortKey, error) {
	items, err := orderItems(t, v)
	if err != nil {
		return nil, err
	}
	keys := make([]db.SortKey, 0, len(items)+1)
	for _, it := range items {
		if len(it.Ident.Parts) != 1 {
			return nil, badOrder("a connection orders by fields of its own type only")
		}
		if it.Ident.Parts[0] == "id" {
			continue
		}
		keys = append(keys, db.SortKey{Field: it.Ident.Parts[0], Desc: it.Desc})
	}
	if len(items) == 0 && t.coll.FieldByName("created") != nil {
		keys = append(keys, db.SortKey{Field: "created"})
	}
	idDesc := false
	for _, it := range items {
		if it.Ident.Parts[0] == "id" {
			idDesc = it.Desc
		}
	}
	return append(keys, db.SortKey{Field: "id", Desc: idDesc}), nil
}

func encodeCursor(keys []db.SortKey, rec db.Record) string {
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = rec[k.Field]
	}
	b, _ := json.Marshal(vals)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(arg, s string, n int) ([]any, error) {
	bad := apperr.InvalidFields("invalid cursor", map[string]apperr.FieldError{
		arg: {Code: "invalid", Message: "the cursor is not one of this connection's cursors"},
	})
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var vals []any
	if err := json.Unmarshal(b, &vals); err != nil || len(vals) != n {
		return nil, bad
	}
	return vals, nil
}

// connection writes `postsConnection(...)`.
func (x *operation) connection(t *objType, f graphql.CollectedField) bool {
	fail := func(err error) bool {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	args := f.ArgumentMap(x.oc.Variables)
	spec, err := x.filteredSpec(t, args)
	if err != nil {
		return fail(err)
	}
	keys, err := connKeys(t, args["orderBy"])
	if err != nil {
		return fail(err)
	}
	max := x.v.eng.maxLimit()
	first, hasFirst := toInt(args["first"])
	last, hasLast := toInt(args["last"])
	if hasFirst && hasLast {
		return fail(apperr.InvalidFields("invalid pagination", map[string]apperr.FieldError{
			"last": {Code: "invalid", Message: "use either first or last"}}))
	}
	for name, n := range map[string]int{"first": first, "last": last} {
		if n < 0 || n > max {
			return fail(apperr.InvalidFields("invalid pagination", map[string]apperr.FieldError{
				name: {Code: "out_of_range", Message: fmt.Sprintf("%s must be between 0 and %d", name, max)}}))
		}
	}
	backward := hasLast
	n := first
	if backward {
		n = last
	} else if !hasFirst {
		n = defaultLimit
	}
	base := x.withRequest(x.read(spec)) // the rule and filters: totalCount
	fields := graphql.CollectFields(x.oc, f.Selections, []string{t.name + "Connection"})
	needRows, counts := false, false
	for _, cf := range fields {
		switch cf.Name {
		case "edges", "pageInfo":
			needRows = true
		case "totalCount":
			counts = true
		}
	}
	after, _ := args["after"].(string)
	before, _ := args["before"].(string)
	if after != "" || before != "" || !(needRows && n > 0 || counts) {
		// A bad rule or filter is reported first, and also when nothing
		// is read.
		if err := x.d.CheckRead(base); err != nil {
			return fail(readErr(t.coll, err))
		}
	}
	page := *base
	page.Keyset = &db.Keyset{Keys: keys, Backward: backward}
	page.Limit = n + 1
	if after != "" {
		if page.Keyset.After, err = decodeCursor("after", after, len(keys)); err != nil {
			return fail(err)
		}
	}
	if before != "" {
		if page.Keyset.Before, err = decodeCursor("before", before, len(keys)); err != nil {
			return fail(err)
		}
	}

	var rows []db.Record
	more := false
	if needRows && n > 0 {
		rows, _, err = x.d.ReadRecords(x.dbctx, &page)
		if err != nil {
			return fail(fmt.Errorf("page %s: %w", t.coll.Name, readErr(t.coll, err)))
		}
		if len(rows) > n {
			more = true
			rows = rows[:n]
		}
		if backward {
			for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
				rows[i], rows[j] = rows[j], rows[i]
			}
		}
	}
	hasNext, hasPrev := more, after != ""
	if backward {
		hasNext, hasPrev = before != "", more
	}

	lvs := map[string]*level{}
	written := x.writeObject(fields, func(cf graphql.CollectedField) bool {
		switch cf.Name {
		case "__typename":
			x.buf = appendString(x.buf, t.name+"Connection")
		case "totalCount":
			cnt, err := x.d.ReadCount(x.dbctx, base)
			if err != nil {
				x.fail(fmt.Errorf("count %s: %w", t.coll.Name, readErr(t.coll, err)), cf.Field)
				return false
			}
			x.buf = fmt.Appendf(x.buf, "%d", cnt)
		case "pageInfo":
			x.writePageInfo(cf, keys, rows, hasNext, hasPrev)
		case "edges":
			return x.writeEdges(t, cf, keys, rows, lvs)
		default:
			x.buf = append(x.buf, "null"...)
		}
		return true
	})
	if !written {
		return x.nullFor(f.Field, true, true)
	}
	return true
}

func (x *operation) writePageInfo(cf graphql.CollectedField, keys []db.SortKey, rows []db.Record, hasNext, hasPrev bool) {
	sub := graphql.CollectFields(x.oc, cf.Selections, []string{"PageInfo"})
	x.buf = append(x.buf, '{')
	for i, s := range sub {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendKey(x.buf, s.Alias)
		switch s.Name {
		case "__typename":
			x.buf = appendString(x.buf, "PageInfo")
		case "hasNextPage":
			x.buf = fmt.Appendf(x.buf, "%t", hasNext)
		case "hasPreviousPage":
			x.buf = fmt.Appendf(x.buf, "%t", hasPrev)
		case "startCursor", "endCursor":
			if len(rows) == 0 {
				x.buf = append(x.buf, "null"...)
				continue
			}
			r := rows[0]
			if s.Name == "endCursor" {
				r = rows[len(rows)-1]
			}
			x.buf = appendString(x.buf, encodeCursor(keys, r))
		default:
			x.buf = append(x.buf, "null"...)
		}
	}
	x.buf = append(x.buf, '}')
}

// writeEdges writes the edges; the node level is loaded once for all rows.
func (x *operation) writeEdges(t *objType, cf graphql.CollectedField, keys []db.SortKey, rows []db.Record, lvs map[string]*level) bool {
	sub := graphql.CollectFields(x.oc, cf.Selections, []string{t.name + "Edge"})
	start := len(x.buf)
	x.buf = append(x.buf, '[')
	for i, r := range rows {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.pushIdx(i)
		x.buf = append(x.buf, '{')
		for j, s := range sub {
			if j > 0 {
				x.buf = append(x.buf, ',')
			}
			x.buf = appendKey(x.buf, s.Alias)
			switch s.Name {
			case "__typename":
				x.buf = appendString(x.buf, t.name+"Edge")
			case "cursor":
				x.buf = appendString(x.buf, encodeCursor(keys, r))
			case "node":
				lv := lvs[s.Alias]
				if lv == nil {
					lv = x.load(t, s.Selections, rows)
					lvs[s.Alias] = lv
				}
				x.push(s.Alias)
				ok := x.writeRecord(lv, r)
				x.pop()
				if !ok {
					// node is non-null, so is the edge and the edges list.
					x.pop()
					x.buf = x.buf[:start]
					return false
				}
			default:
				x.buf = append(x.buf, "null"...)
			}
		}
		x.buf = append(x.buf, '}')
		x.pop()
	}
	x.buf = append(x.buf, ']')
	return true
}
