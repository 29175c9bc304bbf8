package lifetime

import (
	"context"
	"fmt"
	"testing"
)

func TestLifetime(t *testing.T) {
	ctx, l := Of(context.Background())
	if From(ctx) != l {
		t.Fatal("From does not find the Lifetime of Of")
	}
	if ctx2, l2 := Of(ctx); l2 != l || ctx2 != ctx {
		t.Fatal("Of made a second Lifetime where there was one")
	}
	if From(context.Background()) != nil {
		t.Fatal("a Lifetime in an empty context")
	}
	var order []string
	l.OnEnd(func() { order = append(order, "outer") })
	l.OnEnd(func() { order = append(order, "inner") })
	if l.Take() || l.Taken() {
		t.Fatal("taken without Allow")
	}
	l.Allow()
	if !l.Take() || !l.Taken() {
		t.Fatal("not taken after Allow")
	}
	l.End()
	l.End()
	if fmt.Sprint(order) != "[inner outer]" {
		t.Fatalf("ends ran %v, want [inner outer] once", order)
	}
}
