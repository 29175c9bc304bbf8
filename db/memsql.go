package db

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SQLite's value semantics for the in-memory matching (memmatch.go): the
// values, the affinities of MatchValues' columns, the conversions of a
// comparison, three-valued logic and LIKE. Each function reports ok false
// for a case it does not reproduce exactly; the caller then runs the
// statement.

// tri is a SQL truth value: false, true or NULL.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triNull
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func triAnd(a, b tri) tri {
	switch {
	case a == triFalse || b == triFalse:
		return triFalse
	case a == triNull || b == triNull:
		return triNull
	}
	return triTrue
}

func triOr(a, b tri) tri {
	switch {
	case a == triTrue || b == triTrue:
		return triTrue
	case a == triNull || b == triNull:
		return triNull
	}
	return triFalse
}

// kind is a storage class.
type kind uint8

const (
	kNull kind = iota
	kInt
	kReal
	kText
)

// affinity of an operand: none (a bound parameter or literal), TEXT, or
// numeric (the REAL and INTEGER columns).
type affinity uint8

const (
	affNone affinity = iota
	affText
	affNumeric
)

// sqlv is a SQL value with the affinity of the expression it comes from.
type sqlv struct {
	k   kind
	i   int64
	f   float64
	s   string
	aff affinity
}

// bindValue is what the driver binds for a Go value of the filter
// compiler (nil, int64, float64, string).
func bindValue(a any) (sqlv, bool) {
	switch a := a.(type) {
	case nil:
		return sqlv{}, true
	case int64:
		return sqlv{k: kInt, i: a}, true
	case int:
		return sqlv{k: kInt, i: int64(a)}, true
	case float64:
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return sqlv{}, false
		}
		return sqlv{k: kReal, f: a}, true
	case string:
		return sqlv{k: kText, s: a}, true
	}
	return sqlv{}, false
}

// columnValue is MatchValues' column of f for the value raw: the bound
// SQLValue under CAST(? AS <column type>), with that column's affinity.
func columnValue(f *Field, raw any) (sqlv, bool) {
	arg, err := SQLValue(f, raw)
	if err != nil {
		return sqlv{}, false
	}
	v, ok := bindValue(arg)
	if !ok || v.k == kNull {
		return sqlv{aff: columnAffinity(f)}, ok
	}
	switch ColumnType(f) {
	case "TEXT":
		switch v.k {
		case kInt:
			v = sqlv{k: kText, s: strconv.FormatInt(v.i, 10)}
		case kReal:
			return sqlv{}, false
		}
		v.aff = affText
	case "REAL":
		switch v.k {
		case kInt:
			v = sqlv{k: kReal, f: float64(v.i)}
		case kText:
			return sqlv{}, false
		}
		v.aff = affNumeric
	case "INTEGER":
		if v.k != kInt {
			return sqlv{}, false
		}
		v.aff = affNumeric
	default:
		return sqlv{}, false
	}
	return v, true
}

func columnAffinity(f *Field) affinity {
	if ColumnType(f) == "TEXT" {
		return affText
	}
	return affNumeric
}

// toNumeric applies NUMERIC affinity: text that is a well-formed number
// becomes INTEGER or REAL. Forms whose parse might differ from SQLite's
// (spaces, exponents, more than 15 digits, hex, inf, ...) are not
// reproduced.
func toNumeric(v sqlv) (sqlv, bool) {
	if v.k != kText {
		return v, true
	}
	s := v.s
	digits, numeric := 0, true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case strings.IndexByte("+-.eE \t\n\r\f\v", c) >= 0:
		default:
			numeric = false
		}
	}
	if !numeric || digits == 0 {
		low := strings.ToLower(s)
		if strings.Contains(low, "inf") || strings.Contains(low, "nan") || strings.Contains(low, "0x") {
			return v, false
		}
		return v, true // stays TEXT
	}
	if digits > 15 {
		return v, false
	}
	// -?D+ or -?D+.D+ only
	body := strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(body, ".")
	if !allDigits(intPart) || hasDot && !allDigits(frac) {
		return v, false
	}
	if !hasDot {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return v, false
		}
		return sqlv{k: kInt, i: n}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return v, false
	}
	return sqlv{k: kReal, f: f}, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sqlToText applies TEXT affinity: numbers become their text. A REAL is
// reproduced only when it is integral and below 1e15 ("5.0").
func sqlToText(v sqlv) (sqlv, bool) {
	switch v.k {
	case kInt:
		return sqlv{k: kText, s: strconv.FormatInt(v.i, 10)}, true
	case kReal:
		if v.f != math.Trunc(v.f) || math.Abs(v.f) >= 1e15 || v.f == 0 && math.Signbit(v.f) {
			return v, false
		}
		return sqlv{k: kText, s: strconv.FormatFloat(v.f, 'f', 0, 64) + ".0"}, true
	}
	return v, true
}

// comparable applies the conversions SQLite makes before comparing l and
// r: NUMERIC affinity to the other operand of a numeric one that is TEXT
// or has none, TEXT affinity to an operand without affinity compared
// with a TEXT one.
func comparable(l, r sqlv) (sqlv, sqlv, bool) {
	ok := true
	switch {
	case l.aff == affNumeric && r.aff != affNumeric:
		r, ok = toNumeric(r)
	case r.aff == affNumeric && l.aff != affNumeric:
		l, ok = toNumeric(l)
	case l.aff == affText && r.aff == affNone:
		r, ok = sqlToText(r)
	case r.aff == affText && l.aff == affNone:
		l, ok = sqlToText(l)
	}
	return l, r, ok
}

// sqlCompare orders two non-NULL values by storage class (numbers before
// text), numbers by value, text by bytes (the BINARY collation).
func sqlCompare(l, r sqlv) (int, bool) {
	ln, rn := l.k == kInt || l.k == kReal, r.k == kInt || r.k == kReal
	switch {
	case ln && rn:
		if l.k == kInt && r.k == kInt {
			return cmp3(l.i < r.i, l.i > r.i), true
		}
		lf, ok1 := asFloat(l)
		rf, ok2 := asFloat(r)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmp3(lf < rf, lf > rf), true
	case ln:
		return -1, true
	case rn:
		return 1, true
	}
	return strings.Compare(l.s, r.s), true
}

func cmp3(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

// asFloat is an INTEGER or REAL as a float64, for integers only when the
// conversion is exact.
func asFloat(v sqlv) (float64, bool) {
	if v.k == kReal {
		return v.f, true
	}
	if v.i > 1<<53 || v.i < -(1<<53) {
		return 0, false
	}
	return float64(v.i), true
}

// sqlCmpOp evaluates l <op> r where holds tells the outcome from the
// order of the two.
func sqlCmpOp(l, r sqlv, holds func(int) bool) (tri, bool) {
	l, r, ok := comparable(l, r)
	if !ok {
		return 0, false
	}
	if l.k == kNull || r.k == kNull {
		return triNull, true
	}
	c, ok := sqlCompare(l, r)
	return triOf(holds(c)), ok
}

// sqlEqual is l = r.
func sqlEqual(l, r sqlv) (tri, bool) {
	return sqlCmpOp(l, r, func(c int) bool { return c == 0 })
}

// sqlIsNot is l IS NOT r.
func sqlIsNot(l, r sqlv) (tri, bool) {
	l, r, ok := comparable(l, r)
	if !ok {
		return 0, false
	}
	if l.k == kNull || r.k == kNull {
		return triOf(l.k != r.k), true
	}
	c, ok := sqlCompare(l, r)
	return triOf(c != 0), ok
}

// likeMaxPattern is SQLite's default SQLITE_MAX_LIKE_PATTERN_LENGTH.
const likeMaxPattern = 50000

// sqlLike is `v LIKE pat ESCAPE '\'`, or with not
// the same on COALESCE(v, the empty string) with NOT LIKE.
func sqlLike(v sqlv, pat string, not bool) (tri, bool) {
	if v.k == kNull {
		if !not {
			return triNull, true
		}
		v = sqlv{k: kText}
	}
	if v.k == kReal {
		return 0, false
	}
	s := v.s
	if v.k == kInt {
		s = strconv.FormatInt(v.i, 10)
	}
	if len(pat) > likeMaxPattern || !utf8.ValidString(pat) || !utf8.ValidString(s) {
		return 0, false
	}
	m := likeMatch(pat, s)
	return triOf(m != not), true
}

// likeTok is one token of a LIKE pattern.
type likeTok struct {
	op byte // 'c' a character, '_' any one, '%' any run
	r  rune
}

// likeMatch reports whether s matches the LIKE pattern pat with escape
// character '\': '%' any run, '_' any one character, '\x' x itself,
// ASCII letters case-insensitive. A pattern ending in a lone escape
// matches nothing (as in SQLite).
func likeMatch(pat, s string) bool {
	toks := make([]likeTok, 0, len(pat))
	for i := 0; i < len(pat); {
		r, n := utf8.DecodeRuneInString(pat[i:])
		i += n
		switch r {
		case '%':
			toks = append(toks, likeTok{op: '%'})
		case '_':
			toks = append(toks, likeTok{op: '_'})
		case '\\':
			if i >= len(pat) {
				return false
			}
			r, n = utf8.DecodeRuneInString(pat[i:])
			i += n
			toks = append(toks, likeTok{op: 'c', r: r})
		default:
			toks = append(toks, likeTok{op: 'c', r: r})
		}
	}
	str := []rune(s)
	// Wildcard matching with backtracking to the last '%'.
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(str) {
		if ti < len(toks) {
			t := toks[ti]
			switch {
			case t.op == '%':
				starT, starS = ti, si
				ti++
				continue
			case t.op == '_' || likeEq(t.r, str[si]):
				ti++
				si++
				continue
			}
		}
		if starT < 0 {
			return false
		}
		starS++
		ti, si = starT+1, starS
	}
	for ti < len(toks) && toks[ti].op == '%' {
		ti++
	}
	return ti == len(toks)
}

func likeEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < 0x80 && b < 0x80 {
		return asciiLower(a) == asciiLower(b)
	}
	return false
}

func asciiLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
