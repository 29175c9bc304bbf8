// Package filter is Monobase's one filter language: the PocketBase filter
// and sort syntax parsed into one AST, which the `filter` and `sort`
// arguments, the typed `where` input and the access rules all produce. The
// db package compiles the AST to SQL with bound parameters.
package filter

// Expr is a boolean expression: *Group, *Not or *Compare.
type Expr interface{ expr() }

// LogicOp joins the items of a Group.
type LogicOp string

// Logic operators.
const (
	And LogicOp = "&&"
	Or  LogicOp = "||"
)

// Group is Items joined by Op. An empty And group is true, an empty Or
// group is false.
type Group struct {
	Op    LogicOp
	Items []Expr
}

// Not negates X (produced by the `where` input's _not; the text syntax has no
// negation operator).
type Not struct{ X Expr }

// Op is a comparison operator.
type Op string

// The operators of the PocketBase syntax; each has an any-of form with a
// leading "?" (e.g. "?=") for multi-value left operands.
const (
	Eq         Op = "="
	Neq        Op = "!="
	Gt         Op = ">"
	Gte        Op = ">="
	Lt         Op = "<"
	Lte        Op = "<="
	Like       Op = "~"  // contains; the right operand is wrapped in % unless it has % itself
	NotLike    Op = "!~" // does not contain
	AnyEq      Op = "?="
	AnyNeq     Op = "?!="
	AnyGt      Op = "?>"
	AnyGte     Op = "?>="
	AnyLt      Op = "?<"
	AnyLte     Op = "?<="
	AnyLike    Op = "?~"
	AnyNotLike Op = "?!~"

	// Operators only the typed `where` input produces; the right operand is a
	// plain string matched literally (no wildcards).
	Contains    Op = "contains"
	NotContains Op = "notContains"
	StartsWith  Op = "startsWith"
	EndsWith    Op = "endsWith"
	RawLike     Op = "like"  // SQL LIKE pattern as given
	In          Op = "in"    // right operand is a *List
	NotIn       Op = "notIn" // right operand is a *List
)

// Compare is Left Op Right. Pos is the byte offset of the operator in the
// source text (0 for expressions not parsed from text).
type Compare struct {
	Left  Operand
	Op    Op
	Right Operand
	Pos   int
}

// Operand is *Ident, *Literal, *List or *Call.
type Operand interface{ operand() }

// Ident is a field path such as "title", "author.name",
// "posts_via_author.title", "@request.auth.id", "@collection.users.email",
// "@now", with an optional modifier (":isset", ":changed", ":length",
// ":each", ":lower") in Modifier without the colon. Parts is Path split at
// dots.
type Ident struct {
	Parts    []string
	Modifier string
	Pos      int
}

// Literal is a string, float64, bool or nil value.
type Literal struct {
	Value any
	Pos   int
}

// List is a list of literals (the right operand of In and NotIn).
type List struct {
	Items []*Literal
	Pos   int
}

// Call is a function call such as geoDistance(lonA, latA, lonB, latB).
type Call struct {
	Name string
	Args []Operand
	Pos  int
}

// SortItem is one term of a sort: a field path (or "@random"), descending
// when Desc.
type SortItem struct {
	Ident *Ident
	Desc  bool
}

func (*Group) expr()   {}
func (*Not) expr()     {}
func (*Compare) expr() {}

func (*Ident) operand()   {}
func (*Literal) operand() {}
func (*List) operand()    {}
func (*Call) operand()    {}
