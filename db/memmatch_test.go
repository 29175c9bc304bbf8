package db

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/monobase/monobase/db/filter"
)

// The differential test of the in-memory matching: every case is checked
// both in memory and by MatchValues' statement, and the answers must be
// equal (whenever memory answers at all).

// memDiff holds a fixture and counts what was evaluated where.
type memDiff struct {
	t        *testing.T
	fx       *fsqlFixture
	inMemory int // cases memory answered
	total    int
}

// check evaluates e (a rule when trusted, else a client filter) on rec
// for req both ways; it fails the test when the answers differ.
func (md *memDiff) check(label string, e filter.Expr, trusted bool, rec Record, req *RequestInfo) {
	t := md.t
	t.Helper()
	d, c := md.fx.d, md.fx.posts
	md.total++
	var cond Cond
	var err error
	if trusted {
		cond, err = d.CompileRule(c, "r", e, req)
	} else {
		cond, err = d.CompileFilter(c, "r", e, req)
	}
	m := CompileMemMatch(c, e, trusted)
	if err != nil {
		if m != nil {
			t.Fatalf("%s: compiled in memory, but the SQL compile fails: %v", label, err)
		}
		return
	}
	md.checkPlan(label, e, trusted, rec, req)
	want, sqlErr := d.MatchValues(context.Background(), c, rec, []Cond{cond})
	if m == nil {
		return
	}
	got, ok := m.Eval(rec, req)
	if !ok {
		return
	}
	if sqlErr != nil {
		t.Fatalf("%s: memory answered %v, the statement failed: %v", label, got, sqlErr)
	}
	md.inMemory++
	if (got == triTrue) != want {
		t.Fatalf("%s: in memory %v (tri %d), SQL %v\nrecord %v\nrequest auth %v\nSQL %s %v",
			label, got == triTrue, got, want, rec, req.Auth, cond.SQL, cond.Args)
	}
	// The same through ReadMatch, with memory on and off.
	r := &Read{Collection: c, Request: req}
	if trusted {
		r.Rule = e
	} else {
		r.Filters = []filter.Expr{e}
	}
	on, err1 := d.ReadMatch(context.Background(), r, rec)
	d.SetMatchInMemory(false)
	off, err2 := d.ReadMatch(context.Background(), r, rec)
	d.SetMatchInMemory(true)
	if on != off || (err1 == nil) != (err2 == nil) {
		t.Fatalf("%s: ReadMatch in memory %v (%v), by statement %v (%v)", label, on, err1, off, err2)
	}
}

// checkPlan: a MatchPlan of the read answers as MatchInMemory does,
// whether memory answers or not.
func (md *memDiff) checkPlan(label string, e filter.Expr, trusted bool, rec Record, req *RequestInfo) {
	t := md.t
	t.Helper()
	r := &Read{Collection: md.fx.posts, Request: req}
	if trusted {
		r.Rule = e
	} else {
		r.Filters = []filter.Expr{e}
	}
	want, wantOK := md.fx.d.MatchInMemory(r, rec)
	got, gotOK := md.fx.d.PrepareMatch(r).Match(rec)
	if got != want || gotOK != wantOK {
		t.Fatalf("%s: plan %v (ok %v), MatchInMemory %v (ok %v)", label, got, gotOK, want, wantOK)
	}
}

// memViewers are the requests of the cases: anonymous, the fixture's
// users, a superuser and synthetic users with tricky names.
func (md *memDiff) viewers() []*RequestInfo {
	fx := md.fx
	out := []*RequestInfo{
		{Context: "realtime", Method: "GET"},
		{Superuser: true, Context: "realtime"},
	}
	for _, u := range []Record{fx.u1, fx.u2, fx.u3} {
		out = append(out, &RequestInfo{AuthCollection: fx.users, Auth: u, Context: "realtime", Method: "GET"})
	}
	for i, name := range []any{"", "5", "Hello World", "hello world", nil, "É", "10"} {
		u := Record{"id": fsqlID("x" + strconv.Itoa(i)), "name": name, "verified": i%2 == 0, "email": "x@example.com"}
		out = append(out, &RequestInfo{AuthCollection: fx.users, Auth: u, Context: "realtime"})
	}
	return out
}

// memCaseTexts returns the filter texts of TestCompileFilterMatches (this
// package's filter cases) and the rules of dynschema's rules matrix.
func memCaseTexts(t *testing.T) []string {
	src, err := os.ReadFile("filtersql_test.go")
	if err != nil {
		t.Fatal(err)
	}
	out := []string{
		// dynschema/rules_matrix_test.go and rules_semantics_test.go
		"author = @request.auth.id",
		"status = 'published' || author = @request.auth.id",
		"@request.auth.id != ''",
		"@request.auth.id != '' && author = @request.auth.id",
		"@request.context = 'realtime'",
		"@request.context != 'realtime' || status = 'draft'",
		"@request.method = 'GET'",
		"@request.auth.collectionName = 'users' && author = @request.auth.id",
		"@request.auth.verified = true",
		"title = @request.auth.name",
		"views > @request.auth.name",
		"title ~ @request.auth.name",
		"title !~ @request.auth.name",
		"@request.auth.name = ''",
		"@request.auth.missing = null",
		"@request.auth.team = null || author = @request.auth.id",
		// TestMatchValues
		"title = 'Hello'", "title = 'hello'", "title ~ 'ell'", "title !~ 'x'", "title = ''", "title != ''",
		"views > 4", "views = 5", "views = '5'", "views >= 6", "views = null", "views = '5.0'", "views < 'abc'",
		"public = true", "public = false", "public != true", "public = 1", "public = '1'",
		"title = 5", "title > 5", "title = true", "id != ''", "author = ''",
	}
	re := regexp.MustCompile(`filter: ("(?:[^"\\]|\\.)*"|` + "`[^`]*`" + `)`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		s, err := strconv.Unquote(m[1])
		if err == nil {
			out = append(out, s)
		}
	}
	return out
}

func TestMemMatchRuleCases(t *testing.T) {
	fx := fsqlOpen(t)
	md := &memDiff{t: t, fx: fx}
	recs := findAll(t, fx.d, fx.posts)
	recs = append(recs, Record{"id": fsqlID("e1")}) // every field unset
	texts := memCaseTexts(t)
	if len(texts) < 80 {
		t.Fatalf("found %d cases: the extraction from filtersql_test.go broke", len(texts))
	}
	for _, src := range texts {
		e, err := filter.Parse(src)
		if err != nil {
			continue // the error cases of the filter tests
		}
		for _, req := range md.viewers() {
			for _, rec := range recs {
				for _, trusted := range []bool{true, false} {
					md.check(fmt.Sprintf("%q trusted=%v", src, trusted), e, trusted, rec, req)
				}
			}
		}
	}
	t.Logf("%d of %d cases answered in memory", md.inMemory, md.total)
	if md.inMemory < md.total/4 {
		t.Fatalf("only %d of %d cases answered in memory", md.inMemory, md.total)
	}
}

// TestMemMatchOwnerRuleNoStatement: the common realtime rule is answered
// with no statement.
func TestMemMatchOwnerRuleNoStatement(t *testing.T) {
	fx := fsqlOpen(t)
	n := 0
	fx.d.ObserveReads(func(string) { n++ })
	e, _ := filter.Parse("author = @request.auth.id")
	rec := Record{"id": fsqlID("p9"), "author": fsqlID("u1")}
	for _, u := range []Record{fx.u1, fx.u2} {
		ok, err := fx.d.ReadMatch(context.Background(), &Read{Collection: fx.posts, Rule: e, Request: fx.auth(u)}, rec)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (u.ID() == fsqlID("u1")) {
			t.Fatalf("viewer %s: match %v", u.ID(), ok)
		}
	}
	if n != 0 {
		t.Fatalf("%d statements, want 0", n)
	}
	// A relation path needs the statement.
	e, _ = filter.Parse("author.name = 'Alice'")
	ok, err := fx.d.ReadMatch(context.Background(), &Read{Collection: fx.posts, Rule: e, Request: fx.auth(fx.u1)}, rec)
	if err != nil || !ok {
		t.Fatalf("relation path: %v %v", ok, err)
	}
	if n != 1 {
		t.Fatalf("%d statements for a relation path, want 1", n)
	}
}

// Random rules over the supported subset (and some unsupported parts, to
// check that they fall back), random records and viewers.

var memLitPool = []any{nil, "", "Hello World", "hello world", "HELLO", "Draft post", "draft", "published",
	"5", "5.0", "10", "-1", "007", " 5", "1e1", "abc", "100%", "real_news", "o_W", `\`, `a\`, `\%`, "%", "_",
	"é", "É", "Ω", "2024-01-15", "2024-01-15 10:00:00", "2024-01-15T10:00:00.000Z", "2024-03-01T00:00:00Z",
	fsqlID("u1"), fsqlID("u2"), fsqlID("p1"),
	0.0, 5.0, 5.5, 10.0, -1.0, 1e20, 0.1, 7.0, true, false}

var memFieldPool = []string{"id", "title", "status", "public", "views", "author", "author.id", "published",
	"editors", "tags", "meta.n", "author.name"}

var memReqPool = []string{"@request.auth.id", "@request.auth.name", "@request.auth.email", "@request.auth.verified",
	"@request.auth.emailVisibility", "@request.auth.collectionName", "@request.auth.collectionId", "@request.auth.missing",
	"@request.auth.team", "@request.auth.roles", "@request.context", "@request.method"}

var memOps = []filter.Op{filter.Eq, filter.Neq, filter.Gt, filter.Gte, filter.Lt, filter.Lte, filter.Like, filter.NotLike,
	filter.AnyEq, filter.AnyNeq, filter.AnyGt, filter.AnyLike, filter.Contains, filter.NotContains, filter.StartsWith,
	filter.EndsWith, filter.RawLike}

func memRandOperand(rng *rand.Rand, trusted bool) filter.Operand {
	switch n := rng.IntN(10); {
	case n < 4:
		return &filter.Ident{Parts: splitDots(memFieldPool[rng.IntN(len(memFieldPool))])}
	case n < 7 && trusted:
		return &filter.Ident{Parts: splitDots(memReqPool[rng.IntN(len(memReqPool))])}
	}
	return &filter.Literal{Value: memLitPool[rng.IntN(len(memLitPool))]}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func memRandExpr(rng *rand.Rand, depth int, trusted bool) filter.Expr {
	if depth > 0 {
		switch rng.IntN(5) {
		case 0, 1:
			g := &filter.Group{Op: filter.And}
			if rng.IntN(2) == 0 {
				g.Op = filter.Or
			}
			for range rng.IntN(4) {
				g.Items = append(g.Items, memRandExpr(rng, depth-1, trusted))
			}
			return g
		case 2:
			return &filter.Not{X: memRandExpr(rng, depth-1, trusted)}
		}
	}
	c := &filter.Compare{Op: memOps[rng.IntN(len(memOps))]}
	c.Left = memRandOperand(rng, trusted)
	c.Right = memRandOperand(rng, trusted)
	if rng.IntN(3) > 0 { // mostly a field on one side
		c.Left = &filter.Ident{Parts: splitDots(memFieldPool[rng.IntN(8)])}
	}
	return c
}

func memRandRecord(rng *rand.Rand) Record {
	pick := func(vals ...any) any { return vals[rng.IntN(len(vals))] }
	rec := Record{"id": fsqlID("r" + strconv.Itoa(rng.IntN(5)))}
	set := func(name string, v any) {
		if v != nil || rng.IntN(2) == 0 {
			rec[name] = v
		}
	}
	set("title", memLitPool[rng.IntN(31)])
	set("status", pick("draft", "published", "", nil))
	set("public", pick(true, false, nil))
	set("views", pick(0.0, 5.0, 5.5, 10.0, -1.0, 1e20, 7.0, 0.1, nil))
	set("author", pick(fsqlID("u1"), fsqlID("u2"), "", nil))
	set("published", pick("2024-01-15T10:00:00.000Z", "2024-03-01T00:00:00.000Z", "", nil))
	set("editors", pick([]string{}, []string{fsqlID("u1")}, nil))
	return rec
}

func TestMemMatchRandom(t *testing.T) {
	fx := fsqlOpen(t)
	md := &memDiff{t: t, fx: fx}
	rng := rand.New(rand.NewPCG(17, 4))
	viewers := md.viewers()
	n := 6000
	if testing.Short() {
		n = 1000
	}
	for i := range n {
		trusted := rng.IntN(4) > 0
		e := memRandExpr(rng, 3, trusted)
		label := fmt.Sprintf("case %d: %s", i, filter.String(e))
		for range 3 {
			md.check(label, e, trusted, memRandRecord(rng), viewers[rng.IntN(len(viewers))])
		}
	}
	t.Logf("%d of %d random cases answered in memory", md.inMemory, md.total)
	if md.inMemory < md.total/5 {
		t.Fatalf("only %d of %d random cases answered in memory", md.inMemory, md.total)
	}
}

// TestLikeMatch pins the LIKE matcher on its own.
func TestLikeMatch(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"%ell%", "Hello", true}, {"%ELL%", "hello", true}, {"h_llo", "hello", true}, {"h_llo", "hllo", false},
		{`100\%`, "100%", true}, {`100\%`, "1000", false}, {`a\_b`, "a_b", true}, {`a\_b`, "axb", false},
		{"%", "", true}, {"", "", true}, {"", "a", false}, {"_", "é", true}, {"é", "É", false}, {"a%b%c", "aXbYc", true},
		{"a%b%c", "aXbY", false}, {`a\`, "a", false}, {`%\`, "x", false}, {"%a", "ba", true},
	}
	for _, c := range cases {
		if got := likeMatch(c.pat, c.s); got != c.want {
			t.Errorf("%q LIKE %q = %v, want %v", c.s, c.pat, got, c.want)
		}
	}
}
