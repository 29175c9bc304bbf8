package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// measurement is the outcome of one measure.
type measurement struct {
	n         int             // successful requests
	elapsed   time.Duration   // from the start to the last answer
	latencies []time.Duration // of the successful requests
	outputs   []string        // what the successful requests returned (file URLs)
	errors    int
	firstErr  error
}

func (m measurement) rate() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.n) / m.elapsed.Seconds()
}

func (m measurement) pct(p float64) time.Duration {
	if len(m.latencies) == 0 {
		return 0
	}
	return m.latencies[min(len(m.latencies)-1, int(p*float64(len(m.latencies))))]
}

func (m measurement) print(server, backend, name string, round, size int) {
	errs := ""
	if m.firstErr != nil {
		errs = fmt.Sprintf("%d errors, first: %v", m.errors, m.firstErr)
	}
	fmt.Printf("%-10s %-6s %-14s %5d %9.1f %9.1f %9v %9v %s\n", server, backend, name, round, m.rate(),
		m.rate()*float64(size)/(1<<20), m.pct(0.5).Round(100*time.Microsecond), m.pct(0.99).Round(100*time.Microsecond), errs)
}

// measure runs op from clients goroutines until d has passed or maxN
// requests have been sent, whichever comes first.
func measure(clients int, d time.Duration, maxN int, op func() (string, error)) measurement {
	var (
		mu   sync.Mutex
		m    measurement
		sent int
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				mu.Lock()
				if sent >= maxN {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				t0 := time.Now()
				out, err := op()
				took := time.Since(t0)
				mu.Lock()
				if err != nil {
					m.errors++
					if m.firstErr == nil {
						m.firstErr = err
					}
				} else {
					m.n++
					m.latencies = append(m.latencies, took)
					if out != "" {
						m.outputs = append(m.outputs, out)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	m.elapsed = time.Since(start)
	sort.Slice(m.latencies, func(i, j int) bool { return m.latencies[i] < m.latencies[j] })
	return m
}

// discard reads a response body to the end and returns its length.
func discard(res *http.Response) (int64, error) {
	return io.Copy(io.Discard, res.Body)
}
