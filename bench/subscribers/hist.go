package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram records durations in microseconds in log-linear buckets: exact
// below 256 µs, then 128 buckets per power of two (under 0.8% relative
// error). Record is safe for concurrent use and does not allocate, so every
// subscriber goroutine can record into one shared histogram.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Uint64
}

const (
	histSubBits  = 7
	histSub      = 1 << histSubBits // buckets per power of two
	histMaxShift = 64 - histSubBits - 1
	histBuckets  = (histMaxShift + 2) * histSub
)

// histIndex returns the bucket of v.
func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1 // v>>shift is in [histSub, 2*histSub)
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histUpper returns the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	top := uint64(i%histSub + histSub)
	return (top+1)<<shift - 1
}

// Record adds one duration (negative ones count as zero).
func (h *histogram) Record(d time.Duration) {
	v := uint64(max(d.Microseconds(), 0))
	h.counts[histIndex(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count returns how many durations were recorded.
func (h *histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest recorded duration (exact).
func (h *histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Quantile returns the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket that holds the value of rank ceil(q·count), never more than Max;
// 0 when nothing was recorded.
func (h *histogram) Quantile(q float64) time.Duration {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.999999999)
	rank = min(max(rank, 1), total)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(histUpper(i), h.max.Load())) * time.Microsecond
		}
	}
	return h.Max()
}
