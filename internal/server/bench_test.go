package server

import (
	"context"
	"fmt"
	"github.com/monobase/monobase/internal/dbtest"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

// seedCollections creates n collections of 10 fields each (every other one
// relating to the previous one and to users) in dir.
func seedCollections(tb testing.TB, dir string, n int) {
	tb.Helper()
	ctx := context.Background()
	d, err := dbtest.Open(tb, ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	empty := ""
	for i := range n {
		c := &db.Collection{
			Name: fmt.Sprintf("coll_%03d", i), Type: db.TypeBase,
			ListRule: &empty, ViewRule: &empty,
			Fields: []*db.Field{
				{Name: "title", Type: db.FieldText, Required: true},
				{Name: "body", Type: db.FieldEditor},
				{Name: "views", Type: db.FieldNumber, OnlyInt: true},
				{Name: "score", Type: db.FieldNumber},
				{Name: "active", Type: db.FieldBool},
				{Name: "email", Type: db.FieldEmail},
				{Name: "link", Type: db.FieldURL},
				{Name: "due", Type: db.FieldDate},
				{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "live"}, MaxSelect: 1},
				{Name: "meta", Type: db.FieldJSON},
			},
		}
		if i%2 == 1 {
			c.Fields = append(c.Fields,
				&db.Field{Name: "owner", Type: db.FieldRelation, Collection: "users", MaxSelect: 1},
				&db.Field{Name: "prev", Type: db.FieldRelation, Collection: fmt.Sprintf("coll_%03d", i-1), MaxSelect: 1})
		}
		if _, err := d.CreateCollection(ctx, c); err != nil {
			tb.Fatalf("create %s: %v", c.Name, err)
		}
	}
	if err := d.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkColdStart measures `monobase serve` from Run to the first
// answered GET /health on a data folder with 200 collections, and reports
// the median as ms/median (target: under 100 ms).
//
//	go test ./internal/server -run '^$' -bench ColdStart -benchtime 20x
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	seedCollections(b, dir, 200)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	var samples, dbs, auths, schemas []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		c := NewServeCommand(io.Discard, io.Discard)
		c.Dir = dir
		c.HTTP = "127.0.0.1:0"
		withTestDB(b, c)
		if err := c.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		res, err := client.Get(c.URL() + "/health")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("health = %d", res.StatusCode)
		}
		samples = append(samples, time.Since(start))
		dbs = append(dbs, c.Startup.DB)
		auths = append(auths, c.Startup.Auth)
		schemas = append(schemas, c.Startup.Schema)

		b.StopTimer()
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(ms(median(samples)), "ms/median")
	b.ReportMetric(ms(slices.Max(samples)), "ms/max")
	b.ReportMetric(ms(median(dbs)), "ms/db")
	b.ReportMetric(ms(median(auths)), "ms/auth")
	b.ReportMetric(ms(median(schemas)), "ms/schema")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
