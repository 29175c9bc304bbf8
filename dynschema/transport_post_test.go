package dynschema

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/monobase/monobase/db"
)

var paramBodies = []string{
	`{"query":"{ posts { id } }"}`,
	`{"query":"query($id: ID!) { post(id: $id) { id } }","variables":{"id":"abc"}}`,
	`  {"query" : "{ a }" , "operationName" : null , "variables" : null , "extensions" : {} }  `,
	`{"query":"query Q { a }\n","operationName":"Q","variables":{"n":1,"f":-1.5e3,"z":0,"b":true,"c":false,"nil":null,"l":[1,"x",[],{}],"o":{"p":{"q":"r"}}}}`,
	`{"query":"tab\there \"quoted\" back\\slash \/ \u00e9 \ud83d\ude00 \u0000"}`,
	`{"query":"é ünïcödé 🚀"}`,
	`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
	`{}`,
	`{"variables":{"a":1,"a":2}}`,
	// refused by the fast path: encoding/json decides
	`{"Query":"{ a }"}`,
	`{"query":"{ a }","other":1}`,
	`{"query":"{ a }"} trailing`,
	`{"query":1}`,
	`{"variables":[1]}`,
	`{"variables":"x"}`,
	`{"query":"\ud83d"}`,
	`{"query":"bad \x"}`,
	"{\"query\":\"\xff\"}",
	`{"variables":{"n":01}}`,
	`{"variables":{"n":1.}}`,
	`{"variables":{"n":-}}`,
	`{"query":"{ a }",}`,
	`[]`,
	`null`,
	``,
}

func TestDecodeParamsAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range paramBodies {
		t.Run(body, func(t *testing.T) { checkDecodeParams(t, []byte(body)) })
	}
	t.Run("the fast path takes the bodies clients send", func(t *testing.T) {
		for _, body := range paramBodies[:9] {
			if !decodeParams([]byte(body), &graphql.RawParams{}) {
				t.Errorf("%s left to encoding/json", body)
			}
		}
	})
}

func checkDecodeParams(t *testing.T, body []byte) {
	t.Helper()
	var got graphql.RawParams
	if !decodeParams(body, &got) {
		return // encoding/json decides
	}
	var want graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("decoded %q, which encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got  %#v\n want %#v", body, got, want)
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, body := range paramBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeParams(t, body) })
}

// TestPostTransportMatchesGqlgen sends the same requests through postJSON
// and gqlgen's transport.POST: status, content type and body must agree.
func TestPostTransportMatchesGqlgen(t *testing.T) {
	en := newEnv(t)
	en.blog()
	p := en.insert("posts", map[string]any{"title": "one \"quoted\" <title>", "views": 3.0})
	// rules left nil: superusers only
	if _, err := en.d.CreateCollection(en.ctx, &db.Collection{Name: "secrets", Type: db.TypeBase,
		Fields: []*db.Field{{Name: "name", Type: db.FieldText}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body, accept string
		noEcho             bool // gqlgen quotes the body in its error; we must not
	}{
		{"a query", `{"query":"{ posts { id title views } }"}`, "", false},
		{"variables", `{"query":"query($id: ID!) { post(id: $id) { id title } }","variables":{"id":"` + p.ID() + `"}}`, "application/json", false},
		{"graphql-response+json", `{"query":"{ posts { id } }"}`, "application/graphql-response+json", false},
		{"any type", `{"query":"{ posts { id } }"}`, "*/*", false},
		{"unknown accept", `{"query":"{ posts { id } }"}`, "text/plain", false},
		{"a field error", `{"query":"{ posts(limit: 5000) { id } }"}`, "", false},
		{"a forbidden list", `{"query":"{ secrets { id } }"}`, "", false},
		{"a parse error", `{"query":"{ posts { id "}`, "", false},
		{"a parse error as graphql-response+json", `{"query":"{ posts { id "}`, "application/graphql-response+json", false},
		{"a validation error", `{"query":"{ nope }"}`, "", false},
		{"bad JSON", `{"query":`, "", true},
		{"NUL bytes", strings.Repeat("\x00", 4096), "", true},
		{"a wrong type", `{"query":["` + strings.Repeat("x", 4096) + `"]}`, "", true},
		{"no query", `{}`, "", false},
		{"an unknown operation name", `{"query":"query A { posts { id } }","operationName":"B"}`, "", false},
		{"a missing variable", `{"query":"query($id: ID!) { post(id: $id) { id } }"}`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(tr graphql.Transport) *httptest.ResponseRecorder {
				r := httptest.NewRequest("POST", "/graphql", strings.NewReader(c.body))
				r.Header.Set("Content-Type", "application/json")
				if c.accept != "" {
					r.Header.Set("Accept", c.accept)
				}
				r = r.WithContext(graphql.StartOperationTrace(r.Context()))
				w := httptest.NewRecorder()
				tr.Do(w, r, en.e)
				return w
			}
			got, want := run(postJSON{}), run(transport.POST{})
			if got.Code != want.Code {
				t.Errorf("status %d, gqlgen %d", got.Code, want.Code)
			}
			if g, w := got.Header().Get("Content-Type"), want.Header().Get("Content-Type"); g != w {
				t.Errorf("content type %q, gqlgen %q", g, w)
			}
			if !json.Valid(got.Body.Bytes()) {
				t.Fatalf("invalid JSON: %s", got.Body)
			}
			if c.noEcho {
				if got.Body.Len() > 300 || !strings.Contains(got.Body.String(), "json request body could not be decoded") {
					t.Errorf("want a short decoding error that does not quote the body, got %s", got.Body)
				}
				return
			}
			jsonEq(t, got.Body.Bytes(), want.Body.String())
		})
	}
}
