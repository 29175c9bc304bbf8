package transport

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
)

// decodeParams decodes a GraphQL-over-HTTP JSON body into p as
// encoding/json (with UseNumber) does, for the bodies clients send: an
// object whose keys are exactly query, operationName, variables and
// extensions. It returns false for anything else (other keys, invalid or
// unusual JSON, trailing data): the caller then decodes with encoding/json,
// which also produces the error message.
func decodeParams(body []byte, p *graphql.RawParams) bool {
	d := paramDecoder{s: body}
	d.ws()
	if !d.consume('{') {
		return false
	}
	d.ws()
	if d.consume('}') {
		return d.end()
	}
	for {
		d.ws()
		key, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if !d.consume(':') {
			return false
		}
		d.ws()
		switch key {
		case "query", "operationName":
			var s string
			if !d.null() {
				if s, ok = d.str(); !ok {
					return false
				}
			}
			if key == "query" {
				p.Query = s
			} else {
				p.OperationName = s
			}
		case "variables", "extensions":
			var m map[string]any
			if !d.null() {
				v, ok := d.value(0)
				if m, _ = v.(map[string]any); !ok || m == nil {
					return false
				}
			}
			if key == "variables" {
				p.Variables = m
			} else {
				p.Extensions = m
			}
		default:
			return false
		}
		d.ws()
		if d.consume('}') {
			return d.end()
		}
		if !d.consume(',') {
			return false
		}
	}
}

// paramDecoder is a small JSON reader over s.
type paramDecoder struct {
	s []byte
	i int
}

const maxParamDepth = 500

func (d *paramDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *paramDecoder) consume(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only whitespace follows.
func (d *paramDecoder) end() bool {
	d.ws()
	return d.i == len(d.s)
}

func (d *paramDecoder) literal(lit string) bool {
	if len(d.s)-d.i >= len(lit) && string(d.s[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

func (d *paramDecoder) null() bool { return d.literal("null") }

// value reads any JSON value as encoding/json decodes it into an any (with
// UseNumber).
func (d *paramDecoder) value(depth int) (any, bool) {
	if d.i >= len(d.s) || depth > maxParamDepth {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '"':
		s, ok := d.str()
		return s, ok
	case c == '{':
		d.i++
		m := map[string]any{}
		d.ws()
		if d.consume('}') {
			return m, true
		}
		for {
			d.ws()
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.ws()
			if !d.consume(':') {
				return nil, false
			}
			d.ws()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v
			d.ws()
			if d.consume('}') {
				return m, true
			}
			if !d.consume(',') {
				return nil, false
			}
		}
	case c == '[':
		d.i++
		l := []any{}
		d.ws()
		if d.consume(']') {
			return l, true
		}
		for {
			d.ws()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			l = append(l, v)
			d.ws()
			if d.consume(']') {
				return l, true
			}
			if !d.consume(',') {
				return nil, false
			}
		}
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, false
}

// number reads a JSON number as a json.Number.
func (d *paramDecoder) number() (any, bool) {
	start := d.i
	d.consume('-')
	switch {
	case d.consume('0'):
	case d.i < len(d.s) && d.s[d.i] >= '1' && d.s[d.i] <= '9':
		d.digits()
	default:
		return nil, false
	}
	if d.consume('.') {
		if d.digits() == 0 {
			return nil, false
		}
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if d.digits() == 0 {
			return nil, false
		}
	}
	return json.Number(d.s[start:d.i]), true
}

func (d *paramDecoder) digits() int {
	n := 0
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// str reads a JSON string; invalid UTF-8 is refused (encoding/json would
// replace it).
func (d *paramDecoder) str() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			raw := d.s[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(raw) {
				return "", false
			}
			return string(raw), true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// escaped finishes a string that holds escapes, from its start.
func (d *paramDecoder) escaped(start int) (string, bool) {
	out := make([]byte, 0, d.i-start+16)
	out = append(out, d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.s) {
			return "", false
		}
		e := d.s[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// A lone surrogate is left to encoding/json.
				if !d.literal(`\u`) {
					return "", false
				}
				r2, ok := d.hex4()
				if !ok {
					return "", false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", false
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (d *paramDecoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.s[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}
