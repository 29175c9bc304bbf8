package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/monobase/monobase/auth/oauth/oauthtest"
)

const appOrigin = "http://app.example.test"

// browser is an HTTP client with a cookie jar that follows redirects
// until one leaves for the app (appOrigin, or a path /done), which it
// returns unfollowed, as a browser would land there.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), appOrigin) || r.URL.Path == "/done" || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// fragment returns the fragment values of a redirect to the app.
func fragment(t *testing.T, res *http.Response) url.Values {
	t.Helper()
	loc := res.Header.Get("Location")
	i := strings.IndexByte(loc, '#')
	if res.StatusCode != http.StatusFound || i < 0 {
		t.Fatalf("answer %d to %q, want 302 to the app with a fragment", res.StatusCode, loc)
	}
	v, err := url.ParseQuery(loc[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// meEmail returns the email of `me` with token.
func meEmail(t *testing.T, base, token string) string {
	t.Helper()
	data := mustGQL(t, base+"/graphql", token, `{ me { email } }`, nil)
	me, _ := data["me"].(map[string]any)
	email, _ := me["email"].(string)
	return email
}

func countUsers(t *testing.T, base, admin string) float64 {
	t.Helper()
	data := mustGQL(t, base+"/graphql", admin, `{ usersAggregate { count } }`, nil)
	n, _ := data["usersAggregate"].(map[string]any)["count"].(float64)
	return n
}

// TestOAuth2RedirectFlow runs the browser redirect flow through the real
// server, go-pkgz/auth's handlers and a real provider on 127.0.0.1, with
// a cookie jar.
func TestOAuth2RedirectFlow(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base := srv.URL()
	admin := signIn(t, base, "admin@example.com", "admin-password")
	idp := oauthtest.New(t)
	const own = "id = @request.auth.id"
	mustGQL(t, base+"/graphql/admin", admin, `mutation($in: CollectionInput!) { updateCollection(idOrName: "users", input: $in) { id } }`,
		map[string]any{"in": map[string]any{"name": "users", "type": "AUTH", "createRule": "", "authRule": "",
			"listRule": own, "viewRule": own, "updateRule": own, "deleteRule": own, "oauth2": map[string]any{"enabled": true,
				"providers": []any{map[string]any{"name": "acme", "clientId": oauthtest.ClientID, "clientSecret": oauthtest.ClientSecret,
					"authUrl": idp.URL + "/authorize", "tokenUrl": idp.URL + "/token", "userInfoUrl": idp.URL + "/userinfo"}}}}})
	mustGQL(t, base+"/graphql/admin", admin, `mutation { updateSettings(input: { meta: { appUrl: "`+appOrigin+`" } }) { meta { appUrl } } }`, nil)
	idp.AddUser("ann", map[string]any{"sub": "u-ann", "email": "ann@example.com", "email_verified": true, "name": "Ann"})
	login := base + "/auth/users/acme/login?redirect=" + url.QueryEscape(appOrigin+"/signed-in?x=1")

	t.Run("login, provider, callback, back to the app with a token", func(t *testing.T) {
		idp.SignInAs("ann")
		res, body := get(t, browser(t), login)
		if v := fragment(t, res); v.Get("token") == "" {
			t.Fatalf("no token: %s %s", res.Header.Get("Location"), body)
		}
		if !strings.HasPrefix(res.Header.Get("Location"), appOrigin+"/signed-in?x=1#token=") {
			t.Fatalf("Location %q", res.Header.Get("Location"))
		}
		if got := meEmail(t, base, fragment(t, res).Get("token")); got != "ann@example.com" {
			t.Fatalf("the token signs in %q", got)
		}
		// The server's own origin is allowed too, and the second sign-in
		// reaches the same record.
		res, _ = get(t, browser(t), base+"/auth/users/acme/login?redirect="+url.QueryEscape(base+"/done"))
		if got := meEmail(t, base, fragment(t, res).Get("token")); got != "ann@example.com" || countUsers(t, base, admin) != 1 {
			t.Fatalf("second sign-in: %q, %v records", got, countUsers(t, base, admin))
		}
	})
	t.Run("a redirect target elsewhere is refused with 400", func(t *testing.T) {
		for _, target := range []string{"http://evil.example.test/cb", "/relative", "javascript:alert(1)", ""} {
			res, body := get(t, browser(t), base+"/auth/users/acme/login?redirect="+url.QueryEscape(target))
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "redirect") {
				t.Fatalf("redirect %q: %d %s", target, res.StatusCode, body)
			}
		}
	})
	t.Run("a state mismatch signs nobody in", func(t *testing.T) {
		idp.AddUser("bob", map[string]any{"sub": "u-bob", "email": "bob@example.com", "email_verified": true})
		idp.SignInAs("bob")
		before, exchanges := countUsers(t, base, admin), idp.Exchanges()
		b := browser(t)
		// Start a sign-in (the handshake cookie is set), stop at the provider.
		b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, _ := get(t, b, login)
		authURL, _ := url.Parse(res.Header.Get("Location"))
		code := idp.Code(t, authURL.Query().Get("redirect_uri"), authURL.Query().Get("state"), "")
		for name, client := range map[string]*http.Client{"another state": b, "no handshake cookie": browser(t)} {
			state := "forged-state"
			if name == "no handshake cookie" {
				state = authURL.Query().Get("state")
			}
			res, body := get(t, client, base+"/auth/users/acme/callback?code="+code+"&state="+state)
			if res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" {
				t.Fatalf("%s: %d %s", name, res.StatusCode, body)
			}
		}
		if countUsers(t, base, admin) != before || idp.Exchanges() != exchanges {
			t.Fatal("a refused callback created a record or exchanged the code")
		}
	})
	t.Run("provider errors go back to the app and create nothing", func(t *testing.T) {
		before := countUsers(t, base, admin)
		idp.SignInAs("") // the user denies access
		res, _ := get(t, browser(t), login)
		if v := fragment(t, res); v.Get("error") != "access_denied" || v.Get("token") != "" {
			t.Fatalf("denied: %v", v)
		}
		idp.SignInAs("bob")
		idp.FailUserInfo(http.StatusInternalServerError)
		res, _ = get(t, browser(t), login)
		idp.FailUserInfo(0)
		if v := fragment(t, res); v.Get("error") != "provider_error" || v.Get("token") != "" {
			t.Fatalf("user info failure: %v", v)
		}
		if countUsers(t, base, admin) != before {
			t.Fatal("a failed sign-in created a record")
		}
	})
	t.Run("a create rule that denies goes back to the app as FORBIDDEN", func(t *testing.T) {
		mustGQL(t, base+"/graphql/admin", admin, `mutation { updateCollection(idOrName: "users", input: { name: "users", type: AUTH, createRule: null, authRule: "" }) { id } }`, nil)
		before := countUsers(t, base, admin)
		idp.AddUser("cat", map[string]any{"sub": "u-cat", "email": "cat@example.com", "email_verified": true})
		idp.SignInAs("cat")
		res, _ := get(t, browser(t), login)
		if v := fragment(t, res); v.Get("error") != "FORBIDDEN" || v.Get("token") != "" || countUsers(t, base, admin) != before {
			t.Fatalf("denied create: %v", v)
		}
	})
	t.Run("with MFA the app gets an mfaId, and a password sign-in with it finishes", func(t *testing.T) {
		mustGQL(t, base+"/graphql/admin", admin, `mutation { updateCollection(idOrName: "users", input: { name: "users", type: AUTH, authRule: "", mfa: { enabled: true } }) { id } }`, nil)
		idp.SignInAs("ann")
		res, _ := get(t, browser(t), login)
		v := fragment(t, res)
		if v.Get("error") != "MFA_REQUIRED" || v.Get("mfaId") == "" || v.Get("token") != "" {
			t.Fatalf("first factor: %v", v)
		}
		ann := mustGQL(t, base+"/graphql", admin, `{ users(filter: "email = 'ann@example.com'") { id } }`, nil)["users"].([]any)[0].(map[string]any)["id"]
		mustGQL(t, base+"/graphql", admin, `mutation($id: ID!) { updateUser(id: $id, input: { password: "ann-password-1", passwordConfirm: "ann-password-1" }) { id } }`, map[string]any{"id": ann})
		const pw = `mutation($mfa: String) { userAuthWithPassword(identity: "ann@example.com", password: "ann-password-1", mfaId: $mfa) { token } }`
		if r := gql(t, base+"/graphql", "", pw, nil); r.errCode() != "MFA_REQUIRED" {
			t.Fatalf("a password alone: %+v", r.Errors)
		}
		out := mustGQL(t, base+"/graphql", "", pw, map[string]any{"mfa": v.Get("mfaId")})
		token, _ := out["userAuthWithPassword"].(map[string]any)["token"].(string)
		if meEmail(t, base, token) != "ann@example.com" {
			t.Fatalf("second factor: %v", out)
		}
	})
}

// TestOAuth2DevProvider signs in through `serve --dev`'s go-pkgz/auth dev
// provider: its login page, filled in as a person would.
func TestOAuth2DevProvider(t *testing.T) {
	dir := t.TempDir()
	out := &syncBuffer{}
	c := NewServeCommand(out, &syncBuffer{})
	c.Dir, c.HTTP, c.Dev = dir, "127.0.0.1:0", true
	withTestDB(t, c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if !strings.Contains(out.String(), `Dev OAuth2 provider "dev"`) {
		t.Fatalf("banner:\n%s", out)
	}
	b := browser(t)
	res, page := get(t, b, c.URL()+"/auth/users/dev/login?redirect="+url.QueryEscape(c.URL()+"/done"))
	form := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || form == nil || !strings.Contains(page, `name="username"`) {
		t.Fatalf("dev login page: %d\n%s", res.StatusCode, page)
	}
	action := strings.ReplaceAll(form[1], "&amp;", "&")
	devURL := res.Request.URL // the page's own URL: the dev server's
	post, err := b.PostForm(devURL.Scheme+"://"+devURL.Host+action, url.Values{"username": {"dev_ann"}})
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	token := fragment(t, post).Get("token")
	if got := meEmail(t, c.URL(), token); got != "dev_ann@example.com" {
		t.Fatalf("dev sign-in as %q", got)
	}
	var methods struct {
		Data struct {
			UserAuthMethods struct {
				OAuth2 struct {
					Enabled   bool
					Providers []struct{ Name, AuthURL string }
				}
			}
		}
	}
	r := gql(t, c.URL()+"/graphql", "", `{ userAuthMethods { oauth2 { enabled providers { name authUrl } } } }`, nil)
	raw, _ := json.Marshal(map[string]any{"data": r.Data})
	_ = json.Unmarshal(raw, &methods)
	o := methods.Data.UserAuthMethods.OAuth2
	if !o.Enabled || len(o.Providers) != 1 || o.Providers[0].Name != "dev" || !strings.HasPrefix(o.Providers[0].AuthURL, "http://127.0.0.1:") {
		t.Fatalf("auth methods in --dev: %+v", o)
	}
}

// TestOAuth2CallbackBehindTLSProxy: behind a trusted proxy that ends TLS
// (X-Forwarded-Proto: https), the provider is given an https callback and
// the handshake cookie is Secure; without trustedProxy the header is not
// believed.
func TestOAuth2CallbackBehindTLSProxy(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base := srv.URL()
	admin := signIn(t, base, "admin@example.com", "admin-password")
	idp := oauthtest.New(t)
	mustGQL(t, base+"/graphql/admin", admin, `mutation($in: CollectionInput!) { updateCollection(idOrName: "users", input: $in) { id } }`,
		map[string]any{"in": map[string]any{"name": "users", "type": "AUTH", "authRule": "", "oauth2": map[string]any{"enabled": true,
			"providers": []any{map[string]any{"name": "acme", "clientId": oauthtest.ClientID, "clientSecret": oauthtest.ClientSecret,
				"authUrl": idp.URL + "/authorize", "tokenUrl": idp.URL + "/token", "userInfoUrl": idp.URL + "/userinfo"}}}}})
	// The app is on the server's own origin, as the browser sees it.
	start := func(app string) (callback string, secure bool) {
		req, _ := http.NewRequest(http.MethodGet, base+"/auth/users/acme/login?redirect="+url.QueryEscape(app+"/done"), nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil || res.StatusCode != http.StatusFound {
			t.Fatalf("login: %d %s", res.StatusCode, body)
		}
		for _, c := range res.Cookies() {
			secure = secure || c.Secure
		}
		return loc.Query().Get("redirect_uri"), secure
	}
	if cb, secure := start(base); !strings.HasPrefix(cb, "http://") || secure {
		t.Fatalf("without trustedProxy: callback %q, Secure %v", cb, secure)
	}
	mustGQL(t, base+"/graphql/admin", admin, `mutation { updateSettings(input: { trustedProxy: { headers: ["X-Forwarded-For"] } }) { trustedProxy { headers } } }`, nil)
	if cb, secure := start(strings.Replace(base, "http://", "https://", 1)); !strings.HasPrefix(cb, "https://") || !secure {
		t.Fatalf("behind the trusted proxy: callback %q, Secure %v", cb, secure)
	}
}
