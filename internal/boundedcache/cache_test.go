package boundedcache

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestEntriesBound(t *testing.T) {
	ctx := context.Background()
	c := New[int](3, 1<<20, nil)
	for i := range 5 {
		c.Add(ctx, fmt.Sprint("k", i), i)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	if _, ok := c.Get(ctx, "k0"); ok {
		t.Error("k0 was not evicted")
	}
	if v, ok := c.Get(ctx, "k4"); !ok || v != 4 {
		t.Errorf("k4 = %v, %v", v, ok)
	}
	if c.Bytes() != 6 {
		t.Errorf("Bytes = %d, want 6 (three 2-byte keys)", c.Bytes())
	}
}

func TestBytesBound(t *testing.T) {
	ctx := context.Background()
	c := New[string](1000, 100, StringSize)
	c.Add(ctx, "a", strings.Repeat("x", 39)) // 40
	c.Add(ctx, "b", strings.Repeat("x", 39)) // 80
	c.Get(ctx, "a")                          // a is now the most recent
	c.Add(ctx, "c", strings.Repeat("x", 39)) // 120 > 100: b goes
	if _, ok := c.Get(ctx, "b"); ok {
		t.Error("b, the least recently used, was kept")
	}
	if _, ok := c.Get(ctx, "a"); !ok {
		t.Error("a, recently used, was evicted")
	}
	if c.Bytes() != 80 || c.Len() != 2 {
		t.Errorf("Bytes %d Len %d, want 80 and 2", c.Bytes(), c.Len())
	}
	c.Add(ctx, "huge", strings.Repeat("x", 200)) // over the bound alone: not stored
	if _, ok := c.Get(ctx, "huge"); ok || c.Len() != 2 {
		t.Errorf("an entry over the byte bound was stored (Len %d)", c.Len())
	}
	c.Add(ctx, "a", "") // replacing gives the old bytes back
	if c.Bytes() != 41 {
		t.Errorf("Bytes after replacing a = %d, want 41", c.Bytes())
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	c := New[string](64, 4096, StringSize)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			for i := range 2000 {
				k := fmt.Sprint(g, "-", i%100)
				c.Add(ctx, k, strings.Repeat("y", i%50))
				c.Get(ctx, k)
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if c.Len() > 64 || c.Bytes() > 4096 {
		t.Fatalf("Len %d Bytes %d over the bounds", c.Len(), c.Bytes())
	}
}

func TestParsedSize(t *testing.T) {
	ctx := context.Background()
	c := New[int](1000, 3200, ParsedSize[int])
	c.Add(ctx, strings.Repeat("q", 50), 1) // 1600
	c.Add(ctx, strings.Repeat("r", 50), 2) // 3200
	c.Add(ctx, strings.Repeat("s", 50), 3) // 4800 > 3200: the first goes
	if c.Len() != 2 || c.Bytes() != 3200 {
		t.Fatalf("Len %d Bytes %d, want 2 and 3200", c.Len(), c.Bytes())
	}
	c.Add(ctx, strings.Repeat("t", 101), 4) // 3232 alone: not stored
	if c.Len() != 2 {
		t.Fatalf("a document over the budget on its own was stored")
	}
}
