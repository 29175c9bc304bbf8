package access

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
)

// freezeChanged returns e with every @request.body.<field>:changed replaced
// by its value for the stored record old (true when the body sets the
// field to a different value), for evaluating the rule on the record as
// updated. e itself (shared, cached) is not modified.
func freezeChanged(c *db.Collection, e filter.Expr, body map[string]any, old db.Record) filter.Expr {
	var operand func(o filter.Operand) (filter.Operand, bool)
	operand = func(o filter.Operand) (filter.Operand, bool) {
		switch o := o.(type) {
		case *filter.Ident:
			if o.Modifier != filter.ModChanged || len(o.Parts) != 3 || o.Parts[0] != "@request" || o.Parts[1] != "body" {
				return o, false
			}
			f := c.FieldByName(o.Parts[2])
			if f == nil {
				return o, false
			}
			v, set := body[f.Name]
			return &filter.Literal{Value: set && !sameValue(f, v, old[f.Name]), Pos: o.Pos}, true
		case *filter.Call:
			var args []filter.Operand
			for i, a := range o.Args {
				na, ch := operand(a)
				if ch && args == nil {
					args = slices.Clone(o.Args)
				}
				if args != nil {
					args[i] = na
				}
			}
			if args == nil {
				return o, false
			}
			return &filter.Call{Name: o.Name, Args: args, Pos: o.Pos}, true
		}
		return o, false
	}
	var expr func(e filter.Expr) (filter.Expr, bool)
	expr = func(e filter.Expr) (filter.Expr, bool) {
		switch e := e.(type) {
		case *filter.Group:
			var items []filter.Expr
			for i, it := range e.Items {
				ni, ch := expr(it)
				if ch && items == nil {
					items = slices.Clone(e.Items)
				}
				if items != nil {
					items[i] = ni
				}
			}
			if items == nil {
				return e, false
			}
			return &filter.Group{Op: e.Op, Items: items}, true
		case *filter.Not:
			nx, ch := expr(e.X)
			if !ch {
				return e, false
			}
			return &filter.Not{X: nx}, true
		case *filter.Compare:
			l, lch := operand(e.Left)
			r, rch := operand(e.Right)
			if !lch && !rch {
				return e, false
			}
			return &filter.Compare{Left: l, Op: e.Op, Right: r, Pos: e.Pos}, true
		}
		return e, false
	}
	out, _ := expr(e)
	return out
}

// sameValue reports whether the body value a and the stored value b of f
// are equal under the filter language's rules (null, "" and [] are the
// same empty value; dates in any accepted layout).
func sameValue(f *db.Field, a, b any) bool {
	return canonValue(f, a) == canonValue(f, b)
}

func canonValue(f *db.Field, v any) string {
	if f.Multiple() {
		l := db.StringList(v)
		if len(l) == 0 {
			return ""
		}
		b, _ := json.Marshal(l)
		return string(b)
	}
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		if f.Type == db.FieldDate || f.Type == db.FieldAutodate {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
				if tm, err := time.Parse(layout, t); err == nil {
					return db.FormatDate(tm)
				}
			}
		}
		return t
	case bool:
		if t {
			return "1"
		}
		return "0"
	}
	if n, ok := db.ToFloat(v); ok {
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	if f.Type == db.FieldGeoPoint {
		v = geoPoint(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// geoPoint returns a geo point value (a pointer or a {lon, lat} map as
// GraphQL input decodes it) as a db.GeoPoint, or v unchanged.
func geoPoint(v any) any {
	switch g := v.(type) {
	case db.GeoPoint:
		return g
	case *db.GeoPoint:
		return *g
	case map[string]any:
		lon, _ := db.ToFloat(g["lon"])
		lat, _ := db.ToFloat(g["lat"])
		return db.GeoPoint{Lon: lon, Lat: lat}
	}
	return db.GeoPoint{}
}
