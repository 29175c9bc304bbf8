package db

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/monobase/monobase/db/filter"
)

// filterValue is a compiled operand: SQL (with args) for its value on the
// scope's current row, plus what the operators need to know about it.
type filterValue struct {
	sql  string
	args []any

	constant   bool // a compile-time value (bound parameter or NULL)
	empty      bool // constant and NULL or '' (or '[]' for lists)
	str        bool // constant string (the Go string is in text)
	text       string
	notNull    bool // never NULL nor '': compare directly
	noFallback bool // JSON values: = and != become IS and IS NOT
	emptyArray bool // a bare multi-valued column: '[]' is empty too
	pt         byte // its type on strict engines: ptText, ptNum, ptInt, ptJSON, 0 (NULL)
	vsText     bool // strict engines: a number compared with text that is no number
	field      *Field

	multi *filterChain // set on multi-valued paths: the values one by one
	guard string       // SQL ANDed to every comparison (email visibility)
	gargs []any
}

// filterChain is an independent subquery over the values of a multi-valued
// path (used for the all-values semantics of the plain operators).
type filterChain struct {
	from   strings.Builder
	fargs  []any
	where  []string
	wargs  []any
	value  string // over the chain's aliases
	vargs  []any
	nalias int
}

// write writes `(SELECT value AS "v" FROM ... WHERE ...)`.
func (ch *filterChain) write(w *filterSQL) {
	w.s("(SELECT ").arg(ch.value, ch.vargs...).s(` AS "v" FROM `).arg(ch.from.String(), ch.fargs...)
	if len(ch.where) > 0 {
		w.s(" WHERE ").arg(strings.Join(ch.where, " AND "), ch.wargs...)
	}
	w.s(")")
}

func filterConst(v any) *filterValue {
	switch v := v.(type) {
	case nil:
		return &filterValue{sql: "NULL", constant: true, empty: true}
	case string:
		return &filterValue{sql: "?", args: []any{v}, constant: true, empty: v == "", str: true, text: v, pt: ptText}
	case int64:
		return &filterValue{sql: "?", args: []any{v}, constant: true, notNull: true, pt: ptInt}
	default:
		return &filterValue{sql: "?", args: []any{v}, constant: true, notNull: true, pt: ptNum}
	}
}

// filterBind converts a Go value (literal, request or record value) to
// what is bound: nil, string, int64, float64. Lists, maps and other values
// become their JSON text.
func filterBind(v any) any {
	switch v := v.(type) {
	case nil, string, int64, float64:
		return v
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint:
		return float64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return float64(v)
	case float32:
		return float64(v)
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case time.Time:
		return v.UTC().Format(filterDateLayout)
	case []byte:
		return string(v)
	case fmt.Stringer:
		return v.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// filterConstOf is filterConst(filterBind(v)) with '[]' counting as empty
// for lists.
func filterConstOf(v any) *filterValue {
	b := filterBind(v)
	c := filterConst(b)
	if s, ok := b.(string); ok && s == "[]" {
		c.empty = true
	}
	return c
}

// literal compiles a literal of the AST.
func (s *filterScope) literal(l *filter.Literal) (*filterValue, error) {
	switch v := l.Value.(type) {
	case nil, string, bool, float64, int, int64, int32, float32, json.Number:
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return nil, filterErr(l.Pos, "invalid number")
		}
		return filterConst(filterBind(v)), nil
	}
	return nil, filterErr(l.Pos, "unsupported literal of type %T", l.Value)
}

// compare compiles one comparison.
func (s *filterScope) compare(w *filterSQL, c *filter.Compare) error {
	s.fc.compares++
	if s.fc.compares > filter.MaxExprs {
		return filterErr(c.Pos, "too many expressions (max %d)", filter.MaxExprs)
	}
	if c.Left == nil || c.Right == nil {
		return filterErr(c.Pos, "missing operand")
	}
	anyOp := false
	switch c.Op {
	case filter.Eq, filter.Neq, filter.Gt, filter.Gte, filter.Lt, filter.Lte, filter.Like, filter.NotLike:
	case filter.AnyEq, filter.AnyNeq, filter.AnyGt, filter.AnyGte, filter.AnyLt, filter.AnyLte, filter.AnyLike, filter.AnyNotLike,
		filter.Contains, filter.NotContains, filter.StartsWith, filter.EndsWith, filter.RawLike, filter.In, filter.NotIn:
		anyOp = true
	default:
		return filterErr(c.Pos, "unknown operator %q", c.Op)
	}
	if _, ok := c.Left.(*filter.List); ok {
		return filterErr(c.Pos, "a list cannot be the left operand")
	}
	l, err := s.operand(c.Left, anyOp)
	if err != nil {
		return err
	}
	if c.Op == filter.In || c.Op == filter.NotIn {
		list, ok := c.Right.(*filter.List)
		if !ok {
			return filterErr(c.Pos, "%s needs a list", c.Op)
		}
		return s.inList(w, c, l, list)
	}
	if _, ok := c.Right.(*filter.List); ok {
		return filterErr(c.Pos, "a list needs in or notIn")
	}
	r, err := s.operand(c.Right, anyOp)
	if err != nil {
		return err
	}
	l, r = filterNormDates(l, r), filterNormDates(r, l)
	dl := s.fc.dl
	if dl.strict() {
		l, r = pgOperands(l, r, c.Op)
	}

	guarded := l.guard != "" || r.guard != ""
	all := !anyOp && (l.multi != nil || r.multi != nil)
	if guarded || all {
		w.s("(")
	}
	if err := filterOp(w, dl, c, l, r); err != nil {
		return err
	}
	if all {
		// every value must match: no value for which the comparison is not true
		w.s(" AND NOT EXISTS (SELECT 1 FROM ")
		lv, rv := l, r
		if l.multi != nil {
			a := s.fc.alias("v")
			l.multi.write(w)
			w.s(" " + a)
			lv = &filterValue{sql: a + `."v"`, noFallback: l.noFallback, field: l.field, pt: l.pt, vsText: l.vsText}
		}
		if r.multi != nil {
			if l.multi != nil {
				w.s(", ")
			}
			a := s.fc.alias("v")
			r.multi.write(w)
			w.s(" " + a)
			rv = &filterValue{sql: a + `."v"`, noFallback: r.noFallback, field: r.field, pt: r.pt, vsText: r.vsText}
		}
		w.s(" WHERE (")
		if err := filterOp(w, dl, c, lv, rv); err != nil {
			return err
		}
		w.s(")" + dl.notTrue() + ")")
	}
	if l.guard != "" {
		w.s(" AND ").arg(l.guard, l.gargs...)
	}
	if r.guard != "" {
		w.s(" AND ").arg(r.guard, r.gargs...)
	}
	if guarded || all {
		w.s(")")
	}
	return nil
}

// filterOp writes `l op r` for one pair of values.
func filterOp(w *filterSQL, dl queryDialect, c *filter.Compare, l, r *filterValue) error {
	if (l.vsText || r.vsText) && pgNumberVsText(w, dl, c.Op, l, r) {
		return nil
	}
	switch c.Op {
	case filter.Eq, filter.AnyEq:
		filterEq(w, dl, true, l, r)
	case filter.Neq, filter.AnyNeq:
		filterEq(w, dl, false, l, r)
	case filter.Gt, filter.AnyGt:
		filterBin(w, l, " > ", r)
	case filter.Gte, filter.AnyGte:
		filterBin(w, l, " >= ", r)
	case filter.Lt, filter.AnyLt:
		filterBin(w, l, " < ", r)
	case filter.Lte, filter.AnyLte:
		filterBin(w, l, " <= ", r)
	case filter.Like, filter.AnyLike, filter.NotLike, filter.AnyNotLike:
		not := c.Op == filter.NotLike || c.Op == filter.AnyNotLike
		if r.constant && dl.strict() && likeLoneEscape(filterLikeWrap(r.constText())) {
			w.s(dl.boolLit(not)) // matches nothing, as on SQLite (PostgreSQL refuses it)
			return nil
		}
		pre, post := dl.like(not)
		w.s(pre).arg(l.sql, l.args...).s(post)
		switch {
		case r.constant:
			w.arg("?", filterLikeWrap(r.constText()))
		default:
			w.s("('%' || ").arg(r.sql, r.args...).s(" || '%')")
		}
		w.s(` ESCAPE '\'`)
	case filter.Contains, filter.NotContains, filter.StartsWith, filter.EndsWith, filter.RawLike:
		if !r.constant || r.sql == "NULL" {
			return filterErr(c.Pos, "%s needs a text value", c.Op)
		}
		pat := likePattern(c.Op, r.constText())
		if dl.strict() && likeLoneEscape(pat) {
			w.s(dl.boolLit(c.Op == filter.NotContains))
			return nil
		}
		pre, post := dl.like(c.Op == filter.NotContains)
		w.s(pre).arg(l.sql, l.args...).s(post)
		w.arg("?", pat).s(` ESCAPE '\'`)
	default:
		return filterErr(c.Pos, "operator %q needs a list", c.Op)
	}
	return nil
}

func filterBin(w *filterSQL, l *filterValue, op string, r *filterValue) {
	w.arg(l.sql, l.args...).s(op).arg(r.sql, r.args...)
}

// filterEq writes = (eq) or != with PocketBase's empty-value rules: NULL and
// the empty string are equal; != matches NULLs.
func filterEq(w *filterSQL, dl queryDialect, eq bool, l, r *filterValue) {
	if l.noFallback || r.noFallback {
		filterBin(w, l, dl.is(!eq), r)
		return
	}
	lEmpty, rEmpty := l.constant && l.empty, r.constant && r.empty
	switch {
	case lEmpty && rEmpty:
		w.s(dl.boolLit(eq))
	case l.notNull || l.constant && !l.empty || r.notNull || r.constant && !r.empty:
		if lEmpty {
			w.s(filterEmptyFor(dl, r))
		} else {
			w.arg(l.sql, l.args...)
		}
		if eq {
			w.s(" = ")
		} else {
			w.s(dl.is(true))
		}
		if rEmpty {
			w.s(filterEmptyFor(dl, l))
		} else {
			w.arg(r.sql, r.args...)
		}
	case lEmpty:
		filterIsEmpty(w, dl, eq, r)
	case rEmpty:
		filterIsEmpty(w, dl, eq, l)
	case dl.strict() && (pgNumeric(l) || pgNumeric(r)):
		filterBin(w, l, dl.is(!eq), r) // no '' among numbers
	default:
		w.s("COALESCE(").arg(l.sql, l.args...).s(", '')")
		if eq {
			w.s(" = ")
		} else {
			w.s(dl.is(true))
		}
		w.s("COALESCE(").arg(r.sql, r.args...).s(", '')")
	}
}

// filterEmptyFor is the empty value compared with v: the empty string, or
// NULL for a number on a strict engine (where, as the empty string on
// SQLite, it equals no number and differs from every one).
func filterEmptyFor(dl queryDialect, v *filterValue) string {
	if dl.strict() && pgNumeric(v) {
		return "NULL"
	}
	return "''"
}

// filterIsEmpty writes whether v is empty (eq) or not.
func filterIsEmpty(w *filterSQL, dl queryDialect, eq bool, v *filterValue) {
	if dl.strict() && pgNumeric(v) {
		w.s("(").arg(v.sql, v.args...)
		if eq {
			w.s(" IS NULL)")
		} else {
			w.s(" IS NOT NULL)")
		}
		return
	}
	if eq {
		w.s("(").arg(v.sql, v.args...).s(" = '' OR ").arg(v.sql, v.args...).s(" IS NULL")
		if v.emptyArray {
			w.s(" OR ").arg(v.sql, v.args...).s(" = '[]'")
		}
	} else {
		w.s("(").arg(v.sql, v.args...).s(dl.is(true)+"'' AND ").arg(v.sql, v.args...).s(" IS NOT NULL")
		if v.emptyArray {
			w.s(" AND ").arg(v.sql, v.args...).s(dl.is(true) + "'[]'")
		}
	}
	w.s(")")
}

// inList writes l IN (...) / NOT IN. notIn matches NULLs.
func (s *filterScope) inList(w *filterSQL, c *filter.Compare, l *filterValue, list *filter.List) error {
	if len(list.Items) > 1000 {
		return filterErr(list.Pos, "too many list items (max 1000)")
	}
	vals := make([]any, 0, len(list.Items))
	hasNull := false
	for _, it := range list.Items {
		if it == nil {
			return filterErr(list.Pos, "missing list item")
		}
		v, err := s.literal(it)
		if err != nil {
			return err
		}
		if len(v.args) == 0 {
			hasNull = true
			continue
		}
		v = filterNormDates(v, l)
		vals = append(vals, v.args[0])
	}
	if l.guard != "" {
		w.s("(")
	}
	in := c.Op == filter.In
	dl := s.fc.dl
	marks := make([]string, len(vals))
	for i := range marks {
		marks[i] = "?"
	}
	if dl.strict() {
		l, vals, marks = pgList(l, vals)
	}
	switch {
	case len(vals) == 0 && in && !hasNull:
		w.s(dl.boolLit(false))
	case len(vals) == 0 && !in && !hasNull:
		w.s(dl.boolLit(true))
	case len(vals) == 0 && in:
		w.arg(l.sql, l.args...).s(" IS NULL")
	case len(vals) == 0:
		w.arg(l.sql, l.args...).s(" IS NOT NULL")
	default:
		if in && hasNull || !in && !hasNull {
			w.s("(")
		}
		if !in && !hasNull {
			w.arg(l.sql, l.args...).s(" IS NULL OR ")
		}
		w.arg(l.sql, l.args...)
		if in {
			w.s(" IN (")
		} else {
			w.s(" NOT IN (")
		}
		for i, v := range vals {
			if i > 0 {
				w.s(", ")
			}
			w.arg(marks[i], v)
		}
		w.s(")")
		if in && hasNull {
			w.s(" OR ").arg(l.sql, l.args...).s(" IS NULL")
		}
		if in && hasNull || !in && !hasNull {
			w.s(")")
		}
	}
	if l.guard != "" {
		w.s(" AND ").arg(l.guard, l.gargs...).s(")")
	}
	return nil
}

// constText is the text of a constant for LIKE patterns.
func (v *filterValue) constText() string {
	if v.str {
		return v.text
	}
	if len(v.args) == 1 {
		switch a := v.args[0].(type) {
		case float64:
			return strconv.FormatFloat(a, 'f', -1, 64)
		case int64:
			return strconv.FormatInt(a, 10)
		case string:
			return a
		}
	}
	return ""
}

// filterLikeWrap implements the right operand of ~: a value with an
// unescaped % is a pattern used as is; otherwise \, % and _ are escaped
// (already escaped ones kept) and the value is wrapped in %.
func filterLikeWrap(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
		} else if v[i] == '%' {
			return v
		}
	}
	var b strings.Builder
	b.Grow(len(v) + 4)
	b.WriteByte('%')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v) && (v[i+1] == '%' || v[i+1] == '_' || v[i+1] == '\\'):
			b.WriteByte(c)
			b.WriteByte(v[i+1])
			i++
		case c == '\\' || c == '%' || c == '_':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('%')
	return b.String()
}

// likeLoneEscape reports whether the LIKE pattern pat ends in an escape
// character that escapes nothing.
func likeLoneEscape(pat string) bool {
	for i := 0; i < len(pat); i++ {
		if pat[i] == '\\' {
			if i == len(pat)-1 {
				return true
			}
			i++
		}
	}
	return false
}

// filterLikeEscape escapes \, % and _ so that v matches literally.
func filterLikeEscape(v string) string {
	if !strings.ContainsAny(v, `\%_`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\\' || c == '%' || c == '_' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// filterDateInputs are the date layouts a string compared with a date field
// may use; they are rewritten to the storage format.
var filterDateInputs = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// filterNormDates rewrites v, a constant date-time string compared with a
// DATE or AUTODATE value other, to the storage format.
func filterNormDates(v, other *filterValue) *filterValue {
	if !v.str || other.field == nil || (other.field.Type != FieldDate && other.field.Type != FieldAutodate) || len(v.text) <= 10 {
		return v
	}
	if v.sql != "?" {
		return v // LOWER(?)
	}
	for _, layout := range filterDateInputs {
		if t, err := time.Parse(layout, v.text); err == nil {
			return filterConst(t.UTC().Format(filterDateLayout))
		}
	}
	return v
}

// likePattern is the LIKE pattern of a text operator's value: contains
// (and its negation), startsWith and endsWith escape it and add their
// wildcards; a raw like takes it as written.
func likePattern(op filter.Op, v string) string {
	switch op {
	case filter.Contains, filter.NotContains:
		return "%" + filterLikeEscape(v) + "%"
	case filter.StartsWith:
		return filterLikeEscape(v) + "%"
	case filter.EndsWith:
		return "%" + filterLikeEscape(v)
	}
	return v
}
