package dynschema

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/hook"
)

// BenchmarkHookCost measures what the app's hooks cost a create and a
// read by id, in-process through the auth middleware and the engine, on
// one env. Each iteration sends one request in each variant, in turn, so
// that load from other processes and the growing table fall on all of
// them alike: "none" without a registry, "empty" with the registry present
// and nothing bound (what an app that binds no record hook pays), "noop"
// with one no-op before, after and after-commit create hook (for
// information). It reports each variant's median time per request (robust to the
// other processes of a shared machine) and the ratios to "none":
//
//	go test -run '^$' -bench BenchmarkHookCost -benchtime 5000x ./dynschema
func BenchmarkHookCost(b *testing.B) {
	en, h := benchEnv(b)
	u := en.insert("users", db.RecordInput{"email": "author@example.com", "password": "password123", "passwordConfirm": "password123", "name": "author"})
	p := en.insert("posts", db.RecordInput{"title": "the one"})
	noop := &hook.Registry{}
	next := func(e *hook.RecordEvent) error { return e.Next() }
	noop.RecordCreate.BindFunc(next)
	noop.RecordAfterCreate.BindFunc(next)
	noop.RecordAfterCreateCommit.BindFunc(next)
	variants := []struct {
		name string
		reg  *hook.Registry
	}{{"none", nil}, {"empty", &hook.Registry{}}, {"noop", noop}}
	create := fmt.Sprintf(`{"query":"mutation($t: String!, $a: ID!) { createPost(input: {title: $t, views: 0, author: $a}) { id } }","variables":{"t":"a title","a":%q}}`, u.ID())
	read := fmt.Sprintf(`{"query":"query($id: ID!) { post(id: $id) { id title } }","variables":{"id":%q}}`, p.ID())
	for _, op := range []struct{ name, body string }{{"create", create}, {"read", read}} {
		b.Run(op.name, func(b *testing.B) {
			defer func() { en.e.cfg.Hooks = nil }()
			samples := make([][]time.Duration, len(variants))
			n := 0
			for b.Loop() {
				for k := range variants {
					i := (n + k) % len(variants) // each variant goes first in turn
					en.e.cfg.Hooks = variants[i].reg
					t0 := time.Now()
					benchRequest(b, h, op.body)
					samples[i] = append(samples[i], time.Since(t0))
				}
				n++
			}
			med := make([]float64, len(variants))
			for i, v := range variants {
				slices.Sort(samples[i])
				med[i] = float64(samples[i][len(samples[i])/2])
				b.ReportMetric(med[i], v.name+"-median-ns")
				if i > 0 {
					b.ReportMetric(med[i]/med[0], v.name+"/none")
				}
			}
		})
	}
}
