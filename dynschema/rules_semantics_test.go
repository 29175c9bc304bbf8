package dynschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/graph"
)

// gqlWith posts a query with extra headers and a URL query string.
func (en *env) gqlWith(token, rawQuery string, header http.Header, query string, vars map[string]any) *gqlResp {
	en.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	u := en.srv.URL + "/graphql"
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return en.do(req)
}

// gqlGet runs a query with GET.
func (en *env) gqlGet(token, query string) *gqlResp {
	en.t.Helper()
	req, _ := http.NewRequest("GET", en.srv.URL+"/graphql?query="+url.QueryEscape(query), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return en.do(req)
}

func (r *gqlResp) fieldCode(name string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	fields, _ := r.Errors[0].Extensions["fields"].(map[string]any)
	f, _ := fields[name].(map[string]any)
	c, _ := f["code"].(string)
	return c
}

type expectCase struct {
	scenario, token, query string
	vars                   map[string]any
	wantData, wantCode     string
}

func runExpect(t *testing.T, en *env, cases []expectCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := en.gql(c.token, c.query, c.vars)
			if r.code() != c.wantCode {
				t.Fatalf("code %q, want %q: %s", r.code(), c.wantCode, r)
			}
			if c.wantData != "" {
				jsonEq(t, r.Data, c.wantData)
			}
		})
	}
}

func TestUpdateChecksTheRecordAfter(t *testing.T) {
	en := newEnv(t)
	ann, annTok := en.user("ann@example.com")
	bob, bobTok := en.user("bob@example.com")
	users := en.colls["users"]
	if users == nil {
		users, _ = en.d.Collection("users")
	}
	fields := func() []*db.Field {
		return []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
			{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
		}
	}
	en.create(&db.Collection{Name: "own_docs", ListRule: sp(""), ViewRule: sp(""), CreateRule: sp(""), DeleteRule: sp(""),
		UpdateRule: sp(ownerRule), Fields: fields()})
	en.create(&db.Collection{Name: "pub_docs", ListRule: sp(pubRule), ViewRule: sp(pubRule), CreateRule: sp(""), DeleteRule: sp(""),
		UpdateRule: sp(pubRule), Fields: fields()})
	en.create(&db.Collection{Name: "retitle_docs", ListRule: sp(""), ViewRule: sp(""), CreateRule: sp(""), DeleteRule: sp(""),
		UpdateRule: sp(ownerRule + " && @request.body.title:changed = true"), Fields: fields()})
	bobs := en.insert("own_docs", db.RecordInput{"title": "bob's", "author": bob.ID()})
	annPub := en.insert("pub_docs", db.RecordInput{"title": "ann's", "status": "published", "author": ann.ID()})
	annRe := en.insert("retitle_docs", db.RecordInput{"title": "old", "author": ann.ID()})

	runExpect(t, en, []expectCase{
		{"handing a record to another author is FORBIDDEN", bobTok,
			`mutation($id: ID!, $a: ID!) { updateOwnDoc(id: $id, input: {author: $a}) { id } }`,
			map[string]any{"id": bobs.ID(), "a": ann.ID()}, `null`, "FORBIDDEN"},
		{"the author may still edit it", bobTok,
			`mutation($id: ID!) { updateOwnDoc(id: $id, input: {title: "bob's v2"}) { title authorId } }`,
			map[string]any{"id": bobs.ID()}, fmt.Sprintf(`{"updateOwnDoc":{"title":"bob's v2","authorId":%q}}`, bob.ID()), ""},
		{"another user may edit a published record but not unpublish it", bobTok,
			`mutation($id: ID!) { updatePubDoc(id: $id, input: {status: draft}) { id } }`,
			map[string]any{"id": annPub.ID()}, `null`, "FORBIDDEN"},
		{"another user may edit a published record's title", bobTok,
			`mutation($id: ID!) { updatePubDoc(id: $id, input: {title: "fixed typo"}) { title status } }`,
			map[string]any{"id": annPub.ID()}, `{"updatePubDoc":{"title":"fixed typo","status":"published"}}`, ""},
		{":changed keeps its value from before the write", annTok,
			`mutation($id: ID!) { updateRetitleDoc(id: $id, input: {title: "new"}) { title } }`,
			map[string]any{"id": annRe.ID()}, `{"updateRetitleDoc":{"title":"new"}}`, ""},
		{":changed is false for the same value", annTok,
			`mutation($id: ID!) { updateRetitleDoc(id: $id, input: {title: "new"}) { title } }`,
			map[string]any{"id": annRe.ID()}, `null`, "FORBIDDEN"},
	})
	t.Run("a refused update is rolled back", func(t *testing.T) {
		recs, err := en.d.FindByIDs(en.ctx, en.colls["pub_docs"], []string{annPub.ID()})
		if err != nil || len(recs) != 1 || recs[0]["status"] != "published" {
			t.Errorf("got %v %v", recs, err)
		}
	})
}

func TestRequestBodyModifiers(t *testing.T) {
	en := newEnv(t)
	_, tok := en.user("ann@example.com")
	tags := en.create(&db.Collection{Name: "tags", Fields: []*db.Field{{Name: "name", Type: db.FieldText}}})
	en.create(&db.Collection{Name: "items", ListRule: sp(""), ViewRule: sp(""), DeleteRule: sp(""),
		CreateRule: sp(`@request.body.views:isset = false || @request.body.views <= 10`),
		UpdateRule: sp(`@request.body.status:changed = false && (@request.body.views:isset = false || @request.body.views <= 10) && ` +
			`@request.body.tags:length <= 2 && @request.body.labels:each != 'banned' && @request.body.title:lower != 'shout'`),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
			{Name: "views", Type: db.FieldNumber},
			{Name: "tags", Type: db.FieldRelation, Collection: tags.ID, MaxSelect: 5},
			{Name: "labels", Type: db.FieldSelect, Values: []string{"ok", "banned", "new"}, MaxSelect: 3},
		}})
	var tg []string
	for _, n := range []string{"a", "b", "c"} {
		tg = append(tg, en.insert("tags", db.RecordInput{"name": n}).ID())
	}
	item := en.insert("items", db.RecordInput{"title": "x", "status": "draft", "views": 5.0, "tags": []string{tg[0]}})
	upd := func(in string) string {
		return fmt.Sprintf(`mutation($id: ID!) { updateItem(id: $id, input: %s) { views tagsIds labels status } }`, in)
	}
	id := map[string]any{"id": item.ID()}
	runExpect(t, en, []expectCase{
		{"create: a body value the rule refuses", tok, `mutation { createItem(input: {views: 11}) { views } }`, nil, `null`, "FORBIDDEN"},
		{"create: a body value the rule allows", tok, `mutation { createItem(input: {views: 10}) { views } }`, nil, `{"createItem":{"views":10}}`, ""},
		{"create: :isset is false for a missing field", tok, `mutation { createItem(input: {title: "t"}) { views } }`, nil, `{"createItem":{"views":null}}`, ""},
		{"update: :changed refuses a new status", tok, upd(`{status: published}`), id, `null`, "FORBIDDEN"},
		{"update: :changed allows the same status", tok, upd(`{status: draft}`), id, "", ""},
		{"update: an increment is checked as the resulting value", tok, upd(`{viewsIncrement: 6}`), id, `null`, "FORBIDDEN"},
		{"update: a small increment passes", tok, upd(`{viewsIncrement: 3}`), id, "", ""},
		{"update: :length counts the list after tagsAppend", tok, upd(fmt.Sprintf(`{tagsAppend: [%q, %q]}`, tg[1], tg[2])), id, `null`, "FORBIDDEN"},
		{"update: :length passes for two tags", tok, upd(fmt.Sprintf(`{tagsAppend: [%q]}`, tg[1])), id, "", ""},
		{"update: :length after tagsRemove", tok, upd(fmt.Sprintf(`{tags: [%q, %q, %q], tagsRemove: [%q]}`, tg[0], tg[1], tg[2], tg[2])), id, "", ""},
		{"update: :each refuses a banned value among others", tok, upd(`{labels: [ok, banned]}`), id, `null`, "FORBIDDEN"},
		{"update: :each passes when no value is banned", tok, upd(`{labels: [ok, new]}`), id, "", ""},
		{"update: :lower", tok, upd(`{title: "SHOUT"}`), id, `null`, "FORBIDDEN"},
	})
	t.Run("the allowed updates applied, the refused ones did not", func(t *testing.T) {
		recs, _ := en.d.FindByIDs(en.ctx, en.colls["items"], []string{item.ID()})
		got, _ := json.Marshal([]any{recs[0]["views"], recs[0]["tags"], recs[0]["labels"], recs[0]["status"], recs[0]["title"]})
		want, _ := json.Marshal([]any{8.0, []string{tg[0], tg[1]}, []string{"ok", "new"}, "draft", "x"})
		if !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestRequestInfoInRules(t *testing.T) {
	en := newEnv(t)
	annRec, annTok := en.user("ann@example.com")
	mk := func(name, list string) {
		en.create(&db.Collection{Name: name, ListRule: sp(list), ViewRule: sp(list), CreateRule: sp(""), UpdateRule: sp(""), DeleteRule: sp(""),
			Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
		en.insert(name, db.RecordInput{"title": name})
	}
	mk("header_gates", `@request.headers.x_api_key = 'k1'`)
	mk("query_gates", `@request.query.key = 'q1'`)
	mk("method_gates", `@request.method = 'GET'`)
	mk("context_gates", `@request.context = 'default'`)
	mk("live_gates", `@request.context = 'realtime'`)
	cases := []struct {
		scenario, list, rawQuery, method string
		header                           http.Header
		want                             int
	}{
		{"a matching header", "headerGates", "", "POST", http.Header{"X-Api-Key": {"k1"}}, 1},
		{"another header value", "headerGates", "", "POST", http.Header{"X-Api-Key": {"k2"}}, 0},
		{"no header", "headerGates", "", "POST", nil, 0},
		{"a matching URL query", "queryGates", "key=q1", "POST", nil, 1},
		{"another URL query", "queryGates", "key=q2", "POST", nil, 0},
		{"GET", "methodGates", "", "GET", nil, 1},
		{"POST", "methodGates", "", "POST", nil, 0},
		{"HTTP requests have the default context", "contextGates", "", "POST", nil, 1},
		{"a realtime-only collection lists nothing over HTTP", "liveGates", "", "POST", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			q := fmt.Sprintf(`{ %s { title } }`, c.list)
			var r *gqlResp
			if c.method == "GET" {
				r = en.gqlGet("", q)
			} else {
				r = en.gqlWith("", c.rawQuery, c.header, q, nil)
			}
			r.ok(t)
			var out map[string][]any
			r.decode(t, &out)
			if len(out[c.list]) != c.want {
				t.Errorf("got %s, want %d rows", r.Data, c.want)
			}
		})
	}
	t.Run("subscription events are in the realtime context", func(t *testing.T) {
		w := en.ws(t, map[string]any{})
		if m, err := w.next(); err != nil || m["type"] != "connection_ack" {
			t.Fatalf("got %v %v", m, err)
		}
		w.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query": `subscription { liveGateChanged { record { title } } }`}})
		time.Sleep(100 * time.Millisecond)
		en.insert("live_gates", db.RecordInput{"title": "live"})
		m, err := w.next()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m["payload"])
		if string(b) != `{"data":{"liveGateChanged":{"record":{"title":"live"}}}}` {
			t.Errorf("got %s", b)
		}
	})

	t.Run("file downloads check the view rule in the protectedFile context", func(t *testing.T) {
		users, _ := en.d.Collection("users")
		en.create(&db.Collection{Name: "docs", ListRule: sp(""), ViewRule: sp(`@request.context = 'protectedFile'`), CreateRule: sp(""), UpdateRule: sp(""), DeleteRule: sp(""),
			Fields: []*db.Field{{Name: "file", Type: db.FieldFile, MaxSelect: 1}}})
		en.create(&db.Collection{Name: "private_docs", ListRule: sp(ownerRule), ViewRule: sp(ownerRule), CreateRule: sp(""), UpdateRule: sp(""), DeleteRule: sp(""),
			Fields: []*db.Field{{Name: "file", Type: db.FieldFile, MaxSelect: 1}, {Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1}}})
		fsrv := httptest.NewServer(en.auth.Middleware(files.Handler(en.store, en.d, en.auth)))
		defer fsrv.Close()
		save := func(coll string, extra db.RecordInput) (string, string) {
			id := newID()
			c := en.colls[coll]
			name, err := en.store.Save(en.ctx, c.ID, id, files.Upload{File: strings.NewReader("hello"), Filename: "a.txt", Size: 5, ContentType: "text/plain"})
			if err != nil {
				t.Fatal(err)
			}
			in := db.RecordInput{"id": id, "file": name}
			for k, v := range extra {
				in[k] = v
			}
			en.insert(coll, in)
			return id, name
		}
		get := func(token, coll, id, name string) int {
			req, _ := http.NewRequest("GET", fsrv.URL+"/files/"+coll+"/"+id+"/"+name, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		docID, docName := save("docs", nil)
		privID, privName := save("private_docs", db.RecordInput{"author": annRec.ID()})
		if s := get("", "docs", docID, docName); s != 200 {
			t.Errorf("protectedFile context: status %d, want 200", s)
		}
		r := en.gql("", `query($id: ID!) { doc(id: $id) { id } }`, map[string]any{"id": docID}).ok(t)
		jsonEq(t, r.Data, `{"doc":null}`)
		if s := get("", "private_docs", privID, privName); s != 404 {
			t.Errorf("anonymous download of a private file: status %d, want 404", s)
		}
		if s := get(annTok, "private_docs", privID, privName); s != 200 {
			t.Errorf("the owner's download: status %d, want 200", s)
		}
	})
}

func TestAuthRule(t *testing.T) {
	en := newEnv(t)
	mk := func(name string, rule *string) {
		c, err := en.d.CreateCollection(en.ctx, &db.Collection{Name: name, Type: db.TypeAuth, AuthRule: rule,
			ListRule: sp(""), ViewRule: sp(""), CreateRule: sp(""), UpdateRule: sp(""), DeleteRule: sp("")})
		if err != nil {
			t.Fatal(err)
		}
		en.colls[name] = c
	}
	mk("locked_members", nil)
	mk("open_members", sp(""))
	mk("staff_members", sp("verified = true && @request.auth.id = id"))
	pw := db.RecordInput{"password": "password123", "passwordConfirm": "password123"}
	with := func(in db.RecordInput) db.RecordInput {
		for k, v := range pw {
			in[k] = v
		}
		return in
	}
	en.insert("locked_members", with(db.RecordInput{"email": "l@example.com"}))
	en.insert("open_members", with(db.RecordInput{"email": "o@example.com"}))
	en.insert("staff_members", with(db.RecordInput{"email": "v@example.com", "verified": true}))
	unverified := en.insert("staff_members", with(db.RecordInput{"email": "u@example.com"}))
	signIn := func(name, email, password string) *gqlResp {
		return en.gql("", fmt.Sprintf(`mutation($i: String!, $p: String!) { %sAuthWithPassword(identity: $i, password: $p) { token record { id } } }`, name),
			map[string]any{"i": email, "p": password})
	}
	cases := []struct {
		scenario, coll, email, password, wantCode string
	}{
		{"the default users collection: anyone may sign in", "user", "", "", ""},
		{"a nil authRule refuses every record", "lockedMember", "l@example.com", "password123", "FORBIDDEN"},
		{"a nil authRule still checks the password first", "lockedMember", "l@example.com", "wrong-password", "BAD_USER_INPUT"},
		{"an empty authRule admits every record", "openMember", "o@example.com", "password123", ""},
		{"an expression admits the records it matches", "staffMember", "v@example.com", "password123", ""},
		{"an expression refuses the others", "staffMember", "u@example.com", "password123", "FORBIDDEN"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			if c.coll == "user" {
				en.user("ann@example.com")
				c.email, c.password = "ann@example.com", "password123"
			}
			r := signIn(c.coll, c.email, c.password)
			if r.code() != c.wantCode {
				t.Fatalf("code %q, want %q: %s", r.code(), c.wantCode, r)
			}
		})
	}
	t.Run("refresh checks the authRule again", func(t *testing.T) {
		r := signIn("staffMember", "v@example.com", "password123").ok(t)
		var out struct{ StaffMemberAuthWithPassword struct{ Token string } }
		r.decode(t, &out)
		tok := out.StaffMemberAuthWithPassword.Token
		en.gql(tok, `mutation { staffMemberAuthRefresh { token } }`, nil).ok(t)
		staff := en.colls["staff_members"]
		tokU, err := en.auth.IssueToken(staff, unverified)
		if err != nil {
			t.Fatal(err)
		}
		if r := en.gql(tokU, `mutation { staffMemberAuthRefresh { token } }`, nil); r.code() != "FORBIDDEN" {
			t.Errorf("refresh of a record the rule refuses: %s", r)
		}
	})
}

func TestManageRule(t *testing.T) {
	en := newEnv(t)
	users, _ := en.d.Collection("users")
	u := *users
	u.Fields = append(append([]*db.Field(nil), users.Fields...), &db.Field{Name: "admin", Type: db.FieldBool})
	self := "id = @request.auth.id || @request.auth.admin = true"
	u.ListRule, u.ViewRule, u.UpdateRule = sp(self), sp(self), sp(self)
	u.ManageRule = sp("@request.auth.admin = true")
	if _, err := en.d.UpdateCollection(en.ctx, "users", &u); err != nil {
		t.Fatal(err)
	}
	ann, annTok := en.user("ann@example.com")
	bob, _ := en.user("bob@example.com")
	carolRec := en.insert("users", db.RecordInput{"email": "carol@example.com", "password": "password123", "passwordConfirm": "password123", "admin": true})
	uc, _ := en.d.Collection("users")
	carolTok, _ := en.auth.IssueToken(uc, carolRec)
	upd := `mutation($id: ID!, $in: UserUpdateInput!) { updateUser(id: $id, input: $in) { id email verified } }`
	vars := func(id string, in map[string]any) map[string]any { return map[string]any{"id": id, "in": in} }
	cases := []struct {
		scenario, token string
		vars            map[string]any
		wantCode        string
		wantField       string // extensions.fields key with a code
	}{
		{"a password change needs oldPassword", annTok, vars(ann.ID(), map[string]any{"password": "newpassword1", "passwordConfirm": "newpassword1"}), "BAD_USER_INPUT", "oldPassword"},
		{"a wrong oldPassword is refused", annTok, vars(ann.ID(), map[string]any{"password": "newpassword1", "passwordConfirm": "newpassword1", "oldPassword": "nope-nope"}), "BAD_USER_INPUT", "oldPassword"},
		{"a user cannot verify herself", annTok, vars(ann.ID(), map[string]any{"verified": true}), "BAD_USER_INPUT", "verified"},
		{"a user cannot change her email directly", annTok, vars(ann.ID(), map[string]any{"email": "ann2@example.com"}), "BAD_USER_INPUT", "email"},
		{"sending the same email is no change", annTok, vars(ann.ID(), map[string]any{"email": "ANN@example.com", "name": "Ann"}), "", ""},
		{"a manager changes another user's password without the old one", carolTok, vars(bob.ID(), map[string]any{"password": "bobspassword2", "passwordConfirm": "bobspassword2"}), "", ""},
		{"a manager verifies another user", carolTok, vars(bob.ID(), map[string]any{"verified": true}), "", ""},
		{"a superuser changes a password without the old one", en.superuser(), vars(ann.ID(), map[string]any{"password": "superset123", "passwordConfirm": "superset123"}), "", ""},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := en.gql(c.token, upd, c.vars)
			if r.code() != c.wantCode {
				t.Fatalf("code %q, want %q: %s", r.code(), c.wantCode, r)
			}
			if c.wantField != "" && r.fieldCode(c.wantField) == "" {
				t.Errorf("no extensions.fields.%s: %s", c.wantField, r)
			}
		})
	}
	t.Run("the owner changes her password with the old one; old tokens stop working", func(t *testing.T) {
		r := en.gql("", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "superset123") { token } }`, nil).ok(t)
		var out struct{ UserAuthWithPassword struct{ Token string } }
		r.decode(t, &out)
		tok := out.UserAuthWithPassword.Token
		en.gql(tok, upd, vars(ann.ID(), map[string]any{"password": "annsnewpass", "passwordConfirm": "annsnewpass", "oldPassword": "superset123"})).ok(t)
		if r := en.gql(tok, `{ me { id } }`, nil); r.code() != "UNAUTHENTICATED" {
			t.Errorf("the old token still works: %s", r)
		}
		en.gql("", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "annsnewpass") { token } }`, nil).ok(t)
		_ = annTok
	})
	t.Run("create: only superusers and managers set verified", func(t *testing.T) {
		create := `mutation($in: UserCreateInput!) { createUser(input: $in) { email verified } }`
		in := func(email string, verified bool) map[string]any {
			return map[string]any{"in": map[string]any{"email": email, "password": "password123", "passwordConfirm": "password123", "verified": verified}}
		}
		if r := en.gql("", create, in("eve@example.com", true)); r.code() != "BAD_USER_INPUT" || r.fieldCode("verified") == "" {
			t.Errorf("anonymous sign-up as verified: %s", r)
		}
		en.gql("", create, in("eve@example.com", false)).ok(t)
		r := en.gql(en.superuser(), create, in("sam@example.com", true)).ok(t)
		jsonEq(t, r.Data, `{"createUser":{"email":"sam@example.com","verified":true}}`)
	})
}

func TestClientFilterErrors(t *testing.T) {
	en := newEnv(t)
	en.blog()
	en.user("ann@example.com")
	long := "title = 'x'" + strings.Repeat(" ", 3600)
	many := strings.TrimSuffix(strings.Repeat("views > 1 || ", 201), " || ")
	cases := []struct {
		scenario, query string
		wantPos         int // 0: do not check
	}{
		{"a syntax error names its position", `{ posts(filter: "title = ") { id } }`, 9},
		{"an unknown field names its position", `{ posts(filter: "views > 1 && nope = 2") { id } }`, 14},
		{"a bad sort", `{ posts(sort: "-") { id } }`, 0},
		{"an unknown sort field", `{ posts(sort: "nope") { id } }`, 1},
		{"a hidden field cannot be filtered", `{ posts(filter: "secret = 'x'") { id } }`, 0},
		{"a filter longer than the limit", fmt.Sprintf(`{ posts(filter: %q) { id } }`, long), 0},
		{"more expressions than the limit", fmt.Sprintf(`{ posts(filter: %q) { id } }`, many), 0},
		{"aggregate filters too", `{ postsAggregate(filter: "title = ") { count } }`, 9},
		{"connection filters too", `{ postsConnection(filter: "title = ") { totalCount } }`, 9},
		{"back-relation filters too", `{ users { postsViaAuthor(filter: "title = ") { id } } }`, 9},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := en.gql("", c.query, nil)
			if r.code() != "BAD_USER_INPUT" {
				t.Fatalf("code %q: %s", r.code(), r)
			}
			if c.wantPos > 0 {
				if p, _ := r.Errors[0].Extensions["position"].(float64); int(p) != c.wantPos {
					t.Errorf("position %v, want %d: %s", r.Errors[0].Extensions["position"], c.wantPos, r)
				}
				if !strings.Contains(r.Errors[0].Message, fmt.Sprintf("position %d", c.wantPos)) {
					t.Errorf("message does not name the position: %s", r)
				}
			}
		})
	}
}

func TestWhereSemantics(t *testing.T) {
	en := newEnv(t)
	users, _ := en.d.Collection("users")
	u := *users
	u.ListRule, u.ViewRule = sp(""), sp("")
	if _, err := en.d.UpdateCollection(en.ctx, "users", &u); err != nil {
		t.Fatal(err)
	}
	users, _ = en.d.Collection("users")
	tags := en.create(&db.Collection{Name: "tags", ListRule: sp("name != 'secret'"), ViewRule: sp("name != 'secret'"),
		CreateRule: sp(""), UpdateRule: sp(""), DeleteRule: sp(""), Fields: []*db.Field{
			{Name: "name", Type: db.FieldText}, {Name: "color", Type: db.FieldText},
		}})
	en.create(&db.Collection{Name: "posts", Fields: []*db.Field{
		{Name: "title", Type: db.FieldText},
		{Name: "tags", Type: db.FieldRelation, Collection: tags.ID, MaxSelect: 5},
		{Name: "labels", Type: db.FieldSelect, Values: []string{"done", "todo", "wip"}, MaxSelect: 3},
		{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
	}})
	tag := func(name, color string) string {
		return en.insert("tags", db.RecordInput{"name": name, "color": color}).ID()
	}
	goRed, sqlBlue, goBlue := tag("go", "red"), tag("sql", "blue"), tag("go", "blue")
	pct, under, abc, secret := tag("50%", ""), tag("a_b", ""), tag("abc", ""), tag("secret", "red")
	nameless := en.insert("users", db.RecordInput{"email": "x@example.com", "password": "password123", "passwordConfirm": "password123"})
	post := func(title string, tagIDs []string, labels []string, author string) {
		in := db.RecordInput{"title": title, "tags": tagIDs, "labels": labels}
		if author != "" {
			in["author"] = author
		}
		en.insert("posts", in)
	}
	post("p1 go-red sql-blue", []string{goRed, sqlBlue}, []string{"done", "wip"}, nameless.ID())
	post("p2 go-blue", []string{goBlue}, []string{"todo"}, "")
	post("p3 no tags", nil, nil, "")
	post("p4 50%", []string{pct}, []string{"done"}, "")
	post("p5 a_b abc", []string{under, abc}, nil, "")
	post("p6 secret", []string{secret}, nil, "")
	cases := []struct{ scenario, where, token, want string }{
		{"one tag must match the whole nested where", `{tags: {name: {eq: "go"}, color: {eq: "blue"}}}`, "", "p2 go-blue"},
		{"separate mentions are separate tags", `{_and: [{tags: {name: {eq: "go"}}}, {tags: {color: {eq: "blue"}}}]}`, "", "p1 go-red sql-blue,p2 go-blue"},
		{"_or inside is about one tag", `{tags: {_or: [{name: {eq: "sql"}}, {color: {eq: "red"}}]}}`, "", "p1 go-red sql-blue"},
		{"ne inside: some tag is not named go", `{tags: {name: {ne: "go"}}}`, "", "p1 go-red sql-blue,p4 50%,p5 a_b abc"},
		{"_not inside: no tag is named go", `{tags: {_not: {name: {eq: "go"}}}}`, "", "p4 50%,p5 a_b abc"},
		{"an empty nested where: has a tag", `{tags: {}}`, "", "p1 go-red sql-blue,p2 go-blue,p4 50%,p5 a_b abc"},
		{"isNull inside: a tag without color", `{tags: {color: {isNull: true}}}`, "", "p4 50%,p5 a_b abc"},
		{"contains matches % literally through a multi relation", `{tags: {name: {contains: "%"}}}`, "", "p4 50%"},
		{"startsWith matches _ literally through a multi relation", `{tags: {name: {startsWith: "a_"}}}`, "", "p5 a_b abc"},
		{"endsWith through a multi relation", `{tags: {name: {endsWith: "bc"}}}`, "", "p5 a_b abc"},
		{"contains on a plain field is literal too", `{title: {contains: "_"}}`, "", "p5 a_b abc"},
		{"notContains through a multi relation: one tag without it", `{tags: {name: {notContains: "o"}}}`, "", "p1 go-red sql-blue,p4 50%,p5 a_b abc"},
		{"in through a multi relation", `{tags: {name: {in: ["sql", "abc"]}}}`, "", "p1 go-red sql-blue,p5 a_b abc"},
		{"a multi select: eq is any value", `{labels: {eq: done}}`, "", "p1 go-red sql-blue,p4 50%"},
		{"a multi select: ne is no value", `{labels: {ne: done}}`, "", "p2 go-blue,p3 no tags,p5 a_b abc,p6 secret"},
		{"a multi select: notIn is no value", `{labels: {notIn: [done, wip]}}`, "", "p2 go-blue,p3 no tags,p5 a_b abc,p6 secret"},
		{"a multi select: in is any value", `{labels: {in: [wip, todo]}}`, "", "p1 go-red sql-blue,p2 go-blue"},
		{"a multi select: isNull is empty", `{labels: {isNull: true}}`, "", "p3 no tags,p5 a_b abc,p6 secret"},
		{"a single relation must be set: isNull inside", `{author: {name: {isNull: true}}}`, "", "p1 go-red sql-blue"},
		{"_not of a relation where", `{_not: {tags: {name: {eq: "go"}}}}`, "", "p3 no tags,p4 50%,p5 a_b abc,p6 secret"},
		{"a tag the viewer cannot list does not match", `{tags: {name: {eq: "secret"}}}`, "", ""},
		{"a superuser sees past the list rule", `{tags: {name: {eq: "secret"}}}`, en.superuser(), "p6 secret"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := en.gql(c.token, fmt.Sprintf(`{ posts(where: %s, orderBy: [{title: ASC}]) { title } }`, c.where), nil).ok(t)
			var out struct{ Posts []struct{ Title string } }
			r.decode(t, &out)
			var got []string
			for _, p := range out.Posts {
				got = append(got, p.Title)
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("got %q, want %q", strings.Join(got, ","), c.want)
			}
		})
	}
}

// TestRulesValidatedOnSave goes through the admin API (/graphql/admin)
// with the engine hooked into the database, as `monobase serve` wires it.
func TestRulesValidatedOnSave(t *testing.T) {
	en := newEnv(t)
	admin := httptest.NewServer(en.auth.Middleware(graph.NewHandler(en.d, en.auth, en.e.SDL)))
	defer admin.Close()
	call := func(query string, vars map[string]any) *gqlResp {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest("POST", admin.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+en.superuser())
		return en.do(req)
	}
	create := `mutation($in: CollectionInput!) { createCollection(input: $in) { id name fields { id name type } } }`
	r := call(create, map[string]any{"in": map[string]any{"name": "tags", "listRule": "", "viewRule": "",
		"fields": []any{map[string]any{"name": "label", "type": "TEXT"}}}})
	r.ok(t)
	var tags struct {
		CreateCollection struct {
			ID     string
			Fields []map[string]any
		}
	}
	r.decode(t, &tags)
	cases := []struct {
		scenario, rule, wantKey string
		wantPos                 int
	}{
		{"a rule that does not parse", "title = ", "listRule", 9},
		{"a rule naming a missing field", "title = 'x' && nope = 1", "listRule", 16},
		{"a rule through a relation to a missing field", "tags.nope ?= 'x'", "listRule", 1},
		{"a rule naming a missing collection", "@collection.nothing.id ?= id", "listRule", 1},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := call(create, map[string]any{"in": map[string]any{"name": "posts", "listRule": c.rule, "fields": []any{
				map[string]any{"name": "title", "type": "TEXT"},
				map[string]any{"name": "tags", "type": "RELATION", "collection": "tags", "maxSelect": 5},
			}}})
			if r.code() != "BAD_USER_INPUT" || r.fieldCode(c.wantKey) == "" {
				t.Fatalf("got %s", r)
			}
			if !strings.Contains(r.Errors[0].Message, fmt.Sprintf("position %d", c.wantPos)) {
				t.Errorf("the message does not point at position %d: %s", c.wantPos, r)
			}
			if _, err := en.d.Collection("posts"); err == nil {
				t.Fatal("the collection was created")
			}
		})
	}
	t.Run("a valid rule through a relation is saved", func(t *testing.T) {
		call(create, map[string]any{"in": map[string]any{"name": "posts", "listRule": "tags.label ?= 'go' && @request.auth.id != ''", "fields": []any{
			map[string]any{"name": "title", "type": "TEXT"},
			map[string]any{"name": "tags", "type": "RELATION", "collection": "tags", "maxSelect": 5},
		}}}).ok(t)
	})
	t.Run("dropping a field another collection's rule uses is refused", func(t *testing.T) {
		r := call(`mutation($in: CollectionInput!) { updateCollection(idOrName: "tags", input: $in) { id } }`,
			map[string]any{"in": map[string]any{"name": "tags", "listRule": "", "fields": []any{map[string]any{"name": "color", "type": "TEXT"}}}})
		if r.code() != "BAD_USER_INPUT" || r.fieldCode("listRule") == "" || !strings.Contains(r.Errors[0].Message, "posts") {
			t.Fatalf("got %s", r)
		}
		c, _ := en.d.Collection("tags")
		if c.FieldByName("label") == nil {
			t.Error("the field was dropped")
		}
	})
}

// TestRulesAcrossCollections: rules that join other collections
// (@collection, back-relations, relation paths) through the engine.
func TestRulesAcrossCollections(t *testing.T) {
	en := newEnv(t)
	ann, annTok := en.user("ann@example.com")
	bob, bobTok := en.user("bob@example.com")
	users, _ := en.d.Collection("users")
	// A rule may only name collections that exist: teams gets its rules
	// once memberships (which points at teams) does.
	teams := en.create(&db.Collection{Name: "teams", Fields: []*db.Field{{Name: "name", Type: db.FieldText}}})
	en.create(&db.Collection{Name: "memberships", ListRule: sp("user = @request.auth.id"), ViewRule: sp("user = @request.auth.id"),
		Fields: []*db.Field{
			{Name: "user", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
			{Name: "team", Type: db.FieldRelation, Collection: teams.ID, MaxSelect: 1},
			{Name: "role", Type: db.FieldText},
		}})
	en.create(&db.Collection{Name: "team_docs",
		ListRule:   sp("@collection.memberships.user ?= @request.auth.id && @collection.memberships.team ?= team"),
		ViewRule:   sp("team.memberships_via_team.user ?= @request.auth.id"),
		CreateRule: sp("@collection.memberships.user ?= @request.auth.id && @collection.memberships.team ?= @request.body.team && @collection.memberships.role ?= 'editor'"),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "team", Type: db.FieldRelation, Collection: teams.ID, MaxSelect: 1},
		}})
	tm := *teams
	tm.ListRule, tm.ViewRule = sp("memberships_via_team.user ?= @request.auth.id"), sp("memberships_via_team.user ?= @request.auth.id")
	if _, err := en.d.UpdateCollection(en.ctx, "teams", &tm); err != nil {
		t.Fatal(err)
	}
	red := en.insert("teams", db.RecordInput{"name": "red"})
	blue := en.insert("teams", db.RecordInput{"name": "blue"})
	en.insert("memberships", db.RecordInput{"user": ann.ID(), "team": red.ID(), "role": "editor"})
	en.insert("memberships", db.RecordInput{"user": bob.ID(), "team": blue.ID(), "role": "viewer"})
	en.insert("memberships", db.RecordInput{"user": bob.ID(), "team": red.ID(), "role": "viewer"})
	redDoc := en.insert("team_docs", db.RecordInput{"title": "red doc", "team": red.ID()})
	en.insert("team_docs", db.RecordInput{"title": "blue doc", "team": blue.ID()})
	create := `mutation($team: ID!) { createTeamDoc(input: {title: "new", team: $team}) { title team { name } } }`
	runExpect(t, en, []expectCase{
		{"a back-relation rule: ann's teams", annTok, `{ teams { name } }`, nil, `{"teams":[{"name":"red"}]}`, ""},
		{"a back-relation rule: bob's teams", bobTok, `{ teams(orderBy: [{name: ASC}]) { name } }`, nil, `{"teams":[{"name":"blue"},{"name":"red"}]}`, ""},
		{"an @collection rule: ann's documents", annTok, `{ teamDocs { title } }`, nil, `{"teamDocs":[{"title":"red doc"}]}`, ""},
		{"an @collection rule: bob's documents", bobTok, `{ teamDocs(orderBy: [{title: ASC}]) { title } }`, nil, `{"teamDocs":[{"title":"blue doc"},{"title":"red doc"}]}`, ""},
		{"anonymous sees no documents", "", `{ teamDocs { title } }`, nil, `{"teamDocs":[]}`, ""},
		{"a view rule through a relation and a back-relation", annTok, `query($id: ID!) { teamDoc(id: $id) { title team { name } } }`,
			map[string]any{"id": redDoc.ID()}, `{"teamDoc":{"title":"red doc","team":{"name":"red"}}}`, ""},
		{"nested: the team's memberships obey their own list rule", bobTok, `{ teams(filter: "name = 'red'") { name membershipsViaTeam { role } } }`, nil,
			`{"teams":[{"name":"red","membershipsViaTeam":[{"role":"viewer"}]}]}`, ""},
		{"an editor of the team may create", annTok, create, map[string]any{"team": red.ID()}, `{"createTeamDoc":{"title":"new","team":{"name":"red"}}}`, ""},
		{"a viewer of the team may not", bobTok, create, map[string]any{"team": red.ID()}, `null`, "FORBIDDEN"},
		{"nor may an editor of another team", annTok, create, map[string]any{"team": blue.ID()}, `null`, "FORBIDDEN"},
	})
}

// TestSubscriptionRules: a subscription to one record follows the view
// rule, one to the collection the list rule, and a subscription's filter
// through a relation obeys the related collection's list rule.
func TestSubscriptionRules(t *testing.T) {
	en := newEnv(t)
	ann, annTok := en.user("ann@example.com")
	bob, _ := en.user("bob@example.com")
	users, _ := en.d.Collection("users")
	en.create(&db.Collection{Name: "notes", ListRule: sp(""), ViewRule: sp(ownerRule), CreateRule: sp(""), UpdateRule: sp(""), DeleteRule: sp(""),
		Fields: []*db.Field{{Name: "title", Type: db.FieldText}, {Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1}}})
	bobs := en.insert("notes", db.RecordInput{"title": "bob's", "author": bob.ID()})
	anns := en.insert("notes", db.RecordInput{"title": "ann's", "author": ann.ID()})
	w := en.ws(t, map[string]any{"Authorization": "Bearer " + annTok})
	if m, err := w.next(); err != nil || m["type"] != "connection_ack" {
		t.Fatalf("got %v %v", m, err)
	}
	sub := func(id, query string) {
		w.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}})
	}
	sub("bob-by-id", fmt.Sprintf(`subscription { noteChanged(id: %q) { record { title } } }`, bobs.ID()))
	sub("ann-by-id", fmt.Sprintf(`subscription { noteChanged(id: %q) { record { title } } }`, anns.ID()))
	sub("all", `subscription { noteChanged { record { title } } }`)
	// users' list rule is `id = @request.auth.id`: ann cannot match bob's
	// name through the relation.
	sub("by-author-name", `subscription { noteChanged(filter: "author.name = 'bob'") { record { title } } }`)
	time.Sleep(150 * time.Millisecond)
	en.gql(en.superuser(), fmt.Sprintf(`mutation { a: updateNote(id: %q, input: {title: "bob's v2"}) { id } b: updateNote(id: %q, input: {title: "ann's v2"}) { id } }`, bobs.ID(), anns.ID()), nil).ok(t)
	got := map[string][]string{}
	for {
		_ = w.c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		var m struct {
			ID      string
			Type    string
			Payload struct {
				Data map[string]struct{ Record struct{ Title string } }
			}
		}
		if err := w.c.ReadJSON(&m); err != nil {
			break
		}
		switch m.Type {
		case "next":
			for _, d := range m.Payload.Data {
				got[m.ID] = append(got[m.ID], d.Record.Title)
			}
		case "error", "complete":
			got[m.ID] = append(got[m.ID], m.Type)
		}
	}
	want := map[string][]string{"ann-by-id": {"ann's v2"}, "all": {"bob's v2", "ann's v2"}}
	if b1, b2 := mustJSON(got), mustJSON(want); b1 != b2 {
		t.Errorf("got %s, want %s", b1, b2)
	}
}
