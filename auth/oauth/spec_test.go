package oauth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-pkgz/auth/v2/logger"

	"github.com/monobase/monobase/db"
)

// providerSite answers a named provider's token and user info endpoints in
// process: go-pkgz/auth's handlers call the real hosts through
// http.DefaultTransport, which the test replaces with it.
type providerSite struct {
	tokenURL, infoURL string
	userInfo          string
}

func (s providerSite) RoundTrip(r *http.Request) (*http.Response, error) {
	u := r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
	body, status := `{"error":"not found"}`, http.StatusNotFound
	switch {
	case u == strings.SplitN(s.tokenURL, "?", 2)[0] && r.Method == http.MethodPost:
		body, status = `{"access_token":"at-1","token_type":"Bearer","expires_in":3600}`, http.StatusOK
	case u == strings.SplitN(s.infoURL, "?", 2)[0] && r.Header.Get("Authorization") == "Bearer at-1":
		body, status = s.userInfo, http.StatusOK
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewBufferString(body)), Request: r}, nil
}

// TestSpecsMatchGoPkgz runs each named provider's go-pkgz/auth redirect
// handlers (login, then callback) over a user info document and checks
// that Monobase's own mapping of the same document, used by the code
// exchange, gives the same account id, so both flows link the same
// account.
func TestSpecsMatchGoPkgz(t *testing.T) {
	docs := map[string]string{
		"google":    `{"sub":"109876543210","name":"Gina","picture":"https://x/g.png","email":"gina@example.com","email_verified":true}`,
		"github":    `{"id":5832310,"login":"octo","name":"Octo Cat","avatar_url":"https://x/o.png","email":"octo@example.com"}`,
		"facebook":  `{"id":"10158","name":"Fay","picture":{"data":{"url":"https://x/f.png"}}}`,
		"microsoft": `{"id":"ms-1","displayName":"Mia","mail":"mia@example.com","userPrincipalName":"mia@corp"}`,
		"discord":   `{"id":"80351110224678912","username":"disco","avatar":"a1","email":"disco@example.com","verified":true}`,
		"yandex":    `{"id":"1000034426","login":"yan","display_name":"Yan","default_email":"yan@example.com"}`,
		"patreon":   `{"data":{"id":"4471","attributes":{"full_name":"Pat","image_url":"https://x/p.png","email":"pat@example.com","is_email_verified":true}}}`,
		"battlenet": `{"id":123456789,"battletag":"Bat#1234"}`,
	}
	saved := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = saved })
	h := NewHandler(HandlerConfig{Key: []byte("test key, 32 bytes long, really")})
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			s := named[name]
			if s == nil || s.pkgz == nil {
				t.Fatalf("%s is not a go-pkgz/auth provider in the table", name)
			}
			http.DefaultTransport = providerSite{tokenURL: s.endpoint.TokenURL, infoURL: s.userInfoURL, userInfo: doc}
			c := &db.Collection{ID: "c1", Name: "users", Type: db.TypeAuth, Auth: &db.AuthOptions{OAuth2: &db.OAuth2Options{
				Enabled: true, Providers: []*db.OAuth2Provider{{Name: name, ClientID: "id", ClientSecret: "secret"}}}}}
			p, err := NewProviders(nil).Lookup(c, name)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := p.handler("http://127.0.0.1:8090", bridge{h.plain}, logger.NoOp)
			if err != nil {
				t.Fatal(err)
			}
			login := httptest.NewRecorder()
			pk.LoginHandler(login, httptest.NewRequest(http.MethodGet, "/auth/users/"+name+"/login?from=http://127.0.0.1:8090/&aud=users", nil))
			loc, err := url.Parse(login.Header().Get("Location"))
			if login.Code != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), s.endpoint.AuthURL) {
				t.Fatalf("login: %d to %q", login.Code, login.Header().Get("Location"))
			}
			if got := loc.Query().Get("redirect_uri"); got != "http://127.0.0.1:8090/auth/users/"+name+"/callback" {
				t.Fatalf("redirect_uri %q", got)
			}
			cb := httptest.NewRequest(http.MethodGet, "/auth/users/"+name+"/callback?code=c0de&state="+url.QueryEscape(loc.Query().Get("state")), nil)
			for _, ck := range login.Result().Cookies() {
				cb.AddCookie(ck)
			}
			cw := &capture{header: http.Header{}}
			pk.AuthHandler(cw, cb)
			if cw.user == nil {
				t.Fatalf("go-pkgz/auth signed nobody in: %d %s", cw.status, cw.body.String())
			}
			in, err := decodeInfo([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			direct := s.toUser(name, in)
			viaPkgz := s.fromToken(name, cw.user)
			if direct.ID == "" || direct.ID != viaPkgz.ID {
				t.Fatalf("account id: code exchange %q, go-pkgz/auth %q", direct.ID, viaPkgz.ID)
			}
			if direct.Email != viaPkgz.Email && !strings.Contains(s.keys.email, ".") {
				t.Fatalf("email: code exchange %q, go-pkgz/auth %q", direct.Email, viaPkgz.Email)
			}
			if direct.EmailVerified != viaPkgz.EmailVerified && viaPkgz.Email != "" {
				t.Fatalf("email verified: code exchange %v, go-pkgz/auth %v", direct.EmailVerified, viaPkgz.EmailVerified)
			}
			raw, _ := json.Marshal(cw.user)
			t.Logf("go-pkgz/auth user %s", raw)
		})
	}
}
