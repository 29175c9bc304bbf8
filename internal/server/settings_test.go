package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/internal/testdb"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/ratelimit"
	"github.com/monobase/monobase/secrets"
)

const limitsQuery = `{ settings { limits { maxDepth maxComplexity maxLimit maxBodySize introspection } } }`

// setLimits saves settings.limits through the admin API.
func setLimits(t *testing.T, base, token string, limits map[string]any) {
	t.Helper()
	mustGQL(t, base+"/graphql/admin", token, `mutation($l: LimitSettingsInput!) { updateSettings(input: {limits: $l}) { limits { maxDepth } } }`,
		map[string]any{"l": limits})
}

// postBody posts a JSON query padded to about n bytes and returns the status.
func postBody(t *testing.T, url string, n int) int {
	t.Helper()
	body := `{"query":"{ __typename }` + strings.Repeat(" ", n) + `"}`
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// Every limit applies to the next request, survives a restart, and a bad
// value is refused field by field with nothing changed.
func TestSettingsLimitsApplyAtOnce(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")
	mustGQL(t, base+"/graphql/admin", token, `mutation { createCollection(input: {name: "posts", listRule: "", viewRule: "", createRule: "",
		fields: [{name: "title", type: TEXT}]}) { id } }`, nil)
	app := base + "/graphql"
	const depth4 = `{ postsConnection { edges { node { id } } } }`

	data := mustGQL(t, base+"/graphql/admin", token, limitsQuery, nil)
	got, _ := json.Marshal(data["settings"])
	if string(got) != `{"limits":{"introspection":true,"maxBodySize":33554432,"maxComplexity":5000,"maxDepth":12,"maxLimit":1000}}` {
		t.Fatalf("default limits: %s", got)
	}
	mustGQL(t, app, "", depth4, nil)

	t.Run("maxDepth", func(t *testing.T) {
		setLimits(t, base, token, map[string]any{"maxDepth": 3})
		if r := gql(t, app, "", depth4, nil); r.errCode() != "DEPTH_LIMIT_EXCEEDED" {
			t.Fatalf("a depth-4 query after maxDepth 3: %+v", r.Errors)
		}
		mustGQL(t, app, "", `{ postsConnection { edges { cursor } } }`, nil)
	})
	t.Run("maxLimit", func(t *testing.T) {
		setLimits(t, base, token, map[string]any{"maxLimit": 5})
		if r := gql(t, app, "", `{ posts(limit: 6) { id } }`, nil); r.errCode() != "BAD_USER_INPUT" {
			t.Fatalf("limit 6 after maxLimit 5: %+v", r.Errors)
		}
		mustGQL(t, app, "", `{ posts(limit: 5) { id } }`, nil)
	})
	t.Run("maxBodySize", func(t *testing.T) {
		if status := postBody(t, app, 4096); status != http.StatusOK {
			t.Fatalf("a 4 KiB body: %d", status)
		}
		setLimits(t, base, token, map[string]any{"maxBodySize": 2048})
		if status := postBody(t, app, 4096); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 4 KiB body after maxBodySize 2048: %d, want 413", status)
		}
		// The admin API keeps its own limit: a superuser can always undo.
		if status := postBody(t, base+"/graphql/admin", 4096); status == http.StatusRequestEntityTooLarge {
			t.Fatal("maxBodySize limits the admin API")
		}
	})
	t.Run("introspection off", func(t *testing.T) {
		setLimits(t, base, token, map[string]any{"introspection": false})
		r := gql(t, app, "", `{ __schema { queryType { name } } }`, nil)
		if r.errCode() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "introspection is off for anonymous callers") {
			t.Fatalf("anonymous introspection: %+v", r.Errors)
		}
		mustGQL(t, app, token, `{ __schema { queryType { name } } }`, nil)
		_, userToken := signUp(t, base, "ann@example.com")
		mustGQL(t, app, userToken, `{ __type(name: "Post") { name } }`, nil)
	})
	t.Run("bad values are refused field by field and change nothing", func(t *testing.T) {
		before := mustGQL(t, base+"/graphql/admin", token, limitsQuery, nil)
		r := gql(t, base+"/graphql/admin", token, `mutation { updateSettings(input: {
			smtp: {port: 2525},
			limits: {maxDepth: -1, maxComplexity: 0, maxLimit: 1000000, maxBodySize: 10},
			backups: {cron: "every night", maxKeep: 0, s3: {enabled: true, endpoint: "s3.example.com"}},
			s3: {endpoint: "ftp://x", bucket: "A"}}) { limits { maxDepth } } }`, nil)
		if r.errCode() != "BAD_USER_INPUT" {
			t.Fatalf("got %+v", r.Errors)
		}
		fields, _ := r.Errors[0].Extensions["fields"].(map[string]any)
		for _, f := range []string{"limits.maxDepth", "limits.maxComplexity", "limits.maxLimit", "limits.maxBodySize",
			"backups.cron", "backups.maxKeep", "backups.s3.endpoint", "backups.s3.bucket", "s3.endpoint", "s3.bucket"} {
			if fields[f] == nil {
				t.Errorf("no error for %s: %v", f, fields)
			}
		}
		after := mustGQL(t, base+"/graphql/admin", token, limitsQuery, nil)
		if a, b := jsonOf(t, after), jsonOf(t, before); a != b {
			t.Fatalf("a refused update changed the limits: %s, was %s", a, b)
		}
		smtp := mustGQL(t, base+"/graphql/admin", token, `{ settings { smtp { port } } }`, nil)
		if jsonOf(t, smtp) != `{"settings":{"smtp":{"port":587}}}` {
			t.Fatalf("a refused update saved smtp: %s", jsonOf(t, smtp))
		}
	})

	// A restart applies the saved limits from the start.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv2, _ := startServer(t, dir)
	if r := gql(t, srv2.URL()+"/graphql", "", depth4, nil); r.errCode() != "DEPTH_LIMIT_EXCEEDED" {
		t.Fatalf("after a restart, maxDepth 3 no longer applies: %+v", r.Errors)
	}
	if status := postBody(t, srv2.URL()+"/graphql", 4096); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("after a restart, maxBodySize 2048 no longer applies: %d", status)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	testKey       = "0123456789abcdef0123456789abcdef"
	smtpPassword  = "smtp-password-QX7"
	s3Secret      = "s3-secret-QX7"
	backupsSecret = "backups-s3-secret-QX7"
	clientSecret  = "oauth-client-secret-QX7"
)

var allSecrets = []string{smtpPassword, s3Secret, backupsSecret, clientSecret}

// storeSecrets saves one secret of each kind through the admin API.
func storeSecrets(t *testing.T, base, token string) {
	t.Helper()
	admin := base + "/graphql/admin"
	mustGQL(t, admin, token, `mutation($smtp: String!, $s3: String!, $b: String!) { updateSettings(input: {
		smtp: {enabled: true, host: "127.0.0.1", port: 1, username: "u", password: $smtp},
		s3: {enabled: true, bucket: "files-1", region: "us-east-1", endpoint: "https://s3.example.com", accessKey: "ak", secret: $s3},
		backups: {cron: "0 3 * * *", maxKeep: 5, s3: {enabled: true, bucket: "backups-1", region: "auto",
			endpoint: "http://127.0.0.1:9000", accessKey: "ak2", secret: $b, forcePathStyle: true}}}) {
		smtp { passwordSet } s3 { secretSet } backups { s3 { secretSet } } } }`,
		map[string]any{"smtp": smtpPassword, "s3": s3Secret, "b": backupsSecret})
	mustGQL(t, admin, token, `mutation($s: String!) { updateCollection(idOrName: "users", input: {name: "users", type: AUTH,
		oauth2: {enabled: true, providers: [{name: "github", clientId: "cid", clientSecret: $s}]}}) { id } }`,
		map[string]any{"s": clientSecret})
}

// folderHolds reports whether any file of dir (data.db, its WAL, ...)
// holds s, or, on a PostgreSQL test run, any stored value of its database.
func folderHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	found := testdb.Postgres() && databaseHolds(t, dir, s)
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = found || bytes.Contains(b, []byte(s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// databaseHolds reports whether any value stored in the test run's
// database of dir holds s (bytes included), read through export-data.
func databaseHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	out, err := runOn(t, dir, testdb.URL(t, dir), "export-data", "-")
	if err != nil { // the secrets are sealed: open them with the test's key
		out, err = runOnEnv(t, dir, testdb.URL(t, dir), map[string]string{secrets.EnvKey: testKey}, "export-data", "-")
	}
	if err != nil {
		t.Fatalf("export-data: %v\n%.300s", err, out)
	}
	haystack := []byte(out)
	for _, m := range regexp.MustCompile(`\{"b64":"([A-Za-z0-9+/=]*)"\}`).FindAllStringSubmatch(out, -1) {
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		haystack = append(haystack, b...)
	}
	return bytes.Contains(haystack, []byte(s))
}

// startWithKey starts a server in --dev (debug logs, the access log) whose
// logs, and slog's default logger's, go to the buffer returned.
func startWithKey(t *testing.T, dir, key string) (*ServeCommand, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Secrets, _ = secrets.New(key)
		c.Stderr = logs
		c.Dev = true
	})
	return srv, logs
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	t.Run("without a key the secrets are stored as they are", func(t *testing.T) {
		// The control for the test below: the scan finds a secret stored in
		// the clear.
		dir := t.TempDir()
		mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
		srv, _ := startServer(t, dir)
		storeSecrets(t, srv.URL(), signIn(t, srv.URL(), "admin@example.com", "admin-password"))
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		for _, s := range allSecrets {
			if !folderHolds(t, dir, s) {
				t.Fatalf("without a key %q is not in the data folder", s)
			}
		}
	})

	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, logs := startWithKey(t, dir, testKey)
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")
	storeSecrets(t, base, token)

	t.Run("no query output holds a secret", func(t *testing.T) {
		var outputs []string
		for _, q := range []string{
			`{ settings { smtp { passwordSet } s3 { enabled bucket region endpoint accessKey secretSet forcePathStyle }
				backups { cron maxKeep s3 { enabled bucket secretSet } } } }`,
			`{ collections { name oauth2 { providers { name clientId clientSecretSet } } } }`,
			`{ schemaSDL }`,
		} {
			outputs = append(outputs, jsonOf(t, mustGQL(t, base+"/graphql/admin", token, q, nil)))
		}
		if !strings.Contains(outputs[0], `"secretSet":true`) || !strings.Contains(outputs[1], `"clientSecretSet":true`) {
			t.Fatalf("the secrets are not reported as set: %s %s", outputs[0], outputs[1])
		}
		export, err := ExportCollections(srv.DB())
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(export))
		for _, r := range []*gqlResponse{
			gql(t, base+"/graphql/admin", token, `{ settings { s3 { secret } } }`, nil),
			gql(t, base+"/graphql/admin", token, `{ settings { backups { s3 { secret } } } }`, nil),
		} {
			if r.errCode() != "GRAPHQL_VALIDATION_FAILED" {
				t.Fatalf("a secret is readable: %+v %v", r.Errors, r.Data)
			}
		}
		for _, out := range outputs {
			for _, s := range allSecrets {
				if strings.Contains(out, s) {
					t.Fatalf("an output holds %q: %.300s", s, out)
				}
			}
		}
	})
	t.Run("a failed test email names the step, not the password", func(t *testing.T) {
		r := gql(t, base+"/graphql/admin", token, `mutation { testEmail(to: "a@example.com", template: VERIFICATION) }`, nil)
		if r.errCode() != "BAD_USER_INPUT" {
			t.Fatalf("testEmail to a closed port: %+v", r.Errors)
		}
		if strings.Contains(r.Errors[0].Message, smtpPassword) {
			t.Fatal("the error quotes the password")
		}
	})
	t.Run("the secrets read back in the server", func(t *testing.T) {
		s, err := mail.Load(context.Background(), srv.DB())
		if err != nil || s.SMTP.Password != smtpPassword {
			t.Fatalf("smtp password %q, %v", s.SMTP.Password, err)
		}
		users, _ := srv.DB().Collection("users")
		if got := users.Auth.OAuth2.Provider("github").ClientSecret; got != clientSecret {
			t.Fatalf("client secret %q", got)
		}
	})
	t.Run("leaving a secret out keeps it, \"\" clears it", func(t *testing.T) {
		admin := base + "/graphql/admin"
		data := mustGQL(t, admin, token, `mutation { updateSettings(input: {s3: {region: "eu-west-1"}}) { s3 { region secretSet } } }`, nil)
		if got := jsonOf(t, data); got != `{"updateSettings":{"s3":{"region":"eu-west-1","secretSet":true}}}` {
			t.Fatalf("s3 without a secret: %s", got)
		}
		// While backups.s3 is enabled its secret is required.
		r := gql(t, admin, token, `mutation { updateSettings(input: {backups: {s3: {secret: ""}}}) { backups { s3 { secretSet } } } }`, nil)
		if r.errCode() != "BAD_USER_INPUT" || r.Errors[0].Extensions["fields"].(map[string]any)["backups.s3.secret"] == nil {
			t.Fatalf("clearing the secret of an enabled target: %+v", r.Errors)
		}
		data = mustGQL(t, admin, token, `mutation { updateSettings(input: {backups: {s3: {enabled: false, secret: ""}}}) {
			backups { cron maxKeep s3 { enabled secretSet bucket } } } }`, nil)
		if got := jsonOf(t, data); got != `{"updateSettings":{"backups":{"cron":"0 3 * * *","maxKeep":5,"s3":{"bucket":"backups-1","enabled":false,"secretSet":false}}}}` {
			t.Fatalf("after clearing the backups secret: %s", got)
		}
	})

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("nothing in the data folder or the log holds a secret", func(t *testing.T) {
		if !strings.Contains(logs.String(), "path=/graphql/admin") {
			t.Fatalf("the log is not captured: %.300s", logs.String())
		}
		for _, s := range allSecrets {
			if folderHolds(t, dir, s) {
				t.Errorf("%q is in the data folder in the clear", s)
			}
			if strings.Contains(logs.String(), s) {
				t.Errorf("%q is in the log", s)
			}
		}
	})
	t.Run("the same key opens them after a restart", func(t *testing.T) {
		srv, _ := startWithKey(t, dir, testKey)
		if s, err := mail.Load(context.Background(), srv.DB()); err != nil || s.SMTP.Password != smtpPassword {
			t.Fatalf("smtp password %q, %v", s.SMTP.Password, err)
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	})
	for name, key := range map[string]string{"no key": "", "another key": strings.Repeat("k", 32)} {
		t.Run("with "+name+" the server does not start", func(t *testing.T) {
			c := NewServeCommand(io.Discard, io.Discard)
			c.Dir, c.HTTP = dir, "127.0.0.1:0"
			c.Secrets, _ = secrets.New(key)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			withTestDB(t, c)
			err := c.Run(ctx)
			if err == nil {
				_ = c.Close()
				t.Fatal("the server started")
			}
			want := secrets.ErrNoKey
			if key != "" {
				want = secrets.ErrWrongKey
			}
			if !errors.Is(err, want) || !strings.Contains(err.Error(), secrets.EnvKey) {
				t.Fatalf("error %v; want %v naming %s", err, want, secrets.EnvKey)
			}
			for _, s := range allSecrets {
				if strings.Contains(err.Error(), s) {
					t.Fatal("the error quotes a secret")
				}
			}
		})
	}
}

func TestEncryptionKeyFromTheEnvironment(t *testing.T) {
	for _, key := range []string{"short", testKey + "x"} {
		var stderr bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
			Getenv: func(name string) string {
				if name == secrets.EnvKey {
					return key
				}
				return ""
			}}
		for _, args := range [][]string{{"--dir", t.TempDir(), "serve"}, {"--dir", t.TempDir(), "superuser", "delete", "a@b.test"}} {
			err := m.Run(context.Background(), args)
			if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "exactly 32 characters") || strings.Contains(stderr.String(), key) {
				t.Fatalf("%v with a %d-character key: %v\n%s", args, len(key), err, stderr.String())
			}
		}
	}
	c := NewServeCommand(io.Discard, io.Discard)
	if err := c.ParseFlags(nil, func(name string) string {
		if name == secrets.EnvKey {
			return testKey
		}
		return ""
	}); err != nil || !c.Secrets.Encrypts() {
		t.Fatalf("a 32-character key: %v, encrypts %v", err, c.Secrets.Encrypts())
	}
}

// A backup whose secrets were sealed with another key does not restore:
// the server goes back to its own data and keeps serving.
func TestRestoreWithUnreadableSecretsGoesBack(t *testing.T) {
	dirA := t.TempDir()
	mustCLI(t, "--dir", dirA, "superuser", "upsert", "admin@example.com", "admin-password")
	a, _ := startWithKey(t, dirA, testKey)
	tokenA := signIn(t, a.URL(), "admin@example.com", "admin-password")
	storeSecrets(t, a.URL(), tokenA)
	// Backups stay local (backups.s3 off, its secret still stored): its
	// endpoint is not a real bucket.
	mustGQL(t, a.URL()+"/graphql/admin", tokenA, `mutation { updateSettings(input: {backups: {s3: {enabled: false}}}) { backups { s3 { secretSet } } } }`, nil)
	mustGQL(t, a.URL()+"/graphql/admin", tokenA, `mutation { createBackup(name: "sealed.zip") { name } }`, nil)
	zip, err := os.ReadFile(filepath.Join(dirA, "backups", "sealed.zip"))
	if err != nil {
		t.Fatal(err)
	}

	dirB := t.TempDir()
	mustCLI(t, "--dir", dirB, "superuser", "upsert", "admin@example.com", "admin-password")
	b, _ := startWithKey(t, dirB, strings.Repeat("k", 32))
	tokenB := signIn(t, b.URL(), "admin@example.com", "admin-password")
	mustGQL(t, b.URL()+"/graphql/admin", tokenB, `mutation { updateSettings(input: {meta: {appName: "Server B"}}) { meta { appName } } }`, nil)
	if err := os.MkdirAll(filepath.Join(dirB, "backups"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "backups", "sealed.zip"), zip, 0o644); err != nil {
		t.Fatal(err)
	}
	r := gql(t, b.URL()+"/graphql/admin", tokenB, `mutation { restoreBackup(name: "sealed.zip") }`, nil)
	if len(r.Errors) == 0 {
		t.Fatal("a backup with secrets of another key restored")
	}
	got := mustGQL(t, b.URL()+"/graphql/admin", tokenB, `{ settings { meta { appName } s3 { secretSet } } }`, nil)
	if jsonOf(t, got) != `{"settings":{"meta":{"appName":"Server B"},"s3":{"secretSet":false}}}` {
		t.Fatalf("after the refused restore: %s", jsonOf(t, got))
	}
}
