package metrics

import "database/sql"

// stat is one family read from a statistics struct T.
type stat[T any] struct {
	name, typ, help string
	value           func(s *T) float64
}

// poolStats are the SQL pool series, with the names of client_golang's
// collectors.NewDBStatsCollector (go_sql_*, label db_name "writer" or
// "readers").
var poolStats = []stat[sql.DBStats]{
	{"go_sql_idle_connections", "gauge", "The number of idle connections.",
		func(s *sql.DBStats) float64 { return float64(s.Idle) }},
	{"go_sql_in_use_connections", "gauge", "The number of connections currently in use.",
		func(s *sql.DBStats) float64 { return float64(s.InUse) }},
	{"go_sql_max_idle_closed_total", "counter", "The total number of connections closed due to SetMaxIdleConns.",
		func(s *sql.DBStats) float64 { return float64(s.MaxIdleClosed) }},
	{"go_sql_max_idle_time_closed_total", "counter", "The total number of connections closed due to SetConnMaxIdleTime.",
		func(s *sql.DBStats) float64 { return float64(s.MaxIdleTimeClosed) }},
	{"go_sql_max_lifetime_closed_total", "counter", "The total number of connections closed due to SetConnMaxLifetime.",
		func(s *sql.DBStats) float64 { return float64(s.MaxLifetimeClosed) }},
	{"go_sql_max_open_connections", "gauge", "Maximum number of open connections to the database.",
		func(s *sql.DBStats) float64 { return float64(s.MaxOpenConnections) }},
	{"go_sql_open_connections", "gauge", "The number of established connections both in use and idle.",
		func(s *sql.DBStats) float64 { return float64(s.OpenConnections) }},
	{"go_sql_wait_count_total", "counter", "The total number of connections waited for.",
		func(s *sql.DBStats) float64 { return float64(s.WaitCount) }},
	{"go_sql_wait_duration_seconds_total", "counter", "The total time blocked waiting for a new connection.",
		func(s *sql.DBStats) float64 { return s.WaitDuration.Seconds() }},
}

// writePools writes the statistics of the current source's writer and
// reader pools: nothing before the first source is set. The counters start
// again from 0 after a restore (new pools), which Prometheus' rate() reads
// as a counter reset.
func (m *Metrics) writePools(e *exposition) {
	src := m.source()
	if src == nil {
		return
	}
	w, r := src.PoolStats()
	for _, s := range poolStats {
		e.family(s.name, s.typ, s.help)
		e.series(s.name, s.value(&r), "db_name", "readers")
		e.series(s.name, s.value(&w), "db_name", "writer")
	}
}
