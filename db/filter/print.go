package filter

import (
	"fmt"
	"strconv"
	"strings"
)

// String prints e in the filter syntax. For expressions parsed from text
// the result parses again to an equal AST (positions aside). Nodes that only
// the typed `where` input produces are printed readably but not parseably:
// Not as `!(...)`, the where-only operators by name (`title contains 'x'`),
// lists as `('a', 'b')`, an empty And group as "" at the top and `()` inside.
func String(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, true)
	return b.String()
}

// OperandString prints one operand in the filter syntax.
func OperandString(o Operand) string {
	var b strings.Builder
	writeOperand(&b, o)
	return b.String()
}

// String prints the identifier as written: parts joined by dots, then the
// modifier.
func (id *Ident) String() string {
	s := strings.Join(id.Parts, ".")
	if id.Modifier != "" {
		s += ":" + id.Modifier
	}
	return s
}

func writeExpr(b *strings.Builder, e Expr, top bool) {
	switch e := e.(type) {
	case *Group:
		if len(e.Items) == 0 {
			if !top {
				b.WriteString("()")
			}
			return
		}
		if !top {
			b.WriteByte('(')
		}
		for i, it := range e.Items {
			if i > 0 {
				b.WriteString(" " + string(e.Op) + " ")
			}
			writeExpr(b, it, false)
		}
		if !top {
			b.WriteByte(')')
		}
	case *Not:
		b.WriteString("!(")
		writeExpr(b, e.X, true)
		b.WriteByte(')')
	case *Compare:
		writeOperand(b, e.Left)
		b.WriteString(" " + string(e.Op) + " ")
		writeOperand(b, e.Right)
	case nil:
		b.WriteString("<nil>")
	default:
		fmt.Fprintf(b, "<%T>", e)
	}
}

func writeOperand(b *strings.Builder, o Operand) {
	switch o := o.(type) {
	case *Ident:
		b.WriteString(o.String())
	case *Literal:
		writeLiteral(b, o.Value)
	case *List:
		b.WriteByte('(')
		for i, it := range o.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeLiteral(b, it.Value)
		}
		b.WriteByte(')')
	case *Call:
		b.WriteString(o.Name + "(")
		for i, a := range o.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeOperand(b, a)
		}
		b.WriteByte(')')
	case nil:
		b.WriteString("<nil>")
	default:
		fmt.Fprintf(b, "<%T>", o)
	}
}

func writeLiteral(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case string:
		b.WriteByte('\'')
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\':
				b.WriteString(`\\`)
			case '\'':
				b.WriteString(`\'`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('\'')
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

// Walk calls fn for e and then, depth first, for every expression and
// operand inside it (Group items, Not's X, Compare's operands, List items,
// Call arguments). When fn returns false the children of that node are
// skipped.
func Walk(e Expr, fn func(node any) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *Group:
		for _, it := range e.Items {
			Walk(it, fn)
		}
	case *Not:
		Walk(e.X, fn)
	case *Compare:
		walkOperand(e.Left, fn)
		walkOperand(e.Right, fn)
	}
}

func walkOperand(o Operand, fn func(node any) bool) {
	if o == nil || !fn(o) {
		return
	}
	switch o := o.(type) {
	case *List:
		for _, it := range o.Items {
			fn(it)
		}
	case *Call:
		for _, a := range o.Args {
			walkOperand(a, fn)
		}
	}
}
