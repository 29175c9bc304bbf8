package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDeadlineStopsAStatement checks that a context deadline interrupts a
// running SQLite statement (the engine's per-operation deadline relies on
// it): a statement that would run for minutes returns at the deadline.
func TestDeadlineStopsAStatement(t *testing.T) {
	d := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err := d.readers.QueryRowContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c`).Scan(&n)
	if err == nil {
		t.Fatalf("an endless statement returned %d", n)
	}
	if !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		t.Fatalf("error %v before the deadline", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the statement ran %v past a 100 ms deadline", took)
	}
}
