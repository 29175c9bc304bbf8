package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reports database/sql's statistics of the current source's
// writer and reader pools, under the names of client_golang's
// collectors.NewDBStatsCollector (go_sql_*, label db_name "writer" or
// "readers"), which cannot follow a restore's new pools.
type poolCollector struct{ m *Metrics }

// poolStat is one series of the pool collector.
type poolStat struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s *sql.DBStats) float64
}

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"db_name"}, nil)
}

var poolStats = []poolStat{
	{poolDesc("go_sql_max_open_connections", "Maximum number of open connections to the database."),
		prometheus.GaugeValue, func(s *sql.DBStats) float64 { return float64(s.MaxOpenConnections) }},
	{poolDesc("go_sql_open_connections", "The number of established connections both in use and idle."),
		prometheus.GaugeValue, func(s *sql.DBStats) float64 { return float64(s.OpenConnections) }},
	{poolDesc("go_sql_in_use_connections", "The number of connections currently in use."),
		prometheus.GaugeValue, func(s *sql.DBStats) float64 { return float64(s.InUse) }},
	{poolDesc("go_sql_idle_connections", "The number of idle connections."),
		prometheus.GaugeValue, func(s *sql.DBStats) float64 { return float64(s.Idle) }},
	{poolDesc("go_sql_wait_count_total", "The total number of connections waited for."),
		prometheus.CounterValue, func(s *sql.DBStats) float64 { return float64(s.WaitCount) }},
	{poolDesc("go_sql_wait_duration_seconds_total", "The total time blocked waiting for a new connection."),
		prometheus.CounterValue, func(s *sql.DBStats) float64 { return s.WaitDuration.Seconds() }},
	{poolDesc("go_sql_max_idle_closed_total", "The total number of connections closed due to SetMaxIdleConns."),
		prometheus.CounterValue, func(s *sql.DBStats) float64 { return float64(s.MaxIdleClosed) }},
	{poolDesc("go_sql_max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime."),
		prometheus.CounterValue, func(s *sql.DBStats) float64 { return float64(s.MaxIdleTimeClosed) }},
	{poolDesc("go_sql_max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime."),
		prometheus.CounterValue, func(s *sql.DBStats) float64 { return float64(s.MaxLifetimeClosed) }},
}

// Describe implements prometheus.Collector.
func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range poolStats {
		ch <- s.desc
	}
}

// Collect implements prometheus.Collector: nothing before the first
// source is set. The counters start again from 0 after a restore (new
// pools), which Prometheus' rate() reads as a counter reset.
func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	src := p.m.src.Load()
	if src == nil || *src == nil {
		return
	}
	w, r := (*src).PoolStats()
	for _, s := range poolStats {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(&w), "writer")
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(&r), "readers")
	}
}
