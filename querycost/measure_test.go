package querycost

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func parse(t *testing.T, q string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// doubling returns a document whose fragment Fn spreads F(n-1) twice, so
// that the query selects 2^n fields.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString("{ ...F" + fmt.Sprint(n) + " }\nfragment F0 on Query { a }\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

func TestMeasure(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  Cost
	}{
		{"plain", `{ a b { c d } }`, Cost{Fields: 4, Depth: 2}},
		{"aliases", `{ x: a y: a a: a b { z: c } }`, Cost{Fields: 5, Aliases: 3, Depth: 2}},
		{"a fragment spread twice", `{ ...F b { ...F } } fragment F on Q { c d }`, Cost{Fields: 5, Depth: 2}},
		{"inline fragments", `{ ... on Q { a ... on Q { b { c } } } }`, Cost{Fields: 3, Depth: 2}},
		{"introspection is not depth", `{ __schema { types { fields { name } } } a }`, Cost{Fields: 5, Introspection: 1, Depth: 1}},
		{"__type counts", `{ x: __type(name: "A") { name } y: __type(name: "B") { name } }`, Cost{Fields: 4, Aliases: 2, Introspection: 2}},
		{"2^20 fields from 21 fragments", doubling(20), Cost{Fields: 1 << 20, Depth: 1}},
		{"an unused fragment counts once", `{ a } fragment U on Q { b c }`, Cost{Fields: 3, Depth: 1}},
		{"a cycle is cut", `{ ...A } fragment A on Q { a ...B } fragment B on Q { b ...A }`, Cost{Fields: 2, Depth: 1}},
		{"an undefined fragment counts nothing", `{ a ...Nope }`, Cost{Fields: 1, Depth: 1}},
		{"two operations", `query A { a } query B { b { c } }`, Cost{Fields: 3, Depth: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Measure(context.Background(), parse(t, c.query))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestMeasureSaturates(t *testing.T) {
	got, err := Measure(context.Background(), parse(t, doubling(80)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Fields != maxInt {
		t.Errorf("2^80 fields: got %d, want the saturated maximum", got.Fields)
	}
}

func TestMeasureStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := "{" + strings.Repeat(" a", 5000) + " }"
	if _, err := Measure(ctx, parse(t, q)); err == nil {
		t.Error("Measure of 5,000 fields on a cancelled context: no error")
	}
}

func TestMaxRepeat(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  Repeat
	}{
		{"distinct names", `{ a b c }`, Repeat{"a", 1}},
		{"an alias is its own name", `{ a: users x: users a: users }`, Repeat{"a", 2}},
		{"fragments merge into the spreading set", `{ id ...F ...G } fragment F on Q { id } fragment G on Q { id ...F }`, Repeat{"id", 4}},
		{"inline fragments merge", `{ t ... on Q { t ... on Q { t } } }`, Repeat{"t", 3}},
		{"a nested set is its own", `{ a { x x x } x }`, Repeat{"x", 3}},
		{"inside a fragment body", `{ ...F } fragment F on Q { b { y y } }`, Repeat{"y", 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := MaxRepeat(context.Background(), parse(t, c.query))
			if err != nil {
				t.Fatal(err)
			}
			if got.Count != c.want.Count || (c.want.Count > 1 && got.Name != c.want.Name) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo", 2); got != "h…" {
		t.Errorf("truncate on a rune boundary: %q", got)
	}
	long := strings.Repeat("x", 10000)
	if got := TruncateMessage(long); len(got) > maxMessage+len("…") {
		t.Errorf("TruncateMessage left %d bytes", len(got))
	}
	if got := TruncateMessage("short"); got != "short" {
		t.Errorf("TruncateMessage changed a short message: %q", got)
	}
}
