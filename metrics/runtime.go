package metrics

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// memStats are the go_memstats_* families.
var memStats = []stat[runtime.MemStats]{
	{"alloc_bytes", "gauge", "Number of bytes allocated in heap and currently in use.",
		func(s *runtime.MemStats) float64 { return float64(s.Alloc) }},
	{"alloc_bytes_total", "counter", "Total number of bytes allocated in heap until now, even if released already.",
		func(s *runtime.MemStats) float64 { return float64(s.TotalAlloc) }},
	{"buck_hash_sys_bytes", "gauge", "Number of bytes used by the profiling bucket hash table.",
		func(s *runtime.MemStats) float64 { return float64(s.BuckHashSys) }},
	{"frees_total", "counter", "Total number of heap objects frees.",
		func(s *runtime.MemStats) float64 { return float64(s.Frees) }},
	{"gc_sys_bytes", "gauge", "Number of bytes used for garbage collection system metadata.",
		func(s *runtime.MemStats) float64 { return float64(s.GCSys) }},
	{"heap_alloc_bytes", "gauge", "Number of heap bytes allocated and currently in use.",
		func(s *runtime.MemStats) float64 { return float64(s.HeapAlloc) }},
	{"heap_idle_bytes", "gauge", "Number of heap bytes waiting to be used.",
		func(s *runtime.MemStats) float64 { return float64(s.HeapIdle) }},
	{"heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.",
		func(s *runtime.MemStats) float64 { return float64(s.HeapInuse) }},
	{"heap_objects", "gauge", "Number of currently allocated objects.",
		func(s *runtime.MemStats) float64 { return float64(s.HeapObjects) }},
	{"heap_released_bytes", "gauge", "Number of heap bytes released to the OS.",
		func(s *runtime.MemStats) float64 { return float64(s.HeapReleased) }},
	{"heap_sys_bytes", "gauge", "Number of heap bytes obtained from the OS.",
		func(s *runtime.MemStats) float64 { return float64(s.HeapSys) }},
	{"last_gc_time_seconds", "gauge", "Number of seconds since 1970 of the last garbage collection.",
		func(s *runtime.MemStats) float64 { return float64(s.LastGC) / 1e9 }},
	{"mallocs_total", "counter", "Total number of heap objects allocated.",
		func(s *runtime.MemStats) float64 { return float64(s.Mallocs) }},
	{"mcache_inuse_bytes", "gauge", "Number of bytes in use by mcache structures.",
		func(s *runtime.MemStats) float64 { return float64(s.MCacheInuse) }},
	{"mcache_sys_bytes", "gauge", "Number of bytes used for mcache structures obtained from the OS.",
		func(s *runtime.MemStats) float64 { return float64(s.MCacheSys) }},
	{"mspan_inuse_bytes", "gauge", "Number of bytes in use by mspan structures.",
		func(s *runtime.MemStats) float64 { return float64(s.MSpanInuse) }},
	{"mspan_sys_bytes", "gauge", "Number of bytes used for mspan structures obtained from the OS.",
		func(s *runtime.MemStats) float64 { return float64(s.MSpanSys) }},
	{"next_gc_bytes", "gauge", "Number of heap bytes when the next garbage collection will take place.",
		func(s *runtime.MemStats) float64 { return float64(s.NextGC) }},
	{"other_sys_bytes", "gauge", "Number of bytes used for other system allocations.",
		func(s *runtime.MemStats) float64 { return float64(s.OtherSys) }},
	{"stack_inuse_bytes", "gauge", "Number of bytes in use by the stack allocator.",
		func(s *runtime.MemStats) float64 { return float64(s.StackInuse) }},
	{"stack_sys_bytes", "gauge", "Number of bytes obtained from the OS for the stack allocator.",
		func(s *runtime.MemStats) float64 { return float64(s.StackSys) }},
	{"sys_bytes", "gauge", "Number of bytes obtained from the OS.",
		func(s *runtime.MemStats) float64 { return float64(s.Sys) }},
}

// runtimeSamples are the runtime/metrics values the GC gauges read.
var runtimeSamples = []string{"/gc/gogc:percent", "/gc/gomemlimit:bytes", "/sched/gomaxprocs:threads"}

// writeRuntime writes the Go runtime's series under the names of
// client_golang's default Go collector. It stops the world for the
// moment runtime.ReadMemStats takes, once per scrape.
func writeRuntime(e *exposition) {
	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&gc)
	e.family("go_gc_duration_seconds", "summary", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.")
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		e.series("go_gc_duration_seconds", gc.PauseQuantiles[i].Seconds(), "quantile", q)
	}
	e.series("go_gc_duration_seconds_sum", gc.PauseTotal.Seconds())
	e.count("go_gc_duration_seconds_count", uint64(gc.NumGC))

	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		samples[i].Name = name
	}
	metrics.Read(samples)
	value := func(i int) float64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return float64(samples[i].Value.Uint64())
	}
	e.gauge("go_gc_gogc_percent", "Heap size target percentage configured by the user, otherwise 100 (GOGC).", value(0))
	e.gauge("go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64 (GOMEMLIMIT).", value(1))
	e.gauge("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	e.gauge("go_info", "Information about the Go environment.", 1, "version", runtime.Version())

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, s := range memStats {
		name := "go_memstats_" + s.name
		e.family(name, s.typ, s.help)
		e.series(name, s.value(&ms))
	}
	e.gauge("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", value(2))
	threads, _ := runtime.ThreadCreateProfile(nil)
	e.gauge("go_threads", "Number of OS threads created.", float64(threads))
}
