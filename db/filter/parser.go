package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/monobase/monobase/apperr"
)

// Input bounds: a filter, rule or sort longer than MaxLength characters or
// with more than MaxExprs comparisons (sort: terms) is refused, as is a
// filter nested more than MaxDepth parentheses deep. MaxNodes bounds the
// comparisons, groups and negations of one expression (the compiler checks
// it, with a nesting of at most 2*MaxDepth groups and negations, as the
// typed where input builds some of its own): SQLite refuses expressions
// more than 1000 levels deep, and a chain of N terms is N levels.
const (
	MaxLength = 3500
	MaxExprs  = 200
	MaxDepth  = 32
	MaxNodes  = 2 * MaxExprs
)

// Modifiers that may follow an identifier after a colon.
const (
	ModIsset   = "isset"
	ModChanged = "changed"
	ModLength  = "length"
	ModEach    = "each"
	ModLower   = "lower"
)

// Macros are the date and time identifiers (`@now`, `@todayStart`, ...);
// read-only.
var Macros = map[string]bool{
	"@now": true, "@second": true, "@minute": true, "@hour": true, "@weekday": true,
	"@day": true, "@month": true, "@year": true, "@todayStart": true, "@todayEnd": true,
	"@monthStart": true, "@monthEnd": true, "@yearStart": true, "@yearEnd": true,
	"@yesterday": true, "@tomorrow": true,
}

// Random is the sort key for a random order.
const Random = "@random"

// Functions maps the known function names to their number of arguments;
// read-only.
var Functions = map[string]int{"geoDistance": 4}

// requestKeys are the parts allowed after @request, with whether they take
// a further path (@request.auth.id) or stand alone (@request.method).
var requestKeys = map[string]bool{
	"auth": true, "body": true, "query": true, "headers": true,
	"method": false, "context": false,
}

// errAt returns a BAD_USER_INPUT error naming the 1-based position of the
// byte offset pos.
func errAt(pos int, format string, args ...any) *apperr.Error {
	e := apperr.New(apperr.Invalid, "filter: "+format, args...)
	e.Pos = pos + 1
	e.Message += " at position " + strconv.Itoa(e.Pos)
	return e
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// Parse parses a filter or rule in the PocketBase syntax, e.g.
// `author = @request.auth.id && (status = 'published' || public = true)`:
//
//	expr    = and { "||" and }          (&& binds tighter than ||)
//	and     = primary { "&&" primary }
//	primary = "(" expr ")" | operand op operand
//	op      = = != > >= < <= ~ !~ and ?= ?!= ?> ?>= ?< ?<= ?~ ?!~
//	operand = ident | 'text' | "text" | number | true | false | null | call
//	ident   = path [":" modifier]   e.g. author.name, tags:each,
//	          @request.auth.id, @collection.users:alias.email, @now
//	call    = geoDistance(lonA, latA, lonB, latB)
//
// Strings decode the escapes \\ \' \" \n \r \t and keep any other
// backslash; numbers are -?digits[.digits]; `//` starts a line comment;
// true, false and null are case-insensitive. The parser checks identifiers'
// shape (known @-names, macros, modifiers and functions); the compiler
// resolves fields. An empty src is an empty And group (true). At most
// MaxLength characters, MaxExprs comparisons and MaxDepth levels of
// parentheses.
//
// Errors are *apperr.Error with code BAD_USER_INPUT whose message ends with
// "at position N" and whose Pos is N: the 1-based byte offset of the
// problem (the column for ASCII text; positions count bytes so that they
// agree with the AST's Pos fields).
func Parse(src string) (Expr, error) {
	if src == "" {
		return &Group{Op: And}, nil
	}
	if err := checkLength(src); err != nil {
		return nil, err
	}
	p := &parser{s: scanner{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, errAt(p.tok.pos, "empty expression")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected()
	}
	return e, nil
}

// ParseSort parses a sort such as `-created,title,+author.name` or
// `@random`. An empty src gives no items. Errors are as for Parse.
func ParseSort(src string) ([]SortItem, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	if err := checkLength(src); err != nil {
		return nil, err
	}
	p := &parser{s: scanner{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var items []SortItem
	for {
		desc := false
		switch p.tok.kind {
		case tokMinus:
			desc = true
			fallthrough
		case tokPlus:
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if p.tok.kind != tokIdent {
			return nil, p.unexpected()
		}
		id, err := p.ident(p.tok, true)
		if err != nil {
			return nil, err
		}
		if len(items) == MaxExprs {
			return nil, errAt(p.tok.pos, "too many sort terms (max %d)", MaxExprs)
		}
		items = append(items, SortItem{Ident: id, Desc: desc})
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tokEOF:
			return items, nil
		case tokComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
		default:
			return nil, p.unexpected()
		}
	}
}

func checkLength(src string) error {
	if len(src) > MaxLength && utf8.RuneCountInString(src) > MaxLength {
		return errAt(MaxLength, "too long (max %d characters)", MaxLength)
	}
	return nil
}

// parser is a recursive-descent parser over the scanner's tokens with one
// token of look-ahead.
type parser struct {
	s        scanner
	tok      token
	compares int
	depth    int // open parentheses
}

func (p *parser) advance() error {
	t, err := p.s.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// unexpected returns the error for the current token.
func (p *parser) unexpected() error {
	t := p.tok
	switch t.kind {
	case tokEOF:
		return errAt(t.pos, "unexpected end of input")
	case tokString:
		return errAt(t.pos, "unexpected string %s", shorten(p.s.src[t.pos:p.s.pos]))
	case tokCall:
		return errAt(t.pos, "unexpected %q", t.text+"(")
	}
	return errAt(t.pos, "unexpected %q", shorten(t.text))
}

func shorten(s string) string {
	if len(s) > 30 {
		s = s[:30] + "..."
	}
	return s
}

// parseOr: and ('||' and)*
func (p *parser) parseOr() (Expr, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOr {
		return first, nil
	}
	g := &Group{Op: Or, Items: []Expr{first}}
	for p.tok.kind == tokOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		g.Items = append(g.Items, e)
	}
	return g, nil
}

// parseAnd: primary ('&&' primary)*
func (p *parser) parseAnd() (Expr, error) {
	first, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokAnd {
		return first, nil
	}
	g := &Group{Op: And, Items: []Expr{first}}
	for p.tok.kind == tokAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		g.Items = append(g.Items, e)
	}
	return g, nil
}

// parsePrimary: '(' or ')' | operand op operand
func (p *parser) parsePrimary() (Expr, error) {
	if p.tok.kind == tokLParen {
		if p.depth == MaxDepth {
			return nil, errAt(p.tok.pos, "too deeply nested (max %d levels of parentheses)", MaxDepth)
		}
		p.depth++
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokRParen {
			return nil, p.unexpected()
		}
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.unexpected()
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return e, nil
	}
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOp {
		return nil, p.unexpected()
	}
	cmp := &Compare{Left: left, Op: Op(p.tok.text), Pos: p.tok.pos}
	p.compares++
	if p.compares > MaxExprs {
		return nil, errAt(p.tok.pos, "too many expressions (max %d)", MaxExprs)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if cmp.Right, err = p.parseOperand(); err != nil {
		return nil, err
	}
	return cmp, nil
}

// parseOperand: ident | string | number | true | false | null | call
func (p *parser) parseOperand() (Operand, error) {
	t := p.tok
	var o Operand
	switch t.kind {
	case tokString:
		o = &Literal{Value: t.text, Pos: t.pos}
	case tokNumber:
		o = &Literal{Value: t.num, Pos: t.pos}
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true":
			o = &Literal{Value: true, Pos: t.pos}
		case "false":
			o = &Literal{Value: false, Pos: t.pos}
		case "null":
			o = &Literal{Value: nil, Pos: t.pos}
		default:
			id, err := p.ident(t, false)
			if err != nil {
				return nil, err
			}
			o = id
		}
	case tokCall:
		return p.parseCall()
	default:
		return nil, p.unexpected()
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return o, nil
}

// parseCall parses the arguments of a call whose name and "(" the scanner
// consumed. Arguments are operands (nested calls included).
func (p *parser) parseCall() (Operand, error) {
	t := p.tok
	want, ok := Functions[t.text]
	if !ok {
		return nil, errAt(t.pos, "unknown function %q", t.text)
	}
	call := &Call{Name: t.text, Pos: t.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	for p.tok.kind != tokRParen {
		if len(call.Args) > 0 {
			if p.tok.kind != tokComma {
				return nil, p.unexpected()
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		arg, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		call.Args = append(call.Args, arg)
	}
	if len(call.Args) != want {
		return nil, errAt(t.pos, "%s expects %d arguments, got %d", t.text, want, len(call.Args))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return call, nil
}

// ident validates an identifier token and splits it into parts and
// modifier. sort allows @random and no @-macros.
func (p *parser) ident(t token, sort bool) (*Ident, error) {
	id, msg := splitIdent(t.text, sort)
	if msg != "" {
		return nil, errAt(t.pos, "%s", msg)
	}
	id.Pos = t.pos
	return id, nil
}

// splitIdent checks an identifier's shape and splits it; on failure it
// returns a message for the user.
func splitIdent(text string, sort bool) (*Ident, string) {
	if isPlainWord(text) {
		return &Ident{Parts: []string{text}}, ""
	}
	id, msg := splitIdentSlow(text, sort)
	if msg == "bad" {
		msg = fmt.Sprintf("invalid identifier %q", shorten(text))
	}
	return id, msg
}

func splitIdentSlow(text string, sort bool) (*Ident, string) {
	const bad = "bad"
	parts := strings.Split(text, ".")
	id := &Ident{Parts: parts}
	last := len(parts) - 1
	for i, part := range parts {
		name, extra, hasColon := strings.Cut(part, ":")
		if hasColon {
			switch {
			case i == 1 && parts[0] == "@collection" && last >= 2:
				if !isWordPart(name) || !isPlainWord(extra) {
					return nil, bad
				}
				continue
			case i == last:
				switch extra {
				case ModIsset, ModChanged, ModLength, ModEach, ModLower:
				default:
					return nil, fmt.Sprintf("unknown modifier %q in %q", ":"+extra, shorten(text))
				}
				parts[i] = name
				id.Modifier = extra
			default:
				return nil, bad
			}
		}
		if i == 0 && strings.HasPrefix(name, "@") {
			name = name[1:]
		}
		if i == 0 && !isPlainWord(name) || i > 0 && !isWordPart(name) {
			return nil, bad
		}
	}
	first := parts[0]
	if !strings.HasPrefix(first, "@") {
		return id, ""
	}
	switch {
	case first == "@request":
		if len(parts) < 2 {
			return nil, bad
		}
		more, ok := requestKeys[parts[1]]
		if !ok {
			return nil, fmt.Sprintf("unknown identifier %q", shorten(text))
		}
		if more != (len(parts) > 2) {
			return nil, bad
		}
	case first == "@collection":
		if len(parts) < 3 {
			return nil, bad
		}
	case Macros[first]:
		if len(parts) > 1 || id.Modifier != "" {
			return nil, bad
		}
	case first == Random && sort:
		if len(parts) > 1 || id.Modifier != "" {
			return nil, bad
		}
	default:
		return nil, fmt.Sprintf("unknown identifier %q", shorten(text))
	}
	if sort && first != Random {
		return nil, fmt.Sprintf("cannot sort by %q", shorten(text))
	}
	return id, ""
}
