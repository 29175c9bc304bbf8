package querycost

import (
	"context"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Cost is what a document asks for, fragments expanded as often as they
// are spread. Counts saturate instead of overflowing.
type Cost struct {
	Fields        int // every field selected
	Aliases       int // fields with an alias other than their name
	Introspection int // __schema and __type fields
	Depth         int // deepest field, introspection fields not counted
}

func (c Cost) plus(o Cost) Cost {
	return Cost{
		Fields:        satAdd(c.Fields, o.Fields),
		Aliases:       satAdd(c.Aliases, o.Aliases),
		Introspection: satAdd(c.Introspection, o.Introspection),
		Depth:         max(c.Depth, o.Depth),
	}
}

const maxInt = int(^uint(0) >> 1)

// satAdd adds two non-negative counts, saturating at maxInt.
func satAdd(a, b int) int {
	if c := a + b; c >= a {
		return c
	}
	return maxInt
}

// checkEvery is how many selections a walk visits between two looks at
// its context.
const checkEvery = 1024

// walker measures a document that may not be valid yet: undefined
// fragments count nothing and a fragment cycle is cut where it closes
// (validation refuses both).
type walker struct {
	ctx   context.Context
	doc   *ast.QueryDocument
	memo  map[string]*fragMemo
	steps int
}

type fragMemo struct {
	done, visiting bool
	cost           Cost
	names          map[string]int // response names at the fragment's top level
}

func newWalker(ctx context.Context, doc *ast.QueryDocument) *walker {
	return &walker{ctx: ctx, doc: doc, memo: map[string]*fragMemo{}}
}

// step counts a visited selection; it fails when the context has ended.
func (w *walker) step() error {
	w.steps++
	if w.steps%checkEvery == 0 {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("measure the query: %w", err)
		}
	}
	return nil
}

// Measure returns the cost of every operation and fragment of doc, each
// fragment walked once; it fails only when ctx ends.
func Measure(ctx context.Context, doc *ast.QueryDocument) (Cost, error) {
	w := newWalker(ctx, doc)
	var total Cost
	for _, op := range doc.Operations {
		c, err := w.set(op.SelectionSet)
		if err != nil {
			return total, err
		}
		total = total.plus(c)
	}
	for _, f := range doc.Fragments {
		if w.memo[f.Name] != nil {
			continue // counted where it is spread
		}
		// Validation walks unused fragments too: count each once.
		c, err := w.fragment(f.Name)
		if err != nil {
			return total, err
		}
		total = total.plus(c)
	}
	return total, nil
}

func (w *walker) set(ss ast.SelectionSet) (Cost, error) {
	var c Cost
	for _, s := range ss {
		if err := w.step(); err != nil {
			return c, err
		}
		switch s := s.(type) {
		case *ast.Field:
			sub, err := w.set(s.SelectionSet)
			if err != nil {
				return c, err
			}
			c.Fields = satAdd(c.Fields, satAdd(1, sub.Fields))
			c.Aliases = satAdd(c.Aliases, sub.Aliases)
			if s.Alias != "" && s.Alias != s.Name {
				c.Aliases = satAdd(c.Aliases, 1)
			}
			c.Introspection = satAdd(c.Introspection, sub.Introspection)
			if s.Name == "__schema" || s.Name == "__type" {
				c.Introspection = satAdd(c.Introspection, 1)
			}
			if !strings.HasPrefix(s.Name, "__") {
				c.Depth = max(c.Depth, 1+sub.Depth)
			}
		case *ast.InlineFragment:
			sub, err := w.set(s.SelectionSet)
			if err != nil {
				return c, err
			}
			c = c.plus(sub)
		case *ast.FragmentSpread:
			sub, err := w.fragment(s.Name)
			if err != nil {
				return c, err
			}
			c = c.plus(sub)
		}
	}
	return c, nil
}

// fragment returns the memoized cost of the named fragment.
func (w *walker) fragment(name string) (Cost, error) {
	m := w.memo[name]
	if m == nil {
		m = &fragMemo{}
		w.memo[name] = m
	}
	if m.done || m.visiting {
		return m.cost, nil // a cycle counts nothing where it closes
	}
	def := w.doc.Fragments.ForName(name)
	if def == nil {
		m.done = true
		return Cost{}, nil
	}
	m.visiting = true
	c, err := w.set(def.SelectionSet)
	m.visiting = false
	if err != nil {
		return c, err
	}
	m.cost, m.done = c, true
	return c, nil
}

// Repeat is a response name selected more often than allowed in one
// selection set.
type Repeat struct {
	Name  string
	Count int
}

// MaxRepeat returns the response name selected most often in any one
// selection set of doc, fragments and inline fragments merged into the
// set that spreads them, as GraphQL's field merging sees them. Call it
// only on a document whose Measure is within the field limit: its work
// is proportional to the fields, expanded.
func MaxRepeat(ctx context.Context, doc *ast.QueryDocument) (Repeat, error) {
	w := newWalker(ctx, doc)
	r := &repeatScan{w: w}
	for _, op := range doc.Operations {
		if err := r.scan(op.SelectionSet); err != nil {
			return r.worst, err
		}
	}
	for _, f := range doc.Fragments {
		if err := r.scan(f.SelectionSet); err != nil {
			return r.worst, err
		}
	}
	return r.worst, nil
}

type repeatScan struct {
	w     *walker
	worst Repeat
}

// scan checks ss and every selection set below it (fragment bodies are
// scanned once, from doc.Fragments).
func (r *repeatScan) scan(ss ast.SelectionSet) error {
	names := map[string]int{}
	if err := r.w.levelNames(ss, names); err != nil {
		return err
	}
	for n, c := range names {
		if c > r.worst.Count {
			r.worst = Repeat{Name: n, Count: c}
		}
	}
	return r.scanBelow(ss)
}

// scanBelow scans the selection sets of the fields of ss, looking through
// its inline fragments (whose names scan already merged into ss's level).
func (r *repeatScan) scanBelow(ss ast.SelectionSet) error {
	for _, s := range ss {
		switch s := s.(type) {
		case *ast.Field:
			if len(s.SelectionSet) > 0 {
				if err := r.scan(s.SelectionSet); err != nil {
					return err
				}
			}
		case *ast.InlineFragment:
			if err := r.scanBelow(s.SelectionSet); err != nil {
				return err
			}
		}
	}
	return nil
}

// levelNames adds to into the response names that ss selects at its own
// level: its fields, and those of its inline fragments and spread
// fragments (memoized per fragment).
func (w *walker) levelNames(ss ast.SelectionSet, into map[string]int) error {
	for _, s := range ss {
		if err := w.step(); err != nil {
			return err
		}
		switch s := s.(type) {
		case *ast.Field:
			name := s.Alias
			if name == "" {
				name = s.Name
			}
			into[name] = satAdd(into[name], 1)
		case *ast.InlineFragment:
			if err := w.levelNames(s.SelectionSet, into); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			names, err := w.fragmentNames(s.Name)
			if err != nil {
				return err
			}
			for n, c := range names {
				into[n] = satAdd(into[n], c)
			}
		}
	}
	return nil
}

func (w *walker) fragmentNames(name string) (map[string]int, error) {
	m := w.memo[name]
	if m == nil {
		m = &fragMemo{}
		w.memo[name] = m
	}
	if m.names != nil || m.visiting {
		return m.names, nil
	}
	def := w.doc.Fragments.ForName(name)
	names := map[string]int{}
	if def != nil {
		m.visiting = true
		err := w.levelNames(def.SelectionSet, names)
		m.visiting = false
		if err != nil {
			return nil, err
		}
	}
	m.names = names
	return names, nil
}
