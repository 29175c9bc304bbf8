package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	t.Run("every value falls in a bucket whose bounds hold it", func(t *testing.T) {
		values := []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, math.MaxUint64 >> 1, math.MaxUint64}
		r := rand.New(rand.NewPCG(1, 2))
		for range 10_000 {
			values = append(values, r.Uint64()>>r.IntN(64))
		}
		for _, v := range values {
			i := histIndex(v)
			if i < 0 || i >= histBuckets {
				t.Fatalf("value %d: bucket %d out of range", v, i)
			}
			if hi := histUpper(i); v > hi {
				t.Fatalf("value %d above its bucket's upper bound %d", v, hi)
			}
			if i > 0 && v <= histUpper(i-1) {
				t.Fatalf("value %d also fits the previous bucket (upper %d)", v, histUpper(i-1))
			}
		}
	})
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration // microsecond multiples
		relErr float64
	}{
		{"small values are exact", us(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0},
		{"a single value is every quantile", us(4242), 0},
		{"log-normal latencies within 1%", logNormal(100_000), 1.0 / histSub},
		{"a long tail within 1%", append(us(make([]int, 990)...), us(900_000, 950_000, 1_000_000, 1_200_000, 2_000_000, 2_500_000, 3_000_000, 4_000_000, 5_000_000, 60_000_000)...), 1.0 / histSub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			sorted := slices.Clone(tt.values)
			slices.Sort(sorted)
			if h.Count() != uint64(len(sorted)) {
				t.Fatalf("Count = %d, want %d", h.Count(), len(sorted))
			}
			if h.Max() != sorted[len(sorted)-1] {
				t.Errorf("Max = %v, want %v", h.Max(), sorted[len(sorted)-1])
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(sorted, q)
				got := h.Quantile(q)
				if got < want || float64(got-want) > tt.relErr*float64(want) {
					t.Errorf("q%.3f = %v, want %v (relative error at most %.4f, never below)", q, got, want, tt.relErr)
				}
			}
		})
	}
	t.Run("an empty histogram answers zero", func(t *testing.T) {
		var h histogram
		if h.Quantile(0.99) != 0 || h.Max() != 0 {
			t.Errorf("got p99 %v max %v, want 0 0", h.Quantile(0.99), h.Max())
		}
	})
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func us(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Microsecond
	}
	return out
}

func logNormal(n int) []time.Duration {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(math.Exp(8+1.5*r.NormFloat64())) * time.Microsecond
	}
	return out
}
