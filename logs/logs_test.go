package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/monobase/monobase/internal/dbtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// fixture is a Service on a temporary data folder behind a test server,
// with a logger whose handler feeds the service.
type fixture struct {
	svc  *Service
	srv  *httptest.Server
	log  *slog.Logger
	base *bytes.Buffer // what the base handler printed
	now  atomic.Pointer[time.Time]
}

func newFixture(t *testing.T, set Settings, cfg Config) *fixture {
	t.Helper()
	fx := &fixture{base: &bytes.Buffer{}}
	if cfg.Now == nil {
		cfg.Now = func() time.Time {
			if p := fx.now.Load(); p != nil {
				return *p
			}
			return time.Now()
		}
	}
	svc, err := Open(context.Background(), t.TempDir(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fx.svc = svc
	h := NewHandler(slog.NewTextHandler(fx.base, nil))
	h.SetService(svc)
	fx.log = slog.New(h)
	fx.srv = httptest.NewServer(svc.Middleware(http.HandlerFunc(fx.serve)))
	t.Cleanup(func() {
		fx.srv.Close()
		if err := svc.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return fx
}

// serve answers /ok 200, /boom 500 after logging an internal error with
// the request's context, anything else 404. X-User signs the request in
// as that users record; every request runs the operation "query Posts".
func (fx *fixture) serve(w http.ResponseWriter, r *http.Request) {
	if u := r.Header.Get("X-User"); u != "" {
		SetAuth(r.Context(), "users", u)
	}
	SetOperation(r.Context(), "query", "Posts")
	SetOperation(r.Context(), "mutation", "Later") // the first one stays
	switch r.URL.Path {
	case "/ok":
		_, _ = io.WriteString(w, "ok")
	case "/boom":
		fx.log.ErrorContext(r.Context(), "internal error", "path", "posts", "err", "open /var/data/x: disk on fire")
		http.Error(w, "internal server error", http.StatusInternalServerError)
	default:
		http.NotFound(w, r)
	}
}

// get sends a GET and returns the body.
func (fx *fixture) get(t *testing.T, path string, header ...string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fx.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// entries flushes the queue and returns the entries the query selects,
// their data decoded.
func (fx *fixture) entries(t *testing.T, filter string) []map[string]any {
	t.Helper()
	if err := fx.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, err := fx.svc.List(context.Background(), db.LogQuery{Filter: filter, Sort: "created"})
	if err != nil {
		t.Fatalf("List(%q): %v", filter, err)
	}
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		var data map[string]any
		if err := json.Unmarshal([]byte(e.Data), &data); err != nil {
			t.Fatalf("entry %d: data is not JSON: %v: %s", e.ID, err, e.Data)
		}
		out = append(out, map[string]any{"level": e.Level, "message": e.Message, "data": data})
	}
	return out
}

func dataOf(e map[string]any) map[string]any { return e["data"].(map[string]any) }

func TestRequestEntries(t *testing.T) {
	fx := newFixture(t, DefaultSettings(), Config{})
	fx.get(t, "/ok?token=secret-file-token&thumb=10x10")
	fx.get(t, "/missing", "X-User", "u1")
	body := fx.get(t, "/boom")

	got := fx.entries(t, "")
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3: %v", len(got), got)
	}
	t.Run("fields of a request", func(t *testing.T) {
		e := got[0]
		d := dataOf(e)
		if e["message"] != "GET /ok" || e["level"] != 0 {
			t.Errorf("message %v level %v", e["message"], e["level"])
		}
		want := map[string]any{"method": "GET", "status": 200.0, "remoteIp": "127.0.0.1", "userIp": "127.0.0.1",
			"auth": "guest", "operation": "query Posts", "url": "/ok?token=REDACTED&thumb=10x10"}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("data.%s = %v, want %v", k, d[k], v)
			}
		}
		if _, ok := d["execTime"].(float64); !ok {
			t.Errorf("data.execTime = %v, want milliseconds", d["execTime"])
		}
		if _, ok := d["error"]; ok {
			t.Errorf("data.error on a request that had none: %v", d["error"])
		}
	})
	t.Run("a 404 is WARN and a signed-in request is auth", func(t *testing.T) {
		e := got[1]
		if e["level"] != 4 || dataOf(e)["status"] != 404.0 || dataOf(e)["auth"] != "auth" {
			t.Errorf("entry %v", e)
		}
	})
	t.Run("an internal error's cause is in the entry, not in the response", func(t *testing.T) {
		e := got[2]
		errText, _ := dataOf(e)["error"].(string)
		if e["level"] != 8 || !strings.Contains(errText, "disk on fire") || !strings.Contains(errText, "internal error") {
			t.Errorf("entry %v", e)
		}
		if strings.Contains(body, "disk on fire") || !strings.Contains(body, "internal server error") {
			t.Errorf("the client got %q", body)
		}
		if !strings.Contains(fx.base.String(), "disk on fire") {
			t.Errorf("the base handler did not print the error: %s", fx.base)
		}
	})
	t.Run("filters over data", func(t *testing.T) {
		if n := len(fx.entries(t, "data.status >= 400 && level >= 4")); n != 2 {
			t.Errorf("%d entries, want 2", n)
		}
		if n := len(fx.entries(t, "data.error ~ 'disk'")); n != 1 {
			t.Errorf("%d entries, want 1", n)
		}
	})
}

func TestSettingsApply(t *testing.T) {
	fx := newFixture(t, DefaultSettings(), Config{})
	set := func(s Settings) {
		t.Helper()
		if err := fx.svc.SetSettings(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("minLevel WARN keeps only failed requests", func(t *testing.T) {
		set(Settings{MaxDays: 7, MinLevel: 4, LogIP: true})
		fx.get(t, "/ok?case=minlevel")
		fx.get(t, "/missing?case=minlevel")
		got := fx.entries(t, "data.url ~ 'case=minlevel'")
		if len(got) != 1 || dataOf(got[0])["status"] != 404.0 {
			t.Fatalf("entries %v, want the 404 only", got)
		}
	})
	t.Run("logIp off keeps no address", func(t *testing.T) {
		set(Settings{MaxDays: 7, LogIP: false})
		fx.get(t, "/ok?case=noip")
		got := fx.entries(t, "data.url ~ 'case=noip'")
		if len(got) != 1 {
			t.Fatalf("entries %v", got)
		}
		for _, k := range []string{"remoteIp", "userIp"} {
			if v, ok := dataOf(got[0])[k]; ok {
				t.Errorf("data.%s = %v with logIp off", k, v)
			}
		}
	})
	t.Run("logAuthId on keeps the record id", func(t *testing.T) {
		set(Settings{MaxDays: 7, LogAuthID: true})
		fx.get(t, "/ok?case=authid", "X-User", "u42")
		fx.get(t, "/ok?case=authid")
		got := fx.entries(t, "data.url ~ 'case=authid'")
		if len(got) != 2 || dataOf(got[0])["auth"] != "users:u42" || dataOf(got[1])["auth"] != "guest" {
			t.Fatalf("entries %v", got)
		}
	})
	t.Run("maxDays 0 writes nothing", func(t *testing.T) {
		set(Settings{MaxDays: 0, LogIP: true})
		fx.get(t, "/boom?case=off")
		fx.log.Info("a record while off")
		if got := fx.entries(t, "data.url ~ 'case=off' || message = 'a record while off'"); len(got) != 0 {
			t.Fatalf("entries %v with the logs off", got)
		}
	})
	t.Run("invalid settings are refused", func(t *testing.T) {
		err := fx.svc.SetSettings(Settings{MaxDays: -1, MinLevel: 9})
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid || e.Fields["logs.maxDays"].Code == "" || e.Fields["logs.minLevel"].Code == "" {
			t.Fatalf("err = %#v", err)
		}
		if fx.svc.Settings().MaxDays != 0 {
			t.Fatal("refused settings were applied")
		}
	})
}

func TestCleanup(t *testing.T) {
	fx := newFixture(t, DefaultSettings(), Config{})
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	for _, age := range []int{10, 8, 3, 0} {
		at := now.AddDate(0, 0, -age)
		fx.now.Store(&at)
		fx.get(t, "/ok")
	}
	fx.now.Store(&now)
	if n := len(fx.entries(t, "")); n != 4 {
		t.Fatalf("%d entries, want 4", n)
	}
	n, err := fx.svc.Cleanup(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("cleanup deleted %d, %v; want the 2 older than 7 days", n, err)
	}
	if err := fx.svc.SetSettings(Settings{MaxDays: 0}); err != nil {
		t.Fatal(err)
	}
	if n, err := fx.svc.Cleanup(context.Background()); err != nil || n != 2 {
		t.Fatalf("cleanup with maxDays 0 deleted %d, %v; want the 2 left", n, err)
	}
}

func TestCloseWritesQueued(t *testing.T) {
	dir := t.TempDir()
	svc, err := Open(context.Background(), dir, DefaultSettings(), Config{FlushEvery: time.Hour, BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	h := svc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	const n = 500
	for range n {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ok", nil))
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if full, failed := svc.Dropped(); full != 0 || failed != 0 {
		t.Fatalf("dropped %d, failed %d", full, failed)
	}
	store, err := db.OpenAux(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, err := store.Logs(context.Background(), db.LogQuery{Limit: 1000})
	if err != nil || len(list) != n {
		t.Fatalf("%d entries after Close, want %d (%v)", len(list), n, err)
	}
	t.Run("a closed service takes nothing and does not block", func(t *testing.T) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/late", nil))
		if err := svc.Flush(context.Background()); err == nil {
			t.Fatal("Flush on a closed service succeeded")
		}
	})
}

func TestFullQueueDrops(t *testing.T) {
	store, err := db.OpenAux(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var warnings bytes.Buffer
	svc := newService(store, DefaultSettings(), Config{QueueSize: 2, Log: slog.New(slog.NewTextHandler(&warnings, nil))})
	// The writer is not running yet: the queue holds 2 and the rest drop.
	for i := range 5 {
		svc.enqueue(&entry{created: time.Now(), method: "GET", uri: "/n" + string(rune('0'+i)), status: 200})
	}
	if full, _ := svc.Dropped(); full != 3 {
		t.Fatalf("dropped %d, want 3", full)
	}
	if !strings.Contains(warnings.String(), "queue is full") {
		t.Fatalf("no warning: %q", warnings.String())
	}
	go svc.run()
	if err := svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(context.Background(), db.LogQuery{Sort: "id"})
	if err != nil || len(list) != 2 || list[0].Message != "GET /n0" || list[1].Message != "GET /n1" {
		t.Fatalf("entries %+v, %v", list, err)
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerRecords(t *testing.T) {
	fx := newFixture(t, DefaultSettings(), Config{})
	fx.log.With("job", "cleanup").WithGroup("run").Info("job done", "deleted", 3, "took", time.Second)
	fx.log.Debug("below minLevel")
	got := fx.entries(t, "message ~ 'job done' || message ~ 'below'")
	if len(got) != 1 {
		t.Fatalf("entries %v", got)
	}
	d := dataOf(got[0])
	if d["job"] != "cleanup" || d["run.deleted"] != 3.0 || d["run.took"] != "1s" {
		t.Fatalf("data %v", d)
	}
	t.Run("an error without a request is an entry of its own", func(t *testing.T) {
		fx.log.ErrorContext(context.Background(), "send mail", "err", io.ErrUnexpectedEOF)
		got := fx.entries(t, "message = 'send mail' && level = 8")
		if len(got) != 1 || dataOf(got[0])["err"] != "unexpected EOF" {
			t.Fatalf("entries %v", got)
		}
	})
}

func TestListBounds(t *testing.T) {
	fx := newFixture(t, DefaultSettings(), Config{})
	for _, q := range []db.LogQuery{{Limit: MaxLimit + 1}, {Limit: -1}, {Offset: -1}} {
		_, err := fx.svc.List(context.Background(), q)
		if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || len(e.Fields) != 1 {
			t.Errorf("List(%+v) = %v, want BAD_USER_INPUT naming one argument", q, err)
		}
	}
	_, err := fx.svc.List(context.Background(), db.LogQuery{Filter: "@request.auth.id != ''"})
	if e := apperr.As(err); e == nil || e.Fields["filter"].Code != "invalid" {
		t.Errorf("filter on @request: %v", err)
	}
}

func TestSettingsStored(t *testing.T) {
	d, err := dbtest.Open(t, context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := Load(context.Background(), d)
	if err != nil || s != DefaultSettings() {
		t.Fatalf("Load of a new folder = %+v, %v", s, err)
	}
	want := Settings{MaxDays: 30, MinLevel: 4, LogIP: false, LogAuthID: true}
	if err := Save(context.Background(), d, want); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(context.Background(), d); err != nil || s != want {
		t.Fatalf("Load = %+v, %v; want %+v", s, err, want)
	}
	if err := Save(context.Background(), d, Settings{MaxDays: MaxDays + 1}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("Save of invalid settings: %v", err)
	}
	if s, _ := Load(context.Background(), d); s != want {
		t.Fatalf("a refused Save changed the settings: %+v", s)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nbreak\ttab\r\x00\x1f", "héllo ✓", "bad \xff\xfe utf8", "</script>"} {
		raw := appendString(nil, s)
		var back string
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, raw, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && strings.ReplaceAll(back, "\uFFFD\uFFFD", "\uFFFD") != want {
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}
