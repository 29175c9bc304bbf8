package idlemem

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

func TestStepReleasesOncePerBurst(t *testing.T) {
	var releases int
	w := &Watcher{Burst: 100, Quiet: 10, Release: func() { releases++ }}
	steps := []struct {
		now  uint64
		want bool
	}{
		{50, false},  // busy: 50 in the interval
		{120, false}, // busy: 70
		{125, true},  // quiet (5) after a burst of 125: release
		{126, false}, // quiet, but nothing to release since
		{300, false}, // busy again
		{305, true},  // quiet after 179 more: release
		{308, false},
	}
	for i, s := range steps {
		if got := w.Step(s.now, 0); got != s.want {
			t.Errorf("step %d (counter %d): released %v, want %v", i, s.now, got, s.want)
		}
	}
	if releases != 2 {
		t.Errorf("%d releases, want 2", releases)
	}
	// With a live heap of 1,600, under 100 in an interval is quiet.
	if w.Step(500, 0) || !w.Step(590, 1600) {
		t.Error("90 allocated with a live heap of 1,600 is not quiet")
	}
	if w.Step(800, 1600) || w.Step(900, 1600) {
		t.Error("100 allocated with a live heap of 1,600 is quiet")
	}
}

// TestRunReleasesAfterABurst: Run releases once a burst of allocations is
// followed by a quiet interval, and not while nothing happened.
func TestRunReleasesAfterABurst(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	released := make(chan time.Time, 10)
	w := &Watcher{Interval: 50 * time.Millisecond, Burst: 32 << 20,
		Release: func() { released <- time.Now(); debug.FreeOSMemory() }}
	go w.Run(ctx)
	time.Sleep(200 * time.Millisecond)
	if len(released) > 0 {
		t.Fatal("released with no burst")
	}
	for range 64 { // 64 MiB allocated, then quiet
		sink = make([]byte, 1<<20)
	}
	sink = nil
	done := time.Now()
	select {
	case at := <-released:
		if wait := at.Sub(done); wait > time.Second {
			t.Errorf("released %v after the burst, want within a few intervals", wait)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no release after a burst of 64 MiB and a quiet interval")
	}
}

var sink []byte
