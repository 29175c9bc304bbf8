package db

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// groupFixture is a sales collection with a relation to customers.
type groupFixture struct {
	d                *DB
	sales, customers *Collection
	ann, bob         string
}

func groupOpen(t *testing.T) *groupFixture {
	t.Helper()
	d := openTest(t)
	customers := mustCreate(t, d, &Collection{Name: "customers", Type: TypeBase, Fields: []*Field{{Name: "name", Type: FieldText}}})
	sales := mustCreate(t, d, &Collection{Name: "sales", Type: TypeBase, Fields: []*Field{
		{Name: "region", Type: FieldText},
		{Name: "amount", Type: FieldNumber},
		{Name: "paid", Type: FieldBool},
		{Name: "at", Type: FieldDate},
		{Name: "customer", Type: FieldRelation, Collection: customers.ID, MaxSelect: 1},
		{Name: "tags", Type: FieldSelect, Values: []string{"a", "b"}, MaxSelect: 2},
		{Name: "meta", Type: FieldJSON},
	}})
	fx := &groupFixture{d: d, sales: sales, customers: customers}
	fx.ann = mustInsert(t, d, customers, RecordInput{"name": "ann"}).ID()
	fx.bob = mustInsert(t, d, customers, RecordInput{"name": "bob"}).ID()
	for _, s := range []RecordInput{
		{"region": "north", "amount": 10, "paid": true, "at": "2024-01-05T10:00:00.000Z", "customer": fx.ann},
		{"region": "north", "amount": 20, "paid": false, "at": "2024-01-20T23:30:00.000Z", "customer": fx.ann},
		{"region": "north", "amount": 30, "paid": true, "at": "2024-02-01T00:00:00.000Z", "customer": fx.bob},
		{"region": "south", "amount": 5, "paid": true, "at": "2023-12-31T23:59:59.999Z", "customer": fx.bob},
		{"region": "south", "paid": true, "at": "2024-02-10T08:00:00.000Z"},
		{"amount": 7},
	} {
		mustInsert(t, d, sales, s)
	}
	return fx
}

// groups runs g over the sales as an anonymous request under rule and
// filter (""; none) and returns the groups as JSON.
func (fx *groupFixture) groups(t *testing.T, rule, flt string, g *Grouping) string {
	t.Helper()
	r := &Read{Collection: fx.sales, Request: &RequestInfo{}}
	if rule != "" {
		r.Rule = mustParse(t, rule)
	}
	if flt != "" {
		r.Filters = []filter.Expr{mustParse(t, flt)}
	}
	out, err := fx.d.ReadGroups(context.Background(), r, g)
	if err != nil {
		t.Fatalf("ReadGroups: %v", err)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func TestReadGroups(t *testing.T) {
	fx := groupOpen(t)
	cases := []struct {
		name, rule, filter string
		g                  *Grouping
		want               string
	}{
		{"one key, the null group first", "", "", &Grouping{Keys: []GroupKey{{Field: "region"}}, Numbers: []string{"amount"}},
			`[{"Key":[null],"Count":1,"Numbers":[[7,7,7,7]]},` +
				`{"Key":["north"],"Count":3,"Numbers":[[60,20,10,30]]},` +
				`{"Key":["south"],"Count":2,"Numbers":[[5,5,5,5]]}]`},
		{"the rule filters rows out before grouping", "paid = true", "", &Grouping{Keys: []GroupKey{{Field: "region"}}, Numbers: []string{"amount"}},
			`[{"Key":["north"],"Count":2,"Numbers":[[40,20,10,30]]},{"Key":["south"],"Count":2,"Numbers":[[5,5,5,5]]}]`},
		{"a filter too", "", "amount > 6", &Grouping{Keys: []GroupKey{{Field: "region"}}},
			`[{"Key":[null],"Count":1,"Numbers":null},{"Key":["north"],"Count":3,"Numbers":null}]`},
		{"two keys, one a bool", "", "region != ''", &Grouping{Keys: []GroupKey{{Field: "region"}, {Field: "paid"}}},
			`[{"Key":["north",false],"Count":1,"Numbers":null},{"Key":["north",true],"Count":2,"Numbers":null},{"Key":["south",true],"Count":2,"Numbers":null}]`},
		{"a relation's id", "", "", &Grouping{Keys: []GroupKey{{Field: "customer"}}, Order: []GroupOrder{{Count: true, Desc: true}}, Limit: 2},
			`[{"Key":[null],"Count":2,"Numbers":null},{"Key":["` + min(fx.ann, fx.bob) + `"],"Count":2,"Numbers":null}]`},
		{"a month", "", "", &Grouping{Keys: []GroupKey{{Field: "at", Part: PartMonth}}},
			`[{"Key":[null],"Count":1,"Numbers":null},{"Key":["2023-12-01T00:00:00.000Z"],"Count":1,"Numbers":null},` +
				`{"Key":["2024-01-01T00:00:00.000Z"],"Count":2,"Numbers":null},{"Key":["2024-02-01T00:00:00.000Z"],"Count":2,"Numbers":null}]`},
		{"a year and a day", "", "at != ''", &Grouping{Keys: []GroupKey{{Field: "at", Part: PartYear}, {Field: "at", Part: PartDay}}, Limit: 2},
			`[{"Key":["2023-01-01T00:00:00.000Z","2023-12-31T00:00:00.000Z"],"Count":1,"Numbers":null},` +
				`{"Key":["2024-01-01T00:00:00.000Z","2024-01-05T00:00:00.000Z"],"Count":1,"Numbers":null}]`},
		{"an hour", "", "amount = 20", &Grouping{Keys: []GroupKey{{Field: "at", Part: PartHour}}},
			`[{"Key":["2024-01-20T23:00:00.000Z"],"Count":1,"Numbers":null}]`},
		{"order by a sum not selected, descending, with offset", "", "", &Grouping{Keys: []GroupKey{{Field: "region"}},
			Order: []GroupOrder{{Op: "sum", Field: "amount", Desc: true}}, Offset: 1},
			`[{"Key":[null],"Count":1,"Numbers":null},{"Key":["south"],"Count":2,"Numbers":null}]`},
		{"order by a key descending", "", "", &Grouping{Keys: []GroupKey{{Field: "paid"}, {Field: "region"}},
			Order: []GroupOrder{{Key: 2, Desc: true}}, Limit: 3},
			`[{"Key":[true,"south"],"Count":2,"Numbers":null},{"Key":[false,"north"],"Count":1,"Numbers":null},{"Key":[true,"north"],"Count":2,"Numbers":null}]`},
		{"no row, no group", "", "amount > 1000", &Grouping{Keys: []GroupKey{{Field: "region"}}}, `[]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fx.groups(t, c.rule, c.filter, c.g); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestReadGroupsRefuses(t *testing.T) {
	fx := groupOpen(t)
	for name, g := range map[string]*Grouping{
		"no key":                 {},
		"an unknown field":       {Keys: []GroupKey{{Field: "nope"}}},
		"a list":                 {Keys: []GroupKey{{Field: "tags"}}},
		"a JSON field":           {Keys: []GroupKey{{Field: "meta"}}},
		"a part of a text":       {Keys: []GroupKey{{Field: "region", Part: PartDay}}},
		"an unknown part":        {Keys: []GroupKey{{Field: "at", Part: "week"}}},
		"sum of a text":          {Keys: []GroupKey{{Field: "region"}}, Numbers: []string{"region"}},
		"order by a missing key": {Keys: []GroupKey{{Field: "region"}}, Order: []GroupOrder{{Key: 2}}},
		"order by a bad op":      {Keys: []GroupKey{{Field: "region"}}, Order: []GroupOrder{{Op: "median", Field: "amount"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := fx.d.ReadGroups(context.Background(), &Read{Collection: fx.sales}, g)
			if e := apperr.As(err); e == nil || e.Code != apperr.Invalid {
				t.Errorf("got %v, want apperr.Invalid", err)
			}
		})
	}
	t.Run("a bad filter is a CompileError", func(t *testing.T) {
		r := &Read{Collection: fx.sales, Request: &RequestInfo{}, Filters: []filter.Expr{mustParse(t, "nope = 1")}}
		_, err := fx.d.ReadGroups(context.Background(), r, &Grouping{Keys: []GroupKey{{Field: "region"}}})
		if _, ok := err.(*CompileError); !ok {
			t.Errorf("got %T %v, want *CompileError", err, err)
		}
	})
}

// The statement is one GROUP BY with bound values only.
func TestGroupSQL(t *testing.T) {
	fx := groupOpen(t)
	where := []Cond{{SQL: `"r"."region" = ?`, Args: []any{"x'); DROP TABLE sales; --"}}}
	q, args, err := fx.d.groupSQL(fx.sales, where, &Grouping{Keys: []GroupKey{{Field: "region"}, {Field: "at", Part: PartMonth}},
		Numbers: []string{"amount"}, Order: []GroupOrder{{Count: true, Desc: true}}, Limit: 5, Offset: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT "r"."region", substr("r"."at", 1, 7), COUNT(*), TOTAL("r"."amount"), AVG("r"."amount"), MIN("r"."amount"), MAX("r"."amount")` +
		` FROM "sales" AS "r" WHERE ("r"."region" = ?) GROUP BY "r"."region", substr("r"."at", 1, 7)` +
		` ORDER BY COUNT(*) DESC, "r"."region", substr("r"."at", 1, 7) LIMIT ? OFFSET ?`
	if fx.d.Engine() == EnginePostgres {
		want = `SELECT "r"."region", substr("r"."at", 1, 7), COUNT(*), COALESCE(SUM("r"."amount"), 0.0), AVG("r"."amount"), MIN("r"."amount"), MAX("r"."amount")` +
			` FROM "sales" AS "r" WHERE ("r"."region" = ?) GROUP BY "r"."region", substr("r"."at", 1, 7)` +
			` ORDER BY COUNT(*) DESC NULLS LAST, "r"."region" ASC NULLS FIRST, substr("r"."at", 1, 7) ASC NULLS FIRST LIMIT ? OFFSET ?`
	}
	if q != want {
		t.Errorf("got  %s\nwant %s", q, want)
	}
	if b, _ := json.Marshal(args); string(b) != `["x'); DROP TABLE sales; --",5,2]` {
		t.Errorf("args %s", b)
	}
}
