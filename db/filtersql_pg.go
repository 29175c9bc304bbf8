package db

import (
	"math"
	"strconv"
	"strings"

	"github.com/monobase/monobase/db/filter"
)

// Operands on a strict engine (PostgreSQL). SQLite compares values of
// different types by converting them (a number column against text that
// looks like a number compares numbers; a text column against a number
// compares text) and its json_extract returns typed values. PostgreSQL
// refuses to compare text with numbers, so the filter compiler converts
// the operands of a comparison here, as SQLite would, before writing it:
// JSON values take the type of what they are compared with, constants are
// converted and bound with their type, and a number compared with text
// that is no number is compared as text. Stored values are the same on
// both engines (see dialect.go), so the answers are the same.

// The types of an operand on a strict engine (filterValue.pt).
const (
	ptText = 't' // TEXT (also dates, relations, JSON lists)
	ptNum  = 'n' // DOUBLE PRECISION (number fields)
	ptInt  = 'i' // BIGINT (bool fields, lengths, 0/1 values)
	ptJSON = 'j' // jsonb, not yet converted (JSON fields and paths)
)

// fieldPT is the type of the column of f.
func fieldPT(f *Field) byte {
	switch ColumnType(f) {
	case "REAL":
		return ptNum
	case "INTEGER":
		return ptInt
	}
	return ptText
}

func pgNumeric(v *filterValue) bool { return v.pt == ptNum || v.pt == ptInt }

// pgLikeOp reports whether op compares with a LIKE pattern.
func pgLikeOp(op filter.Op) bool {
	switch op {
	case filter.Like, filter.AnyLike, filter.NotLike, filter.AnyNotLike,
		filter.Contains, filter.NotContains, filter.StartsWith, filter.EndsWith, filter.RawLike:
		return true
	}
	return false
}

// pgOperands converts the operands of l op r for a strict engine.
func pgOperands(l, r *filterValue, op filter.Op) (*filterValue, *filterValue) {
	like := pgLikeOp(op)
	eq := op == filter.Eq || op == filter.Neq || op == filter.AnyEq || op == filter.AnyNeq
	l, r = pgJSONAs(l, r, like, eq), pgJSONAs(r, l, like, eq)
	if like {
		// the value is cast to text, a constant pattern bound as text
		if l.constant && pgNumeric(l) {
			l = pgConstText(l)
		} else if pgNumeric(l) {
			l = pgAsText(l)
		}
		if !r.constant && pgNumeric(r) {
			r = pgAsText(r)
		}
		return l, r
	}
	switch {
	case l.constant && r.constant:
		// no conversion between constants: a number is less than text
		if pgNumeric(l) && r.pt == ptText {
			nl := *l
			nl.vsText = true
			l = &nl
		} else if pgNumeric(r) && l.pt == ptText {
			nr := *r
			nr.vsText = true
			r = &nr
		}
	case l.constant:
		l, r = pgConstFor(l, r)
	case r.constant:
		r, l = pgConstFor(r, l)
	case pgNumeric(l) && r.pt == ptText:
		l = pgAsText(l)
	case pgNumeric(r) && l.pt == ptText:
		r = pgAsText(r)
	}
	return pgTyped(l, r), pgTyped(r, l)
}

// pgConstFor converts the constant c compared with the value v: text
// that is a number becomes a number against a number column (other text
// makes v compare as text), a number becomes text against text.
func pgConstFor(c, v *filterValue) (*filterValue, *filterValue) {
	switch {
	case c.pt == ptText && pgNumeric(v) && c.sql == "?":
		if f, err := strconv.ParseFloat(strings.TrimSpace(c.text), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			n := filterConst(f)
			n.field = c.field
			return n, v
		}
		nv := *v
		nv.vsText = true
		return c, &nv
	case pgNumeric(c) && v.pt == ptText:
		return pgConstText(c), v
	}
	return c, v
}

// pgNumberVsText writes l op r for a number and text that is no number
// (vsText) as SQLite answers it: numbers sort before text, so = is false,
// != true, and number < text true unless the number is NULL. It returns
// false for = and != with an empty text, which the empty-value rules
// answer.
func pgNumberVsText(w *filterSQL, dl queryDialect, op filter.Op, l, r *filterValue) bool {
	num := l
	if r.vsText {
		num = r
	}
	less := false // the comparison holds when the number is less
	switch op {
	case filter.Eq, filter.AnyEq, filter.Neq, filter.AnyNeq:
		if l.empty || r.empty {
			return false
		}
		w.s(dl.boolLit(op == filter.Neq || op == filter.AnyNeq))
		return true
	case filter.Lt, filter.AnyLt, filter.Lte, filter.AnyLte:
		less = num == l
	case filter.Gt, filter.AnyGt, filter.Gte, filter.AnyGte:
		less = num == r
	default:
		return false
	}
	if !less {
		w.s(dl.boolLit(false))
		return true
	}
	w.s("(").arg(num.sql, num.args...).s(" IS NOT NULL)")
	return true
}

// pgConstText is the number constant c as SQLite converts it to text.
func pgConstText(c *filterValue) *filterValue {
	if c.sql != "?" || len(c.args) != 1 {
		return c
	}
	var s string
	switch a := c.args[0].(type) {
	case int64:
		s = strconv.FormatInt(a, 10)
	case float64:
		s = sqliteRealText(a)
	default:
		return c
	}
	n := filterConst(s)
	n.field = c.field
	return n
}

// sqliteRealText is SQLite's text of a REAL ("%!.15g": 5.0, 5.5).
func sqliteRealText(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64) + ".0"
	}
	return strconv.FormatFloat(f, 'g', 15, 64)
}

// pgTyped binds the constant v with its type (a parameter alone has
// none): numbers as the other operand's number type.
func pgTyped(v, other *filterValue) *filterValue {
	if !v.constant || v.sql != "?" {
		return v
	}
	t := " AS TEXT)"
	switch v.pt {
	case ptInt, ptNum:
		t = " AS DOUBLE PRECISION)"
		if other.pt == ptInt && v.pt == ptInt {
			t = " AS BIGINT)"
		}
	}
	n := *v
	n.sql = "CAST(?" + t
	return &n
}

// pgJSONAs converts a JSON value to the type of what it is compared with:
// a number (JSON numbers, and booleans as 1 and 0, as SQLite's
// json_extract returns them) against numbers, else its text (a JSON
// string unquoted; JSON null is NULL). eq: for = and != with a text
// constant, where a JSON number or boolean equals no text (SQLite does
// not convert between the two), it is NULL.
func pgJSONAs(v, other *filterValue, like, eq bool) *filterValue {
	if v.pt != ptJSON {
		return v
	}
	switch {
	case !like && pgNumeric(other):
		return pgWrap(v, pgJSONNumber, 3, ptNum)
	case eq && other.constant && other.pt == ptText:
		return pgWrap(v, pgJSONNoNumber, 2, ptText)
	}
	return pgWrap(v, pgJSONText, 1, ptText)
}

// pgNumber is v as a number (function arguments).
func pgNumber(v *filterValue) *filterValue {
	if v.pt == ptJSON {
		return pgWrap(v, pgJSONNumber, 3, ptNum)
	}
	return pgTyped(v, &filterValue{pt: ptNum})
}

func pgJSONNumber(x string) string {
	return "(CASE jsonb_typeof(" + x + ") WHEN 'number' THEN CAST(" + x + " AS DOUBLE PRECISION) WHEN 'boolean' THEN CAST(CAST(" + x + " AS BOOLEAN) AS INTEGER) END)"
}

func pgJSONText(x string) string { return "((" + x + ") #>> '{}')" }

func pgJSONNoNumber(x string) string {
	return "(CASE WHEN jsonb_typeof(" + x + ") IN ('number', 'boolean') THEN NULL ELSE (" + x + ") #>> '{}' END)"
}

func pgCastText(x string) string { return "CAST(" + x + " AS TEXT)" }

// pgRealText is the text of the DOUBLE PRECISION x as SQLite writes a REAL
// (5.0, not PostgreSQL's 5).
func pgRealText(x string) string {
	return "(CASE WHEN " + x + " = trunc(" + x + ") AND abs(" + x + ") < 1e15 THEN CAST(CAST(" + x +
		" AS BIGINT) AS TEXT) || '.0' ELSE CAST(" + x + " AS TEXT) END)"
}

// pgAsText is the number v as SQLite converts it to text.
func pgAsText(v *filterValue) *filterValue {
	if v.pt == ptNum {
		return pgWrap(v, pgRealText, 5, ptText)
	}
	return pgWrap(v, pgCastText, 1, ptText)
}

// pgWrap returns v with its SQL (and its chain's value) wrapped by wrap,
// which writes its operand n times (the arguments repeat), of type pt.
func pgWrap(v *filterValue, wrap func(string) string, n int, pt byte) *filterValue {
	c := *v
	c.sql, c.args = wrap(v.sql), pgRepeat(v.args, n)
	c.pt = pt
	if v.multi != nil {
		v.multi.value, v.multi.vargs = wrap(v.multi.value), pgRepeat(v.multi.vargs, n)
	}
	return &c
}

func pgRepeat(args []any, n int) []any {
	if n == 1 || len(args) == 0 {
		return args
	}
	out := make([]any, 0, n*len(args))
	for range n {
		out = append(out, args...)
	}
	return out
}

// pgList converts the value l and the items vals of l IN (...) as
// pgOperands does; marks are the items' typed placeholders.
func pgList(l *filterValue, vals []any) (*filterValue, []any, []string) {
	numbers, texts := true, false
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			texts = true
			if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
				numbers = false
			}
		}
	}
	if l.pt == ptJSON {
		if texts {
			l = pgWrap(l, pgJSONText, 1, ptText)
		} else {
			l = pgWrap(l, pgJSONNumber, 3, ptNum)
		}
	}
	if pgNumeric(l) && !numbers {
		l = pgAsText(l)
	}
	out := make([]any, len(vals))
	marks := make([]string, len(vals))
	for i, v := range vals {
		c := filterConst(v)
		if pgNumeric(l) && c.pt == ptText {
			f, _ := strconv.ParseFloat(strings.TrimSpace(c.text), 64)
			c = filterConst(f)
		} else if l.pt == ptText && pgNumeric(c) {
			c = pgConstText(c)
		}
		c = pgTyped(c, l)
		out[i], marks[i] = c.args[0], c.sql
	}
	return l, out, marks
}

// pgColumnArg converts v, the SQLValue of f, to the Go type of f's column
// as SQLite's CAST(? AS <column type>) converts it (MatchValues binds a
// record's values that way): PostgreSQL's CAST refuses what SQLite's
// converts (text that is no number is 0, a number as text).
func pgColumnArg(f *Field, v any) any {
	if v == nil {
		return nil
	}
	switch fieldPT(f) {
	case ptText:
		switch a := v.(type) {
		case int64:
			return strconv.FormatInt(a, 10)
		case float64:
			return sqliteRealText(a)
		}
	case ptNum:
		switch a := v.(type) {
		case int64:
			return float64(a)
		case string:
			return sqliteTextNumber(a)
		}
	case ptInt:
		switch a := v.(type) {
		case float64:
			if a >= -(1<<63) && a < 1<<63 {
				return int64(a)
			}
			return int64(0)
		case string:
			f := sqliteTextNumber(a)
			if f >= -(1<<63) && f < 1<<63 {
				return int64(f)
			}
			return int64(0)
		}
	}
	return v
}

// sqliteTextNumber is CAST(s AS REAL) in SQLite: the longest number at
// the start of s (after spaces), 0 when there is none.
func sqliteTextNumber(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	for n := len(s); n > 0; n-- {
		if f, err := strconv.ParseFloat(s[:n], 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return 0
}
