package hook

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/monobase/monobase/db"
)

type testEvent struct {
	Event
	tags  []string
	trail []string
}

func (e *testEvent) Tags() []string { return e.tags }

func (e *testEvent) add(s string) { e.trail = append(e.trail, s) }

func step(name string) func(*testEvent) error {
	return func(e *testEvent) error { e.add(name); return e.Next() }
}

func final(e *testEvent) error { e.add("final"); return nil }

func TestOrder(t *testing.T) {
	var h Hook[*testEvent]
	h.Bind(&Handler[*testEvent]{Func: step("p0-a")})
	h.Bind(&Handler[*testEvent]{Func: step("p-5"), Priority: -5})
	h.Bind(&Handler[*testEvent]{Func: step("p0-b")})
	h.Bind(&Handler[*testEvent]{Func: step("p10"), Priority: 10})
	h.BindFunc(step("p0-c"))
	e := &testEvent{}
	if err := h.Trigger(e, final); err != nil {
		t.Fatal(err)
	}
	want := []string{"p-5", "p0-a", "p0-b", "p0-c", "p10", "final"}
	if !slices.Equal(e.trail, want) {
		t.Fatalf("order %v, want %v", e.trail, want)
	}
	if h.Length() != 5 {
		t.Fatalf("Length %d", h.Length())
	}
}

func TestChain(t *testing.T) {
	t.Run("no handler: a direct call of final", func(t *testing.T) {
		var h Hook[*testEvent]
		e := &testEvent{}
		if err := h.Trigger(e, final); err != nil || !slices.Equal(e.trail, []string{"final"}) {
			t.Fatalf("%v %v", err, e.trail)
		}
		if err := h.Trigger(e, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a handler that does not call Next stops the chain", func(t *testing.T) {
		var h Hook[*testEvent]
		h.BindFunc(func(e *testEvent) error { e.add("stop"); return nil })
		h.BindFunc(step("never"))
		e := &testEvent{}
		if err := h.Trigger(e, final); err != nil || !slices.Equal(e.trail, []string{"stop"}) {
			t.Fatalf("%v %v", err, e.trail)
		}
	})
	t.Run("an error stops the chain and is returned", func(t *testing.T) {
		var h Hook[*testEvent]
		bad := errors.New("no")
		h.BindFunc(step("first"))
		h.BindFunc(func(e *testEvent) error { return bad })
		h.BindFunc(step("never"))
		e := &testEvent{}
		if err := h.Trigger(e, final); !errors.Is(err, bad) || !slices.Equal(e.trail, []string{"first"}) {
			t.Fatalf("%v %v", err, e.trail)
		}
	})
	t.Run("final's error goes back through the handlers", func(t *testing.T) {
		var h Hook[*testEvent]
		var seen error
		h.BindFunc(func(e *testEvent) error { seen = e.Next(); return seen })
		bad := errors.New("write failed")
		if err := h.Trigger(&testEvent{}, func(*testEvent) error { return bad }); !errors.Is(err, bad) || !errors.Is(seen, bad) {
			t.Fatalf("%v %v", err, seen)
		}
	})
	t.Run("code after Next runs after the rest of the chain", func(t *testing.T) {
		var h Hook[*testEvent]
		h.BindFunc(func(e *testEvent) error {
			err := e.Next()
			e.add("after")
			return err
		})
		e := &testEvent{}
		_ = h.Trigger(e, final)
		if !slices.Equal(e.trail, []string{"final", "after"}) {
			t.Fatalf("%v", e.trail)
		}
	})
	t.Run("Next after the chain ended is nil", func(t *testing.T) {
		var h Hook[*testEvent]
		h.BindFunc(step("one"))
		e := &testEvent{}
		_ = h.Trigger(e, final)
		if err := e.Next(); err != nil || len(e.trail) != 2 {
			t.Fatalf("%v %v", err, e.trail)
		}
	})
}

func TestUnbindAndReplace(t *testing.T) {
	var h Hook[*testEvent]
	a := h.BindFunc(step("a"))
	b := h.BindFunc(step("b"))
	h.Bind(&Handler[*testEvent]{ID: "named", Func: step("c")})
	h.Bind(&Handler[*testEvent]{ID: "named", Func: step("c2")}) // replaces
	if a == b || a == "" {
		t.Fatalf("ids %q %q", a, b)
	}
	h.Unbind(a, "nope")
	e := &testEvent{}
	_ = h.Trigger(e, final)
	if !slices.Equal(e.trail, []string{"b", "c2", "final"}) {
		t.Fatalf("%v", e.trail)
	}
	h.Unbind(b, "named")
	if h.Length() != 0 {
		t.Fatalf("Length %d", h.Length())
	}
	var empty Hook[*testEvent]
	empty.Unbind("x") // on a hook never bound
}

func TestTagged(t *testing.T) {
	var h Hook[*testEvent]
	NewTagged(&h, "c1", "posts").BindFunc(step("posts"))
	NewTagged(&h, "comments").BindFunc(step("comments"))
	all := NewTagged(&h)
	all.BindFunc(step("all"))
	for _, tt := range []struct {
		tags []string
		want []string
	}{
		{[]string{"c1", "posts"}, []string{"posts", "all", "final"}},
		{[]string{"c9", "posts"}, []string{"posts", "all", "final"}},   // by name
		{[]string{"c1", "renamed"}, []string{"posts", "all", "final"}}, // by id
		{[]string{"c2", "comments"}, []string{"comments", "all", "final"}},
		{[]string{"c3", "other"}, []string{"all", "final"}},
	} {
		e := &testEvent{tags: tt.tags}
		if err := h.Trigger(e, final); err != nil || !slices.Equal(e.trail, tt.want) {
			t.Errorf("tags %v: %v %v, want %v", tt.tags, err, e.trail, tt.want)
		}
	}
	if !all.CanTriggerOn(nil) || NewTagged(&h, "x").CanTriggerOn([]string{"y"}) {
		t.Fatal("CanTriggerOn")
	}
	// Record events are tagged with their collection's id and name.
	var rh Hook[*RecordEvent]
	n := 0
	NewTagged(&rh, "posts").BindFunc(func(e *RecordEvent) error { n++; return e.Next() })
	_ = rh.Trigger(&RecordEvent{Collection: &db.Collection{ID: "pbc_1", Name: "posts"}}, nil)
	_ = rh.Trigger(&RecordEvent{Collection: &db.Collection{ID: "pbc_2", Name: "users"}}, nil)
	if n != 1 {
		t.Fatalf("tagged record hook ran %d times", n)
	}
}

func handlerForPanic(e *testEvent) error { panic("kaboom") }

func TestPanic(t *testing.T) {
	var h Hook[*testEvent]
	h.BindFunc(step("before"))
	h.BindFunc(handlerForPanic)
	e := &testEvent{}
	err := h.Trigger(e, final)
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v, want a *PanicError", err)
	}
	if !strings.Contains(pe.Hook, "handlerForPanic") || pe.Value != "kaboom" || !strings.Contains(err.Error(), "handlerForPanic") {
		t.Fatalf("PanicError %+v (%v): want it to name the handler", pe, err)
	}
	h2 := Hook[*testEvent]{}
	h2.Bind(&Handler[*testEvent]{ID: "my-hook", Func: handlerForPanic})
	if err := h2.Trigger(&testEvent{}, nil); !strings.Contains(fmt.Sprint(err), "my-hook") {
		t.Fatalf("%v", err)
	}
	// A panic in final (the operation) is not the hook's: it goes on up.
	defer func() {
		if recover() == nil {
			t.Fatal("final's panic was swallowed")
		}
	}()
	var h3 Hook[*testEvent]
	_ = h3.Trigger(&testEvent{}, func(*testEvent) error { panic("op") })
}

// TestConcurrentBind binds and unbinds while Trigger runs (run with -race).
func TestConcurrentBind(t *testing.T) {
	var h Hook[*testEvent]
	h.BindFunc(step("base"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				e := &testEvent{}
				if err := h.Trigger(e, final); err != nil || e.trail[len(e.trail)-1] != "final" || e.trail[0] != "base" {
					t.Errorf("%v %v", err, e.trail)
					return
				}
			}
		})
	}
	for i := range 200 {
		id := h.Bind(&Handler[*testEvent]{Func: step(fmt.Sprint(i)), Priority: 1})
		if i%2 == 0 {
			h.Unbind(id)
		}
	}
	close(stop)
	wg.Wait()
	if h.Length() != 101 {
		t.Fatalf("Length %d, want 101", h.Length())
	}
}
