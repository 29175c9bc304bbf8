package metrics

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// userHZ is the unit of the CPU times in /proc/self/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// writeProcess writes the process's series (CPU time, memory, file
// descriptors, start time) from /proc, under the names of client_golang's
// process collector. A value /proc does not give is left out.
func writeProcess(e *exposition) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is fields[0], utime fields[11], stime fields[12],
	// starttime fields[19], vsize fields[20], rss fields[21].
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
		stat = stat[i+1:]
	}
	fields := strings.Fields(string(stat))
	if len(fields) < 22 {
		return
	}
	num := func(i int) float64 {
		v, _ := strconv.ParseUint(fields[i], 10, 64)
		return float64(v)
	}
	e.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
	e.series("process_cpu_seconds_total", (num(11)+num(12))/userHZ)

	var limit syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit) == nil {
		e.gauge("process_max_fds", "Maximum number of open file descriptors.", float64(limit.Cur))
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		e.gauge("process_open_fds", "Number of open file descriptors.", float64(len(fds)))
	}
	e.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", num(21)*float64(os.Getpagesize()))
	if boot, ok := bootTime(); ok {
		e.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", boot+num(19)/userHZ)
	}
	e.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", num(20))
	if syscall.Getrlimit(syscall.RLIMIT_AS, &limit) == nil {
		e.gauge("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", float64(limit.Cur))
	}
}

// bootTime returns the system's boot time in seconds since the epoch
// (btime in /proc/stat).
func bootTime() (float64, bool) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(stat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return float64(n), err == nil
		}
	}
	return 0, false
}
