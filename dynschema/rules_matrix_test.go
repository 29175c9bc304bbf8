package dynschema

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

// The rules matrix: rule × operation × viewer over every read and write
// path, each expectation computed by a small oracle of the rule's meaning.

const (
	ownerRule = "author = @request.auth.id"
	pubRule   = "status = 'published' || author = @request.auth.id"
	bodyRule  = "@request.body.title:isset = false"
)

// ruleVariant is one collection `<name>_posts` whose list and view rules
// are read and whose create, update and delete rules are write.
type ruleVariant struct {
	name        string
	read, write *string
}

var ruleVariants = []ruleVariant{
	{"nil", nil, nil},
	{"any", sp(""), sp("")},
	{"owner", sp(ownerRule), sp(ownerRule)},
	{"pub", sp(pubRule), sp(pubRule)},
	{"body", sp(bodyRule), sp(bodyRule)},
	{"mixed", sp(""), sp(ownerRule)}, // viewable by all, writable by the author
}

// GraphQL names of a variant's collection.
func (v ruleVariant) list() string   { return v.name + "Posts" }
func (v ruleVariant) single() string { return v.name + "Post" }
func (v ruleVariant) typ() string    { return strings.ToUpper(v.name[:1]) + v.name[1:] + "Post" }

type mviewer struct {
	name, token, id string
	super           bool
}

type mpost struct{ title, author, status string } // author: "ann", "bob" or ""

var matrixPosts = []mpost{{"ann draft", "ann", "draft"}, {"ann pub", "ann", "published"}, {"bob draft", "bob", "draft"}}

// allows is the oracle: whether rule lets w act on a record with that
// author id and status, with body as @request.body.
func allows(rule *string, w mviewer, authorID, status string, body map[string]any) bool {
	if w.super {
		return true
	}
	if rule == nil {
		return false
	}
	switch *rule {
	case "":
		return true
	case ownerRule:
		return authorID == w.id // anonymous: "" = "" (PocketBase's empty-value rule)
	case pubRule:
		return status == "published" || authorID == w.id
	case bodyRule:
		_, set := body["title"]
		return !set
	}
	panic("no oracle for " + *rule)
}

type matrix struct {
	*env
	viewers []mviewer
	userIDs map[string]string            // "ann" -> id
	ids     map[string]map[string]string // variant -> title -> id
	board   db.Record
}

func (m *matrix) authorID(name string) string { return m.userIDs[name] }

// visible returns the titles of matrixPosts w may list in v, sorted.
func (m *matrix) visible(v ruleVariant, w mviewer) []string {
	var out []string
	for _, p := range matrixPosts {
		if allows(v.read, w, m.authorID(p.author), p.status, nil) {
			out = append(out, p.title)
		}
	}
	sort.Strings(out)
	return out
}

func newMatrix(t *testing.T) *matrix {
	en := newEnv(t)
	m := &matrix{env: en, userIDs: map[string]string{}, ids: map[string]map[string]string{}}
	ann, annTok := en.user("ann@example.com")
	bob, bobTok := en.user("bob@example.com")
	m.userIDs["ann"], m.userIDs["bob"] = ann.ID(), bob.ID()
	m.viewers = []mviewer{
		{name: "anonymous"},
		{name: "owner ann", token: annTok, id: ann.ID()},
		{name: "other user bob", token: bobTok, id: bob.ID()},
		{name: "superuser", token: en.superuser(), super: true}, // id "": creates by a superuser set no author for "self"
	}
	users, _ := en.d.Collection("users")
	boards := en.create(&db.Collection{Name: "boards", Type: db.TypeBase, Fields: []*db.Field{{Name: "name", Type: db.FieldText}}})
	var noteFields []*db.Field
	noteFields = append(noteFields, &db.Field{Name: "text", Type: db.FieldText})
	for _, v := range ruleVariants {
		c, err := en.d.CreateCollection(en.ctx, &db.Collection{Name: v.name + "_posts", Type: db.TypeBase,
			ListRule: v.read, ViewRule: v.read, CreateRule: v.write, UpdateRule: v.write, DeleteRule: v.write,
			Fields: []*db.Field{
				{Name: "title", Type: db.FieldText, Required: true},
				{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
				{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
				{Name: "board", Type: db.FieldRelation, Collection: boards.ID, MaxSelect: 1},
				{Name: "views", Type: db.FieldNumber},
			}})
		if err != nil {
			t.Fatalf("create %s: %v", v.name, err)
		}
		en.colls[c.Name] = c
		noteFields = append(noteFields, &db.Field{Name: v.single(), Type: db.FieldRelation, Collection: c.ID, MaxSelect: 1})
	}
	en.create(&db.Collection{Name: "notes", Type: db.TypeBase, Fields: noteFields})
	m.board = en.insert("boards", db.RecordInput{"name": "main"})
	for _, v := range ruleVariants {
		m.ids[v.name] = map[string]string{}
		for _, p := range matrixPosts {
			rec := en.insert(v.name+"_posts", db.RecordInput{"title": p.title, "status": p.status, "author": m.authorID(p.author), "board": m.board.ID()})
			m.ids[v.name][p.title] = rec.ID()
		}
	}
	for _, p := range matrixPosts {
		in := db.RecordInput{"text": p.title}
		for _, v := range ruleVariants {
			in[v.single()] = m.ids[v.name][p.title]
		}
		en.insert("notes", in)
	}
	return m
}

func titlesJSON(titles []string) string {
	items := make([]map[string]string, len(titles))
	for i, s := range titles {
		items[i] = map[string]string{"title": s}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// readCase is one read path: the query, and the expected data and code
// for a variant and viewer.
type readCase struct {
	op     string
	query  func(v ruleVariant) string
	expect func(m *matrix, v ruleVariant, w mviewer) (data, code string)
}

func readCases() []readCase {
	forbiddenFor := func(v ruleVariant, w mviewer) bool { return v.read == nil && !w.super }
	return []readCase{
		{"list", func(v ruleVariant) string {
			return fmt.Sprintf(`{ %s(orderBy: [{title: ASC}]) { title } }`, v.list())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			if forbiddenFor(v, w) {
				return `null`, "FORBIDDEN"
			}
			return fmt.Sprintf(`{%q:%s}`, v.list(), titlesJSON(m.visible(v, w))), ""
		}},
		{"aggregate", func(v ruleVariant) string {
			return fmt.Sprintf(`{ %sAggregate { count } }`, v.list())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			if forbiddenFor(v, w) {
				return `null`, "FORBIDDEN"
			}
			return fmt.Sprintf(`{"%sAggregate":{"count":%d}}`, v.list(), len(m.visible(v, w))), ""
		}},
		{"connection with totalCount", func(v ruleVariant) string {
			return fmt.Sprintf(`{ %sConnection(first: 2, orderBy: [{title: ASC}]) { totalCount edges { node { title } } pageInfo { hasNextPage } } }`, v.list())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			if forbiddenFor(v, w) {
				return `null`, "FORBIDDEN"
			}
			vis := m.visible(v, w)
			page := vis[:min(2, len(vis))]
			edges := make([]map[string]any, len(page))
			for i, s := range page {
				edges[i] = map[string]any{"node": map[string]string{"title": s}}
			}
			return mustJSON(map[string]any{v.list() + "Connection": map[string]any{
				"totalCount": len(vis), "edges": edges, "pageInfo": map[string]bool{"hasNextPage": len(vis) > 2}}}), ""
		}},
		{"relation", func(v ruleVariant) string {
			return fmt.Sprintf(`{ notes(orderBy: [{text: ASC}]) { text %[1]s { title } %[1]sId } }`, v.single())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			var notes []map[string]any
			for _, p := range matrixPosts {
				n := map[string]any{"text": p.title, v.single(): nil, v.single() + "Id": m.ids[v.name][p.title]}
				if allows(v.read, w, m.authorID(p.author), p.status, nil) {
					n[v.single()] = map[string]string{"title": p.title}
				}
				notes = append(notes, n)
			}
			return mustJSON(map[string]any{"notes": notes}), ""
		}},
		{"back-relation", func(v ruleVariant) string {
			return fmt.Sprintf(`{ boards { name %sViaBoard(orderBy: [{title: ASC}]) { title } } }`, v.list())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			return fmt.Sprintf(`{"boards":[{"name":"main","%sViaBoard":%s}]}`, v.list(), titlesJSON(m.visible(v, w))), ""
		}},
		{"nested relation then back-relation", func(v ruleVariant) string {
			return fmt.Sprintf(`{ notes(orderBy: [{text: ASC}]) { text %s { board { %sViaBoard(orderBy: [{title: ASC}]) { title } } } } }`, v.single(), v.list())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			var notes []map[string]any
			for _, p := range matrixPosts {
				n := map[string]any{"text": p.title, v.single(): nil}
				if allows(v.read, w, m.authorID(p.author), p.status, nil) {
					n[v.single()] = map[string]any{"board": map[string]any{v.list() + "ViaBoard": json.RawMessage(titlesJSON(m.visible(v, w)))}}
				}
				notes = append(notes, n)
			}
			return mustJSON(map[string]any{"notes": notes}), ""
		}},
		{"nested three levels", func(v ruleVariant) string {
			return fmt.Sprintf(`{ boards(limit: 5) { %[1]sViaBoard(limit: 10, orderBy: [{title: ASC}]) { title board { %[1]sViaBoard(limit: 10, orderBy: [{title: ASC}]) { title } } } } }`, v.list())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			vis := m.visible(v, w)
			items := make([]map[string]any, len(vis))
			for i, s := range vis {
				items[i] = map[string]any{"title": s, "board": map[string]any{v.list() + "ViaBoard": json.RawMessage(titlesJSON(vis))}}
			}
			return mustJSON(map[string]any{"boards": []any{map[string]any{v.list() + "ViaBoard": items}}}), ""
		}},
		{"where through the relation", func(v ruleVariant) string {
			return fmt.Sprintf(`{ notes(where: {%s: {title: {eq: "bob draft"}}}) { text } }`, v.single())
		}, relationFilterExpect},
		{"filter through the relation", func(v ruleVariant) string {
			return fmt.Sprintf(`{ notes(filter: "%s.title = 'bob draft'") { text } }`, v.single())
		}, relationFilterExpect},
		{"sort through the relation", func(v ruleVariant) string {
			return fmt.Sprintf(`{ notes(sort: "-%s.title,text") { text } }`, v.single())
		}, func(m *matrix, v ruleVariant, w mviewer) (string, string) {
			if forbiddenFor(v, w) {
				return `null`, "BAD_USER_INPUT"
			}
			// Visible titles descending, then the hidden ones (null) by text.
			var seen, hidden []string
			for _, p := range matrixPosts {
				if allows(v.read, w, m.authorID(p.author), p.status, nil) {
					seen = append(seen, p.title)
				} else {
					hidden = append(hidden, p.title)
				}
			}
			slices.Reverse(seen)
			var notes []map[string]string
			for _, s := range append(seen, hidden...) {
				notes = append(notes, map[string]string{"text": s})
			}
			return mustJSON(map[string]any{"notes": notes}), ""
		}},
	}
}

// relationFilterExpect: the note pointing at "bob draft" matches only when
// the viewer may list that post; a relation to a superusers-only
// collection cannot be filtered by others.
func relationFilterExpect(m *matrix, v ruleVariant, w mviewer) (string, string) {
	if v.read == nil && !w.super {
		return `null`, "BAD_USER_INPUT"
	}
	if allows(v.read, w, m.authorID("bob"), "draft", nil) {
		return `{"notes":[{"text":"bob draft"}]}`, ""
	}
	return `{"notes":[]}`, ""
}

func TestRulesMatrixReads(t *testing.T) {
	m := newMatrix(t)
	for _, v := range ruleVariants {
		for _, w := range m.viewers {
			for _, c := range readCases() {
				t.Run(fmt.Sprintf("%s rule/%s/%s", v.name, w.name, c.op), func(t *testing.T) {
					wantData, wantCode := c.expect(m, v, w)
					r := m.gql(w.token, c.query(v), nil)
					if r.code() != wantCode {
						t.Fatalf("code %q, want %q: %s", r.code(), wantCode, r)
					}
					jsonEq(t, r.Data, wantData)
				})
			}
			t.Run(fmt.Sprintf("%s rule/%s/single", v.name, w.name), func(t *testing.T) {
				for _, p := range matrixPosts {
					r := m.gql(w.token, fmt.Sprintf(`query($id: ID!) { %s(id: $id) { title } }`, v.single()), map[string]any{"id": m.ids[v.name][p.title]})
					switch {
					case v.read == nil && !w.super:
						if r.code() != "FORBIDDEN" {
							t.Fatalf("%s: code %q, want FORBIDDEN: %s", p.title, r.code(), r)
						}
						jsonEq(t, r.Data, fmt.Sprintf(`{%q:null}`, v.single()))
					case allows(v.read, w, m.authorID(p.author), p.status, nil):
						r.ok(t)
						jsonEq(t, r.Data, fmt.Sprintf(`{%q:{"title":%q}}`, v.single(), p.title))
					default:
						r.ok(t)
						jsonEq(t, r.Data, fmt.Sprintf(`{%q:null}`, v.single()))
					}
				}
			})
		}
	}
	t.Run("the id of a hidden related record is still returned", func(t *testing.T) {
		// PocketBase returns relation ids whatever the target's rules; the
		// related record itself reads null.
		bob := m.viewers[2]
		r := m.gql(bob.token, `{ anyPosts(filter: "title = 'ann pub'") { title authorId author { id } } }`, nil).ok(t)
		jsonEq(t, r.Data, fmt.Sprintf(`{"anyPosts":[{"title":"ann pub","authorId":%q,"author":null}]}`, m.authorID("ann")))
	})
}

// writeTarget inserts a fresh post of variant v for a write case.
func (m *matrix) writeTarget(v ruleVariant, p mpost, suffix string) string {
	rec := m.insert(v.name+"_posts", db.RecordInput{"title": p.title + suffix, "status": p.status, "author": m.authorID(p.author), "board": m.board.ID()})
	return rec.ID()
}

// exists reports whether the record id of variant v is stored, and its
// title.
func (m *matrix) stored(v ruleVariant, id string) (string, bool) {
	recs, err := m.d.FindByIDs(m.ctx, m.colls[v.name+"_posts"], []string{id})
	if err != nil {
		m.t.Fatal(err)
	}
	if len(recs) == 0 {
		return "", false
	}
	return recs[0]["title"].(string), true
}

func TestRulesMatrixWrites(t *testing.T) {
	m := newMatrix(t)
	n := 0
	for _, v := range ruleVariants {
		for _, w := range m.viewers {
			for _, c := range []struct {
				author, status string
			}{{"self", "draft"}, {"other", "draft"}, {"other", "published"}} {
				t.Run(fmt.Sprintf("%s rule/%s/create %s %s post", v.name, w.name, c.status, c.author), func(t *testing.T) {
					n++
					title := fmt.Sprintf("created %d", n)
					author := w.id
					if c.author == "other" {
						author = m.authorID("bob")
						if w.id == author {
							author = m.authorID("ann")
						}
					}
					in := map[string]any{"title": title, "status": c.status, "board": m.board.ID()}
					if author != "" {
						in["author"] = author
					}
					r := m.gql(w.token, fmt.Sprintf(`mutation($in: %sCreateInput!) { create%s(input: $in) { title } }`, v.typ(), v.typ()), map[string]any{"in": in})
					if allows(v.write, w, author, c.status, in) {
						r.ok(t)
						jsonEq(t, r.Data, fmt.Sprintf(`{"create%s":{"title":%q}}`, v.typ(), title))
						return
					}
					if r.code() != "FORBIDDEN" {
						t.Fatalf("code %q, want FORBIDDEN: %s", r.code(), r)
					}
					jsonEq(t, r.Data, `null`)
					cnt, err := m.d.Count(m.ctx, &db.Query{Collection: m.colls[v.name+"_posts"], Where: []db.Cond{{SQL: `"r"."title" = ?`, Args: []any{title}}}})
					if err != nil || cnt != 0 {
						t.Errorf("a refused create left %d records (%v)", cnt, err)
					}
				})
			}
			for _, p := range matrixPosts {
				t.Run(fmt.Sprintf("%s rule/%s/update %s", v.name, w.name, p.title), func(t *testing.T) {
					id := m.writeTarget(v, p, " (u)")
					in := map[string]any{"title": "changed"}
					r := m.gql(w.token, fmt.Sprintf(`mutation($id: ID!, $in: %sUpdateInput!) { update%s(id: $id, input: $in) { title } }`, v.typ(), v.typ()),
						map[string]any{"id": id, "in": in})
					want := writeExpect(m, v, w, p, in)
					if want == "" {
						r.ok(t)
						jsonEq(t, r.Data, fmt.Sprintf(`{"update%s":{"title":"changed"}}`, v.typ()))
						return
					}
					if r.code() != want {
						t.Fatalf("code %q, want %q: %s", r.code(), want, r)
					}
					if title, _ := m.stored(v, id); title != p.title+" (u)" {
						t.Errorf("a refused update changed the title to %q", title)
					}
				})
				t.Run(fmt.Sprintf("%s rule/%s/delete %s", v.name, w.name, p.title), func(t *testing.T) {
					id := m.writeTarget(v, p, " (d)")
					r := m.gql(w.token, fmt.Sprintf(`mutation($id: ID!) { delete%s(id: $id) { title } }`, v.typ()), map[string]any{"id": id})
					want := writeExpect(m, v, w, p, nil)
					_, still := m.stored(v, id)
					if want == "" {
						r.ok(t)
						jsonEq(t, r.Data, fmt.Sprintf(`{"delete%s":{"title":%q}}`, v.typ(), p.title+" (d)"))
						if still {
							t.Error("the record is still there")
						}
						return
					}
					if r.code() != want {
						t.Fatalf("code %q, want %q: %s", r.code(), want, r)
					}
					if !still {
						t.Error("a refused delete deleted the record")
					}
				})
			}
		}
	}
}

// writeExpect is the code an update (body = input) or delete (nil body) of
// p must get: a nil rule FORBIDDEN, a record the viewer cannot view
// NOT_FOUND, a rule that denies FORBIDDEN, else "".
func writeExpect(m *matrix, v ruleVariant, w mviewer, p mpost, body map[string]any) string {
	switch {
	case w.super:
		return ""
	case v.write == nil:
		return "FORBIDDEN"
	case !allows(v.read, w, m.authorID(p.author), p.status, nil):
		return "NOT_FOUND"
	case !allows(v.write, w, m.authorID(p.author), p.status, body):
		return "FORBIDDEN"
	}
	return ""
}

// TestRulesMatrixSubscriptions subscribes every viewer to every variant
// and checks which of three new records each one is told about.
func TestRulesMatrixSubscriptions(t *testing.T) {
	m := newMatrix(t)
	type sub struct {
		v    ruleVariant
		w    mviewer
		c    *wsClient
		got  []string
		errs []string
	}
	var subs []*sub
	for _, v := range ruleVariants {
		for _, w := range m.viewers {
			payload := map[string]any{}
			if w.token != "" {
				payload["Authorization"] = "Bearer " + w.token
			}
			c := m.ws(t, payload)
			if msg, err := c.next(); err != nil || msg["type"] != "connection_ack" {
				t.Fatalf("connection: %v %v", msg, err)
			}
			c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
				"query": fmt.Sprintf(`subscription { %sChanged { action record { title } } }`, v.single())}})
			subs = append(subs, &sub{v: v, w: w, c: c})
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, v := range ruleVariants {
		for _, p := range matrixPosts {
			m.insert(v.name+"_posts", db.RecordInput{"title": p.title + " (s)", "status": p.status, "author": m.authorID(p.author), "board": m.board.ID()})
		}
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_ = s.c.c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
				var msg map[string]any
				if err := s.c.c.ReadJSON(&msg); err != nil {
					return // quiet: no more events
				}
				switch msg["type"] {
				case "next":
					b, _ := json.Marshal(msg["payload"])
					var pl struct {
						Data   map[string]struct{ Record struct{ Title string } }
						Errors []gqlError
					}
					_ = json.Unmarshal(b, &pl)
					for _, e := range pl.Errors {
						c, _ := e.Extensions["code"].(string)
						s.errs = append(s.errs, c)
					}
					for _, d := range pl.Data {
						s.got = append(s.got, strings.TrimSuffix(d.Record.Title, " (s)"))
					}
				case "error":
					b, _ := json.Marshal(msg["payload"])
					var errs []gqlError
					_ = json.Unmarshal(b, &errs)
					for _, e := range errs {
						c, _ := e.Extensions["code"].(string)
						s.errs = append(s.errs, c)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range subs {
		t.Run(fmt.Sprintf("%s rule/%s/subscription", s.v.name, s.w.name), func(t *testing.T) {
			if s.v.read == nil && !s.w.super {
				if len(s.got) != 0 || !slices.Contains(s.errs, "FORBIDDEN") {
					t.Errorf("got events %v, errors %v; want only FORBIDDEN", s.got, s.errs)
				}
				return
			}
			sort.Strings(s.got)
			want := m.visible(s.v, s.w)
			if !slices.Equal(s.got, want) || len(s.errs) > 0 {
				t.Errorf("got events %v (errors %v), want %v", s.got, s.errs, want)
			}
		})
	}
}
