package filter

import (
	"fmt"
	"strings"
)

// tokenKind classifies a token of the filter syntax.
type tokenKind uint8

const (
	tokEOF    tokenKind = iota
	tokIdent            // title, author.name, @request.auth.id, tags:each
	tokCall             // a function name directly followed by "(" (the "(" is consumed)
	tokString           // 'text' or "text", Text holds the unescaped value
	tokNumber           // 12, -3.5
	tokOp               // = != > >= < <= ~ !~ and the ?-forms
	tokAnd              // &&
	tokOr               // ||
	tokLParen           // (
	tokRParen           // )
	tokComma            // ,
	tokPlus             // + (sort only)
	tokMinus            // - not followed by a digit (sort only)
)

// token is one lexical unit. Pos is its byte offset in the source.
type token struct {
	kind tokenKind
	pos  int
	text string // the source text, or the unescaped value for strings
	num  float64
}

// scanner splits a filter text into tokens. It skips whitespace and
// `//` line comments.
type scanner struct {
	src string
	pos int
}

// ops lists the comparison operators, longest first so that the scanner
// takes the longest match.
var ops = []Op{AnyNotLike, AnyNeq, AnyGte, AnyLte, Neq, NotLike, Gte, Lte, AnyEq, AnyGt, AnyLt, AnyLike, Eq, Gt, Lt, Like}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isWord(c byte) bool   { return isLetter(c) || isDigit(c) || c == '_' }

// next returns the next token, or a syntax error.
func (s *scanner) next() (token, error) {
	if err := s.skip(); err != nil {
		return token{}, err
	}
	if s.pos >= len(s.src) {
		return token{kind: tokEOF, pos: s.pos}, nil
	}
	start := s.pos
	c := s.src[s.pos]
	switch {
	case c == '(':
		s.pos++
		return token{kind: tokLParen, pos: start, text: "("}, nil
	case c == ')':
		s.pos++
		return token{kind: tokRParen, pos: start, text: ")"}, nil
	case c == ',':
		s.pos++
		return token{kind: tokComma, pos: start, text: ","}, nil
	case c == '+':
		s.pos++
		return token{kind: tokPlus, pos: start, text: "+"}, nil
	case c == '&' || c == '|':
		if s.pos+1 < len(s.src) && s.src[s.pos+1] == c {
			s.pos += 2
			if c == '&' {
				return token{kind: tokAnd, pos: start, text: "&&"}, nil
			}
			return token{kind: tokOr, pos: start, text: "||"}, nil
		}
		return token{}, errAt(start, "unexpected %q", string(c))
	case c == '\'' || c == '"':
		return s.scanString()
	case isDigit(c) || c == '-' && s.pos+1 < len(s.src) && isDigit(s.src[s.pos+1]):
		return s.scanNumber()
	case c == '-':
		s.pos++
		return token{kind: tokMinus, pos: start, text: "-"}, nil
	case isLetter(c) || c == '_' || c == '@':
		return s.scanIdent()
	}
	for _, op := range ops {
		if strings.HasPrefix(s.src[s.pos:], string(op)) {
			s.pos += len(op)
			return token{kind: tokOp, pos: start, text: string(op)}, nil
		}
	}
	return token{}, errAt(start, "unexpected %s", quoteChar(s.src[s.pos:]))
}

// quoteChar quotes the (possibly multi-byte) character at the start of rest.
func quoteChar(rest string) string {
	for _, r := range rest {
		return fmt.Sprintf("%q", string(r))
	}
	return "end of input"
}

// skip skips whitespace and comments. A single "/" is an error.
func (s *scanner) skip() error {
	for s.pos < len(s.src) {
		switch c := s.src[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		case '/':
			if s.pos+1 >= len(s.src) || s.src[s.pos+1] != '/' {
				return errAt(s.pos, "unexpected \"/\"")
			}
			if i := strings.IndexByte(s.src[s.pos:], '\n'); i >= 0 {
				s.pos += i + 1
			} else {
				s.pos = len(s.src)
			}
		default:
			return nil
		}
	}
	return nil
}

// scanString scans a quoted string. The escapes \\ \' \" \n \r \t are
// decoded; any other backslash is kept as is (so LIKE escapes such as \%
// reach the pattern unchanged).
func (s *scanner) scanString() (token, error) {
	start := s.pos
	quote := s.src[s.pos]
	s.pos++
	// fast path: no backslash before the closing quote
	for i := s.pos; i < len(s.src); i++ {
		if c := s.src[i]; c == quote {
			t := token{kind: tokString, pos: start, text: s.src[s.pos:i]}
			s.pos = i + 1
			return t, nil
		} else if c == '\\' {
			break
		}
	}
	var b strings.Builder
	plain := s.pos // start of the run not yet copied into b
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == quote:
			b.WriteString(s.src[plain:s.pos])
			s.pos++
			return token{kind: tokString, pos: start, text: b.String()}, nil
		case c == '\\' && s.pos+1 < len(s.src):
			var repl byte
			switch s.src[s.pos+1] {
			case '\\':
				repl = '\\'
			case '\'':
				repl = '\''
			case '"':
				repl = '"'
			case 'n':
				repl = '\n'
			case 'r':
				repl = '\r'
			case 't':
				repl = '\t'
			}
			if repl != 0 {
				b.WriteString(s.src[plain:s.pos])
				b.WriteByte(repl)
				s.pos += 2
				plain = s.pos
				continue
			}
			s.pos++
		default:
			s.pos++
		}
	}
	return token{}, errAt(start, "unterminated string")
}

// scanNumber scans -?[0-9]+(\.[0-9]+)?.
func (s *scanner) scanNumber() (token, error) {
	start := s.pos
	if s.src[s.pos] == '-' {
		s.pos++
	}
	for s.pos < len(s.src) && isDigit(s.src[s.pos]) {
		s.pos++
	}
	if s.pos < len(s.src) && s.src[s.pos] == '.' {
		s.pos++
		digits := s.pos
		for s.pos < len(s.src) && isDigit(s.src[s.pos]) {
			s.pos++
		}
		if s.pos == digits {
			return token{}, errAt(start, "invalid number %q", s.src[start:s.pos])
		}
	}
	if s.pos < len(s.src) && (isWord(s.src[s.pos]) || s.src[s.pos] == '.' || s.src[s.pos] == '@') {
		end := s.pos
		for end < len(s.src) && (isWord(s.src[end]) || s.src[end] == '.') {
			end++
		}
		return token{}, errAt(start, "invalid number %q", s.src[start:end])
	}
	text := s.src[start:s.pos]
	n, err := parseFloat(text)
	if err != nil {
		return token{}, errAt(start, "invalid number %q", text)
	}
	return token{kind: tokNumber, pos: start, text: text, num: n}, nil
}

// scanIdent scans an identifier: dot-separated words, an optional leading
// "@", a ":alias" after the collection name of @collection and a trailing
// ":modifier". A word directly followed by "(" is a function call.
func (s *scanner) scanIdent() (token, error) {
	start := s.pos
	if s.src[s.pos] == '@' {
		s.pos++
	}
	for s.pos < len(s.src) && (isWord(s.src[s.pos]) || s.src[s.pos] == '.' || s.src[s.pos] == ':') {
		s.pos++
	}
	text := s.src[start:s.pos]
	if s.pos < len(s.src) && s.src[s.pos] == '(' && isPlainWord(text) {
		s.pos++
		return token{kind: tokCall, pos: start, text: text}, nil
	}
	return token{kind: tokIdent, pos: start, text: text}, nil
}

// isPlainWord reports whether t is [A-Za-z_][A-Za-z0-9_]*.
func isPlainWord(t string) bool {
	if t == "" || !(isLetter(t[0]) || t[0] == '_') {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isWord(t[i]) {
			return false
		}
	}
	return true
}

// isWordPart reports whether t is one or more of [A-Za-z0-9_].
func isWordPart(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isWord(t[i]) {
			return false
		}
	}
	return true
}
