package db

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/monobase/monobase/db/filter"
)

// The @request values, date macros and functions of the filter compiler
// (filtersql_path.go walks fields and relations).

// staticConst is the bound form of a static record's value of f: numbers
// sent as text become numbers, multi-valued fields a JSON list.
func (s *filterScope) staticConst(f *Field, v any) *filterValue {
	if f.Multiple() {
		b, _ := json.Marshal(filterStaticList(v))
		c := filterConst(string(b))
		c.empty = len(b) == 2
		c.field = f
		return c
	}
	if str, ok := v.(string); ok && f.Type == FieldNumber {
		if n, err := strconv.ParseFloat(strings.TrimSpace(str), 64); err == nil {
			v = n
		}
	}
	c := filterConstOf(v)
	c.field = f
	return c
}

// filterStaticList returns the items of a list value (a single value is a
// list of one, nil and "" are empty).
func filterStaticList(v any) []any {
	switch v := v.(type) {
	case nil:
		return []any{}
	case string:
		if v == "" {
			return []any{}
		}
		return []any{v}
	case []string:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = x
		}
		return out
	case []any:
		return v
	}
	return []any{v}
}

// finalStatic compiles the last field of a static record (@request.auth,
// @request.body).
func (s *filterScope) finalStatic(cur filterCursor, f *Field, id *filter.Ident, anyOp bool) (*filterValue, error) {
	raw, present := cur.static[f.Name]
	listy := f.Type == FieldSelect || f.Type == FieldRelation || f.Type == FieldFile
	switch id.Modifier {
	case filter.ModIsset:
		return filterBoolConst(present), nil
	case filter.ModChanged:
		if cur.key != "@request.body" {
			return nil, filterErr(id.Pos, ":changed applies to @request.body fields only")
		}
		if !present {
			return filterBoolConst(false), nil
		}
		dl := s.fc.dl
		stored := &filterValue{sql: filterCol(s.alias, f.Name), field: f, emptyArray: f.Multiple(), pt: fieldPT(f)}
		if f.Type == FieldJSON {
			stored.sql = dl.jsonRoot(stored.sql)
			stored.noFallback = true
			stored.pt = ptJSON
		}
		body := filterNormDates(s.staticConst(f, raw), stored)
		if dl.strict() {
			body, stored = pgOperands(body, stored, filter.Neq)
		}
		var w filterSQL
		filterEq(&w, dl, false, body, stored)
		return &filterValue{sql: dl.condValue(w.String()), args: w.args, notNull: true, pt: ptInt}, nil
	case filter.ModLength:
		n := len(filterStaticList(raw))
		switch {
		case f.Multiple():
		case listy:
			n = min(n, 1)
		default:
			return nil, filterErr(id.Pos, ":length applies to select, relation and file fields, not %q", f.Name)
		}
		return filterConst(int64(n)), nil
	case filter.ModEach:
		if !listy {
			return nil, filterErr(id.Pos, ":each applies to select, relation and file fields, not %q", f.Name)
		}
		if f.Multiple() {
			c := s.staticConst(f, raw)
			return s.each(cur, f, c.sql, c.args), nil
		}
		return s.staticConst(f, raw), nil
	case filter.ModLower:
		c := s.staticConst(f, raw)
		c.sql = s.fc.dl.lower(c.sql)
		c.pt = ptText
		return c, nil
	case "":
		c := s.staticConst(f, raw)
		if f.Multiple() && anyOp {
			return s.each(cur, f, c.sql, c.args), nil
		}
		if f.Multiple() {
			c.emptyArray = true
		}
		return c, nil
	}
	return nil, filterErr(id.Pos, "unknown modifier %q", id.Modifier)
}

func filterBoolConst(b bool) *filterValue {
	if b {
		return filterConst(int64(1))
	}
	return filterConst(int64(0))
}

// static compiles a plain @request value (method, context, query, headers,
// body keys that are no field) with the modifiers :isset and :lower.
func (s *filterScope) static(id *filter.Ident, v any, present bool) (*filterValue, error) {
	switch id.Modifier {
	case "":
		return filterConstOf(v), nil
	case filter.ModIsset:
		return filterBoolConst(present), nil
	case filter.ModLower:
		c := filterConstOf(v)
		if c.sql != "NULL" {
			c.sql = s.fc.dl.lower(c.sql)
			c.pt = ptText
		}
		return c, nil
	}
	return nil, filterErr(id.Pos, "modifier :%s is not supported on %q", id.Modifier, id.String())
}

// request compiles @request.* identifiers.
func (s *filterScope) request(id *filter.Ident, anyOp bool) (*filterValue, error) {
	req := s.fc.req
	parts := id.Parts
	switch parts[1] {
	case "method":
		return s.static(id, req.Method, true)
	case "context":
		return s.static(id, req.Context, true)
	case "query", "headers":
		m := req.Query
		if parts[1] == "headers" {
			m = req.Headers
		}
		if len(parts) != 3 {
			return s.static(id, nil, false)
		}
		v, ok := m[parts[2]]
		if !ok {
			return s.static(id, nil, false)
		}
		return s.static(id, v, true)
	case "auth":
		if len(parts) < 3 {
			break
		}
		if req.Auth == nil || req.AuthCollection == nil {
			return s.static(id, nil, false)
		}
		if len(parts) == 3 {
			switch parts[2] {
			case "collectionId":
				return s.static(id, req.AuthCollection.ID, true)
			case "collectionName":
				return s.static(id, req.AuthCollection.Name, true)
			}
		}
		cur := filterCursor{coll: req.AuthCollection, key: "@request.auth", static: req.Auth}
		return s.walk(cur, id, parts[2:], anyOp)
	case "body":
		if len(parts) < 3 {
			break
		}
		if s.base.FieldByName(parts[2]) == nil {
			v, ok := filterExtract(req.Body, parts[2:])
			return s.static(id, v, ok)
		}
		body := req.Body
		if body == nil {
			body = map[string]any{}
		}
		cur := filterCursor{coll: s.base, key: "@request.body", static: body}
		return s.walk(cur, id, parts[2:], anyOp)
	}
	return nil, filterErr(id.Pos, "unknown identifier %q", id.String())
}

// filterExtract follows keys through nested maps and lists (a string
// holding JSON is decoded first).
func filterExtract(v any, keys []string) (any, bool) {
	for i := 0; i < len(keys); i++ {
		k := keys[i]
		switch m := v.(type) {
		case map[string]any:
			x, ok := m[k]
			if !ok {
				return nil, false
			}
			v = x
		case Record:
			x, ok := m[k]
			if !ok {
				return nil, false
			}
			v = x
		case map[string]string:
			x, ok := m[k]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 || n >= len(m) {
				return nil, false
			}
			v = m[n]
		case []string:
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 || n >= len(m) {
				return nil, false
			}
			v = m[n]
		case string:
			var x any
			if json.Unmarshal([]byte(m), &x) != nil {
				return nil, false
			}
			if _, ok := x.(string); ok {
				return nil, false
			}
			v = x
			i--
		case nil, bool, float64, int64, int:
			return nil, false
		default:
			// other values (GeoPoint, typed lists and maps): through JSON
			b, err := json.Marshal(m)
			if err != nil {
				return nil, false
			}
			var x any
			if json.Unmarshal(b, &x) != nil {
				return nil, false
			}
			if _, ok := x.(map[string]any); !ok {
				if _, ok := x.([]any); !ok {
					return nil, false
				}
			}
			v = x
			i--
		}
	}
	return v, true
}

// macro returns the value of a date macro (UTC).
func (s *filterScope) macro(name string) *filterValue {
	t := s.fc.now
	day := func(y int, m time.Month, d int, end bool) *filterValue {
		if end {
			return filterConst(time.Date(y, m, d, 23, 59, 59, 999_000_000, time.UTC).Format(filterDateLayout))
		}
		return filterConst(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(filterDateLayout))
	}
	switch name {
	case "@now":
		return filterConst(t.Format(filterDateLayout))
	case "@yesterday":
		return filterConst(t.AddDate(0, 0, -1).Format(filterDateLayout))
	case "@tomorrow":
		return filterConst(t.AddDate(0, 0, 1).Format(filterDateLayout))
	case "@second":
		return filterConst(int64(t.Second()))
	case "@minute":
		return filterConst(int64(t.Minute()))
	case "@hour":
		return filterConst(int64(t.Hour()))
	case "@weekday":
		return filterConst(int64(t.Weekday()))
	case "@day":
		return filterConst(int64(t.Day()))
	case "@month":
		return filterConst(int64(t.Month()))
	case "@year":
		return filterConst(int64(t.Year()))
	case "@todayStart":
		return day(t.Year(), t.Month(), t.Day(), false)
	case "@todayEnd":
		return day(t.Year(), t.Month(), t.Day(), true)
	case "@monthStart":
		return day(t.Year(), t.Month(), 1, false)
	case "@monthEnd":
		return day(t.Year(), t.Month()+1, 0, true)
	case "@yearStart":
		return day(t.Year(), 1, 1, false)
	default: // @yearEnd
		return day(t.Year(), 12, 31, true)
	}
}

// call compiles geoDistance(lonA, latA, lonB, latB): the haversine distance
// in kilometres (NULL when an argument is NULL). Arguments are fields
// (JSON paths such as location.lon included) or numbers; over multi-valued
// paths it is any-of.
func (s *filterScope) call(c *filter.Call) (*filterValue, error) {
	n, ok := filter.Functions[c.Name]
	if !ok {
		return nil, filterErr(c.Pos, "unknown function %q", c.Name)
	}
	if len(c.Args) != n {
		return nil, filterErr(c.Pos, "%s expects %d arguments, got %d", c.Name, n, len(c.Args))
	}
	vals := make([]*filterValue, len(c.Args))
	for i, a := range c.Args {
		switch a.(type) {
		case *filter.Ident, *filter.Literal:
		default:
			return nil, filterErr(c.Pos, "the arguments of %s must be fields or numbers", c.Name)
		}
		v, err := s.operand(a, false)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if s.fc.dl.strict() {
		for i, v := range vals {
			vals[i] = pgNumber(v)
		}
	}
	lonA, latA, lonB, latB := vals[0], vals[1], vals[2], vals[3]
	var w filterSQL
	w.s("(12742.0 * asin("+s.fc.dl.least()+"(1.0, sqrt(pow(sin((radians(").arg(latB.sql, latB.args...).
		s(") - radians(").arg(latA.sql, latA.args...).
		s(")) / 2.0), 2) + cos(radians(").arg(latA.sql, latA.args...).
		s(")) * cos(radians(").arg(latB.sql, latB.args...).
		s(")) * pow(sin((radians(").arg(lonB.sql, lonB.args...).
		s(") - radians(").arg(lonA.sql, lonA.args...).
		s(")) / 2.0), 2)))))")
	return &filterValue{sql: w.String(), args: w.args, noFallback: true, pt: ptNum}, nil
}
