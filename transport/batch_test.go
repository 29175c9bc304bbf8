package transport_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/querycost"
	"github.com/monobase/monobase/ratelimit"
)

// batchResult is one operation's result in a batch's answer.
type batchResult struct {
	Data   map[string]any
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
}

// postBatch posts body to /graphql and returns the status and the raw
// answer.
func (s *server) postBatch(body string) (int, []byte) {
	s.t.Helper()
	resp, err := http.Post(s.srv.URL+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		s.t.Fatalf("answer: %v", err)
	}
	return resp.StatusCode, raw
}

// batch posts the operations ops (query texts) as one batch and returns
// their results.
func (s *server) batch(ops ...string) (int, []batchResult) {
	s.t.Helper()
	var list []map[string]any
	for _, q := range ops {
		list = append(list, map[string]any{"query": q})
	}
	b, _ := json.Marshal(list)
	status, raw := s.postBatch(string(b))
	var out []batchResult
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("want an array: %s", raw)
	}
	if len(out) != len(ops) {
		s.t.Fatalf("%d results for %d operations: %s", len(out), len(ops), raw)
	}
	return status, out
}

func TestBatch(t *testing.T) {
	s := newServer(t)
	s.post("", `mutation { createPost(input: {title: "first"}) { id } }`, nil)

	t.Run("each operation runs on its own, in order", func(t *testing.T) {
		status, out := s.batch(
			`{ posts { title } }`,
			`{ posts { nope } }`,
			`mutation { createPost(input: {title: "second"}) { title } }`,
			`query { all: posts(sort: "title") { title } }`, // created can tie within a millisecond
			`{ posts(limit: 5000) { id } }`,
		)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if got, _ := json.Marshal(out[0].Data); len(out[0].Errors) > 0 || string(got) != `{"posts":[{"title":"first"}]}` {
			t.Errorf("first: %s %v", got, out[0].Errors)
		}
		if len(out[1].Errors) != 1 || out[1].Data != nil || out[1].Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("a validation error: %+v", out[1])
		}
		if len(out[2].Errors) > 0 || out[2].Data["createPost"].(map[string]any)["title"] != "second" {
			t.Errorf("the mutation: %+v", out[2])
		}
		if got, _ := json.Marshal(out[3].Data); string(got) != `{"all":[{"title":"first"},{"title":"second"}]}` {
			t.Errorf("a query after the mutation sees it: %s", got)
		}
		if len(out[4].Errors) != 1 || out[4].Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("an operation over the complexity limit: %+v", out[4])
		}
	})
	t.Run("an element that is not an operation gets its own error", func(t *testing.T) {
		status, raw := s.postBatch(`[{"query":"{ posts { title } }"}, 5, {"query":"{ posts { id } }","variables":[1]}]`)
		var out []batchResult
		if err := json.Unmarshal(raw, &out); err != nil || status != 200 || len(out) != 3 {
			t.Fatalf("%d %s", status, raw)
		}
		if len(out[0].Errors) > 0 || len(out[1].Errors) != 1 || len(out[2].Errors) != 1 {
			t.Fatalf("%s", raw)
		}
	})
	t.Run("a subscription cannot be batched", func(t *testing.T) {
		_, out := s.batch(`{ posts { id } }`, postChanged)
		if len(out[0].Errors) > 0 || len(out[1].Errors) != 1 || !strings.Contains(out[1].Errors[0].Message, "subscription") {
			t.Fatalf("%+v", out)
		}
		if n := s.e.Subscribers(s.posts.ID); n != 0 {
			t.Fatalf("%d subscriptions left running", n)
		}
	})
	t.Run("the batch cap", func(t *testing.T) {
		ops := make([]string, 21)
		for i := range ops {
			ops[i] = `{"query":"mutation { createPost(input: {title: \"capped\"}) { id } }"}`
		}
		status, raw := s.postBatch("[" + strings.Join(ops, ",") + "]")
		if status != 400 || !strings.Contains(string(raw), "at most 20 operations (this one has 21)") || !strings.Contains(string(raw), "BAD_USER_INPUT") {
			t.Fatalf("21 operations: %d %s", status, raw)
		}
		if n := len(s.post("", `{ posts(filter: "title = 'capped'") { id } }`, nil)["posts"].([]any)); n != 0 {
			t.Fatalf("%d operations of a refused batch ran", n)
		}
		if status, _ := s.batch(strings.Split(strings.Repeat(`{ posts { id } }|`, 20), "|")[:20]...); status != 200 {
			t.Fatalf("20 operations: status %d", status)
		}
		if status, raw := s.postBatch(`[]`); status != 400 || !strings.Contains(string(raw), "at least one") {
			t.Fatalf("an empty batch: %d %s", status, raw)
		}
		if status, raw := s.postBatch(`[{"query":"{ posts { id } }"}`); status != 400 || !strings.Contains(string(raw), "could not be decoded") {
			t.Fatalf("a batch that is not JSON: %d %s", status, raw)
		}
	})
	t.Run("the body limit applies to the whole batch", func(t *testing.T) {
		s.h.SetLimits(2048, 0)
		defer s.h.SetLimits(0, 0)
		op := `{"query":"{ posts { id } }","extensions":{"pad":"` + strings.Repeat("p", 200) + `"}}`
		body := "[" + strings.TrimSuffix(strings.Repeat(op+",", 12), ",") + "]"
		if status, _ := s.postBatch(body); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a %d-byte batch over a 2 KiB limit: status %d", len(body), status)
		}
	})
	t.Run("cost limits apply per operation", func(t *testing.T) {
		ls := querycost.DefaultLimitSettings()
		ls.MaxComplexity = 100
		if err := s.e.SetLimits(ls); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.e.SetLimits(querycost.DefaultLimitSettings()) }()
		// Together they cost more than 100; each alone does not.
		light := `{ posts(limit: 40) { id } }`
		_, out := s.batch(light, light, light, `{ posts(limit: 200) { id } }`)
		for i, r := range out[:3] {
			if len(r.Errors) > 0 {
				t.Fatalf("operation %d under the limit: %+v", i, r)
			}
		}
		if len(out[3].Errors) != 1 || out[3].Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("an operation over the limit: %+v", out[3])
		}
	})
}

// TestBatchRateLimits: every operation of a batch takes its root fields'
// units of the operation rules, as separate requests would.
func TestBatchRateLimits(t *testing.T) {
	rules := ratelimit.NewRules(ratelimit.Settings{Enabled: true, Rules: []ratelimit.Rule{
		{Label: "posts:list", MaxRequests: 2, Duration: 60},
	}}, 0, nil)
	s := newServerWith(t, func(c *dynschema.Config) { c.RateLimits = rules })
	status, out := s.batch(`{ posts { id } }`, `{ posts { id } }`, `{ posts { id } }`)
	if len(out[0].Errors) > 0 || len(out[1].Errors) > 0 {
		t.Fatalf("the first two: %+v", out[:2])
	}
	if len(out[2].Errors) != 1 || out[2].Errors[0].Extensions["code"] != "RATE_LIMITED" {
		t.Fatalf("the third: %+v", out[2])
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429 (an operation was refused)", status)
	}
}

// TestBatchPathRule: a batch takes one unit of the /graphql path rule per
// operation, before any of them runs; a batch that does not fit is
// refused whole with 429 and RATE_LIMITED, and counts only the unit its
// request took on arrival.
func TestBatchPathRule(t *testing.T) {
	s := newServer(t)
	rules := ratelimit.NewRules(ratelimit.Settings{Enabled: true, Rules: []ratelimit.Rule{
		{Label: "/graphql", MaxRequests: 10, Duration: 60},
	}}, 0, nil)
	guest := func(*http.Request) ratelimit.Caller { return ratelimit.Guest }
	srv := httptest.NewServer(ratelimit.Middleware(rules.Paths(guest, s.h)))
	defer srv.Close()
	post := func(n int) (int, string, string) {
		t.Helper()
		list := make([]string, n)
		for i := range list {
			list[i] = `{"query":"mutation { createPost(input: {title: \"b\"}) { id } }"}`
		}
		resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader("["+strings.Join(list, ",")+"]"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	count := func() int64 {
		n, err := s.d.Count(s.ctx, &db.Query{Collection: s.posts})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if code, _, body := post(7); code != http.StatusOK || strings.Count(body, `"id"`) != 7 {
		t.Fatalf("7 operations of 10: %d %s", code, body)
	}
	code, retry, body := post(4) // 3 units left
	if code != http.StatusTooManyRequests || retry == "" || !strings.Contains(body, "RATE_LIMITED") {
		t.Fatalf("4 operations with 3 units left: %d (Retry-After %q) %s", code, retry, body)
	}
	if n := count(); n != 7 {
		t.Fatalf("%d posts after the refused batch, want 7: nothing of it may run", n)
	}
	if code, _, body := post(2); code != http.StatusOK || strings.Count(body, `"id"`) != 2 {
		t.Fatalf("2 operations with 2 units left (the refused batch took its request's unit only): %d %s", code, body)
	}
	if code, _, _ := post(1); code != http.StatusTooManyRequests {
		t.Fatalf("one more request: %d, want 429", code)
	}
}
