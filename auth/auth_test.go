package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/monobase/monobase/internal/dbtest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// env is a fresh data dir with one users record and one superuser.
type env struct {
	dir   string
	db    *db.DB
	auth  *auth.Service
	users *db.Collection
	user  db.Record
	supc  *db.Collection
	sup   db.Record
}

const userPassword = "user-password-1"

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := dbtest.Open(t, ctx, dir)
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	a, err := auth.New(ctx, d)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e := &env{dir: dir, db: d, auth: a}
	e.users = mustCollection(t, d, "users")
	e.user = insert(t, d, e.users, db.RecordInput{
		"email": "ann@example.com", "password": userPassword, "passwordConfirm": userPassword,
	})
	if err := d.UpsertSuperuser(ctx, "root@example.com", "root-password-1"); err != nil {
		t.Fatalf("upsert superuser: %v", err)
	}
	e.supc = mustCollection(t, d, db.SuperusersCollection)
	e.sup, err = d.FindAuthRecord(ctx, e.supc, "root@example.com")
	if err != nil {
		t.Fatalf("find superuser: %v", err)
	}
	return e
}

func mustCollection(t *testing.T, d *db.DB, name string) *db.Collection {
	t.Helper()
	c, err := d.Collection(name)
	if err != nil {
		t.Fatalf("collection %s: %v", name, err)
	}
	return c
}

func insert(t *testing.T, d *db.DB, c *db.Collection, in db.RecordInput) db.Record {
	t.Helper()
	tx, err := d.Begin(context.Background())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer func() { _ = tx.Rollback() }()
	rec, err := tx.Insert(c, in)
	if err != nil {
		t.Fatalf("insert into %s: %v", c.Name, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return rec
}

func update(t *testing.T, d *db.DB, c *db.Collection, id string, set db.RecordInput) {
	t.Helper()
	tx, err := d.Begin(context.Background())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Update(c, id, db.RecordPatch{Set: set}); err != nil {
		t.Fatalf("update %s/%s: %v", c.Name, id, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func issue(t *testing.T, a *auth.Service, c *db.Collection, rec db.Record) string {
	t.Helper()
	tok, err := a.IssueToken(c, rec)
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return tok
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	userTok := issue(t, e.auth, e.users, e.user)
	supTok := issue(t, e.auth, e.supc, e.sup)

	t.Run("user token yields the user as a non-superuser viewer", func(t *testing.T) {
		got, err := e.auth.Authenticate(ctx, "Bearer "+userTok)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		v := auth.ViewerFrom(got)
		if v == nil || v.ID() != e.user.ID() || v.Superuser || v.Collection.Name != "users" {
			t.Fatalf("viewer = %+v, want users/%s non-superuser", v, e.user.ID())
		}
	})
	t.Run("superuser token yields a superuser viewer", func(t *testing.T) {
		got, err := e.auth.Authenticate(ctx, "Bearer "+supTok)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		if !auth.IsSuperuser(got) || auth.ViewerFrom(got).ID() != e.sup.ID() {
			t.Fatalf("viewer = %+v, want superuser %s", auth.ViewerFrom(got), e.sup.ID())
		}
	})
	t.Run("bare token and lower-case bearer are accepted", func(t *testing.T) {
		for _, h := range []string{userTok, "bearer " + userTok, "  Bearer   " + userTok + " "} {
			got, err := e.auth.Authenticate(ctx, h)
			if err != nil || auth.ViewerFrom(got).ID() != e.user.ID() {
				t.Fatalf("Authenticate(%.12q...) = %v, %v", h, auth.ViewerFrom(got), err)
			}
		}
	})
	t.Run("token claims are id, collectionId, type and exp", func(t *testing.T) {
		parts := strings.Split(userTok, ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatalf("decode payload: %v", err)
		}
		var cl map[string]any
		if err := json.Unmarshal(raw, &cl); err != nil {
			t.Fatalf("unmarshal payload: %v", err)
		}
		if cl["id"] != e.user.ID() || cl["collectionId"] != e.users.ID || cl["type"] != "auth" {
			t.Fatalf("claims = %v", cl)
		}
		exp, _ := cl["exp"].(float64)
		want := time.Now().Add(auth.DefaultTokenDuration).Unix()
		if d := int64(exp) - want; d < -5 || d > 5 {
			t.Fatalf("exp = %v, want about %v", exp, want)
		}
	})

	bad := []struct {
		name  string
		token string
	}{
		{"empty token", ""},
		{"bearer without token", "Bearer "},
		{"garbage", "not-a-jwt"},
		{"tampered payload", tamper(t, userTok, func(cl map[string]any) { cl["id"] = e.sup.ID() })},
		{"token moved to another collection", tamper(t, userTok, func(cl map[string]any) { cl["collectionId"] = e.supc.ID })},
		{"tampered signature", userTok[:len(userTok)-2] + flip(userTok[len(userTok)-2:])},
		{"unsigned alg none", unsigned(t, userTok)},
	}
	for _, tc := range bad {
		t.Run(tc.name+" is unauthenticated", func(t *testing.T) {
			got, err := e.auth.Authenticate(ctx, tc.token)
			if !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("err = %v, want UNAUTHENTICATED", err)
			}
			if auth.ViewerFrom(got) != nil {
				t.Fatal("a refused token must not set a viewer")
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	ctx := context.Background()

	t.Run("expired token is unauthenticated", func(t *testing.T) {
		e := newEnv(t)
		e.auth.TokenDuration = -time.Minute
		tok := issue(t, e.auth, e.users, e.user)
		if _, err := e.auth.Authenticate(ctx, tok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("err = %v, want UNAUTHENTICATED", err)
		}
	})
	t.Run("password change revokes the record's tokens", func(t *testing.T) {
		e := newEnv(t)
		tok := issue(t, e.auth, e.users, e.user)
		update(t, e.db, e.users, e.user.ID(), db.RecordInput{"password": "new-password-2", "passwordConfirm": "new-password-2"})
		if _, err := e.auth.Authenticate(ctx, tok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("err = %v, want UNAUTHENTICATED", err)
		}
	})
	t.Run("tokenKey change revokes the record's tokens", func(t *testing.T) {
		e := newEnv(t)
		tok := issue(t, e.auth, e.users, e.user)
		update(t, e.db, e.users, e.user.ID(), db.RecordInput{"tokenKey": strings.Repeat("k", 50)})
		if _, err := e.auth.Authenticate(ctx, tok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("err = %v, want UNAUTHENTICATED", err)
		}
	})
	t.Run("password change leaves other records' tokens valid", func(t *testing.T) {
		e := newEnv(t)
		supTok := issue(t, e.auth, e.supc, e.sup)
		update(t, e.db, e.users, e.user.ID(), db.RecordInput{"password": "new-password-2", "passwordConfirm": "new-password-2"})
		if _, err := e.auth.Authenticate(ctx, supTok); err != nil {
			t.Fatalf("superuser token after a user's password change: %v", err)
		}
	})
	t.Run("deleted record's token is unauthenticated", func(t *testing.T) {
		e := newEnv(t)
		tok := issue(t, e.auth, e.users, e.user)
		tx, err := e.db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Delete(e.users, e.user.ID()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.auth.Authenticate(ctx, tok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("err = %v, want UNAUTHENTICATED", err)
		}
	})
	t.Run("tokens survive a restart with the stored secret", func(t *testing.T) {
		e := newEnv(t)
		tok := issue(t, e.auth, e.users, e.user)
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		d, err := dbtest.Open(t, ctx, e.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		a, err := auth.New(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, tok); err != nil {
			t.Fatalf("token after restart: %v", err)
		}
	})
	t.Run("another data dir's secret refuses the token", func(t *testing.T) {
		e1, e2 := newEnv(t), newEnv(t)
		tok := issue(t, e1.auth, e1.users, e1.user)
		if _, err := e2.auth.Authenticate(ctx, tok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("err = %v, want UNAUTHENTICATED", err)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name     string
		rec      db.Record
		password string
		want     bool
	}{
		{"right password", e.user, userPassword, true},
		{"wrong password", e.user, "wrong-password", false},
		{"empty password", e.user, "", false},
		{"missing record", nil, userPassword, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.auth.CheckPassword(tc.rec, tc.password); got != tc.want {
				t.Fatalf("CheckPassword = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := auth.ViewerFrom(r.Context())
		if v == nil {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, v.ID())
	})))
	defer srv.Close()
	userTok := issue(t, e.auth, e.users, e.user)

	cases := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantBody   string
	}{
		{"no header is anonymous", nil, 200, "anonymous"},
		{"bearer token sets the viewer", map[string]string{"Authorization": "Bearer " + userTok}, 200, e.user.ID()},
		{"bare token sets the viewer", map[string]string{"Authorization": userTok}, 200, e.user.ID()},
		{"invalid token is 401 with a GraphQL error", map[string]string{"Authorization": "Bearer nope"}, 401,
			`{"errors":[{"message":"invalid or expired token","extensions":{"code":"UNAUTHENTICATED"}}]}`},
		{"websocket upgrade passes through unchecked", map[string]string{
			"Authorization": "Bearer nope", "Connection": "Upgrade", "Upgrade": "websocket"}, 200, "anonymous"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.wantStatus || strings.TrimSpace(string(body)) != tc.wantBody {
				t.Fatalf("got %d %s, want %d %s", res.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == 401 && res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("content-type = %q", res.Header.Get("Content-Type"))
			}
		})
	}
}

// tamper rewrites the payload of tok, keeping its signature.
func tamper(t *testing.T, tok string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	cl := map[string]any{}
	if err := json.Unmarshal(raw, &cl); err != nil {
		t.Fatal(err)
	}
	edit(cl)
	raw, _ = json.Marshal(cl)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// unsigned returns tok's payload under an "alg":"none" header, unsigned.
func unsigned(t *testing.T, tok string) string {
	t.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + strings.Split(tok, ".")[1] + "."
}

func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestFileToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fileTok, err := e.auth.IssueFileToken(e.users, e.user)
	if err != nil {
		t.Fatalf("issue file token: %v", err)
	}
	authTok, err := e.auth.IssueToken(e.users, e.user)
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	t.Run("file token authenticates a download", func(t *testing.T) {
		got, err := e.auth.AuthenticateFileToken(ctx, fileTok)
		if err != nil {
			t.Fatalf("AuthenticateFileToken: %v", err)
		}
		if v := auth.ViewerFrom(got); v.ID() != e.user.ID() {
			t.Fatalf("viewer = %q, want %q", v.ID(), e.user.ID())
		}
	})
	t.Run("file token is not a sign-in token", func(t *testing.T) {
		if _, err := e.auth.Authenticate(ctx, fileTok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("Authenticate(file token) err = %v, want UNAUTHENTICATED", err)
		}
	})
	t.Run("sign-in token is not a file token", func(t *testing.T) {
		if _, err := e.auth.AuthenticateFileToken(ctx, authTok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("AuthenticateFileToken(auth token) err = %v, want UNAUTHENTICATED", err)
		}
	})
}
