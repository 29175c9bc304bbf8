package db

import (
	"fmt"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// The bounds of compiled filters: ASTs up to the limits compile to SQL that
// SQLite runs (its expression depth limit is 1000, its parameter limit
// 32766); beyond them the compile is BAD_USER_INPUT, never a SQLite error.

// relCompare is a comparison through two relation hops and a multi
// relation, the deepest SQL a single comparison compiles to.
func relCompare() filter.Expr {
	return &filter.Compare{Left: &filter.Ident{Parts: []string{"post", "tags", "name"}}, Op: filter.AnyEq, Right: &filter.Literal{Value: "go"}}
}

// nestNot wraps e in n negations.
func nestNot(e filter.Expr, n int) filter.Expr {
	for range n {
		e = &filter.Not{X: e}
	}
	return e
}

// nestGroups builds levels nested groups, alternating AND and OR, each with
// siblings items besides the deeper negation.
func nestGroups(levels, siblings int, item func() filter.Expr) filter.Expr {
	var e filter.Expr = relCompare()
	for i := range levels {
		g := &filter.Group{Op: filter.And}
		if i%2 == 1 {
			g.Op = filter.Or
		}
		for range siblings {
			g.Items = append(g.Items, item())
		}
		g.Items = append(g.Items, nestNot(e, 1))
		e = g
	}
	return e
}

func flatGroup(op filter.LogicOp, n int, item func() filter.Expr) filter.Expr {
	g := &filter.Group{Op: op}
	for range n {
		g.Items = append(g.Items, item())
	}
	return g
}

func inList(n int) filter.Expr {
	l := &filter.List{}
	for i := range n {
		l.Items = append(l.Items, &filter.Literal{Value: fmt.Sprint(i)})
	}
	return &filter.Compare{Left: &filter.Ident{Parts: []string{"body"}}, Op: filter.In, Right: l}
}

func empty() filter.Expr { return &filter.Group{Op: filter.And} }

func TestFilterBounds(t *testing.T) {
	fx := fsqlOpen(t)
	anon := &RequestInfo{}
	within := map[string]filter.Expr{
		"negations at the max depth":       nestNot(relCompare(), 2*filter.MaxDepth-1),
		"nested groups of comparisons":     nestGroups(filter.MaxDepth-1, filter.MaxExprs/filter.MaxDepth-1, relCompare),
		"nested groups of long chains":     nestGroups(filter.MaxDepth-1, filter.MaxNodes/(filter.MaxDepth-1)-2, empty),
		"a flat OR of MaxExprs relations":  flatGroup(filter.Or, filter.MaxExprs, relCompare),
		"a flat OR of nearly MaxNodes":     flatGroup(filter.Or, filter.MaxNodes-1, empty),
		"lists up to the parameter budget": flatGroup(filter.And, 9, func() filter.Expr { return inList(1000) }),
	}
	for name, e := range within {
		t.Run(name, func(t *testing.T) {
			cond, err := fx.d.CompileFilter(fx.comments, "r", e, anon)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			fx.query(t, fx.comments, cond) // fails the test on a SQLite error
		})
	}
	beyond := map[string]filter.Expr{
		"3,000 nested negations":         nestNot(relCompare(), 3000),
		"negations past the max depth":   nestNot(relCompare(), 2*filter.MaxDepth+1),
		"groups past the max depth":      nestGroups(filter.MaxDepth+1, 0, empty),
		"a flat OR of 5,000 empty terms": flatGroup(filter.Or, 5000, empty),
		"a flat AND past MaxNodes":       flatGroup(filter.And, filter.MaxNodes, empty),
		"too many comparisons":           flatGroup(filter.Or, filter.MaxExprs+1, relCompare),
		"too many list values":           flatGroup(filter.And, 11, func() filter.Expr { return inList(1000) }),
	}
	for name, e := range beyond {
		t.Run(name, func(t *testing.T) {
			_, err := fx.d.CompileFilter(fx.comments, "r", e, anon)
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v, want BAD_USER_INPUT", err)
			}
		})
	}
}

func TestFilterParenthesesDepth(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("(", n) + "title = 'a'" + strings.Repeat(")", n) }
	if _, err := filter.Parse(nested(filter.MaxDepth)); err != nil {
		t.Fatalf("%d levels refused: %v", filter.MaxDepth, err)
	}
	for _, n := range []int{filter.MaxDepth + 1, 1700} {
		_, err := filter.Parse(nested(n))
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "nested") {
			t.Errorf("%d levels: err = %v", n, err)
		}
	}
	// The deepest filter text the parser takes compiles and runs.
	fx := fsqlOpen(t)
	src := ""
	for i := range filter.MaxDepth {
		op := " && "
		if i%2 == 1 {
			op = " || "
		}
		src += "(post.tags.name ?= 'go'" + op
	}
	src += "body = 'x'" + strings.Repeat(")", filter.MaxDepth)
	if _, _, err := fx.ids(t, fx.comments, src, &RequestInfo{}, false); err != nil {
		t.Fatalf("refused: %v", err)
	}
}
