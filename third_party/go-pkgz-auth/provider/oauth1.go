package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/go-pkgz/rest"
	"github.com/golang-jwt/jwt/v5"

	"github.com/go-pkgz/auth/v2/logger"
	"github.com/go-pkgz/auth/v2/token"
)

// Oauth1Handler implements /login, /callback and /logout handlers for oauth1 flow
type Oauth1Handler struct {
	Params
	name    string
	infoURL string
	conf    oauth1.Config
	mapUser func(UserData, []byte) token.User // map info from InfoURL to User
}

// Name returns provider name
func (h Oauth1Handler) Name() string { return h.name }

// LoginHandler - GET /login?from=redirect-back-url&site=siteID&session=1
func (h Oauth1Handler) LoginHandler(w http.ResponseWriter, r *http.Request) {
	h.Logf("[DEBUG] login with %s", h.Name())

	// setting RedirectURL to {rootURL}/{routingPath}/{provider}/callback
	// e.g. http://localhost:8080/auth/twitter/callback
	h.conf.CallbackURL = h.makeRedirURL(r.URL.Path)

	requestToken, requestSecret, err := h.conf.RequestToken()
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to get request token")
		return
	}

	// use requestSecret as a state in oauth2
	cid, err := randToken()
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to make claim's id")
		return
	}

	claims := token.Claims{
		Handshake: &token.Handshake{
			State: requestSecret,
			From:  r.URL.Query().Get("from"),
		},
		SessionOnly: sessionOnlyFromRequest(r),
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        cid,
			Audience:  []string{r.URL.Query().Get("site")},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(30 * time.Minute)),
			NotBefore: jwt.NewNumericDate(time.Now().Add(-1 * time.Minute)),
		},
		AuthProvider: &token.AuthProvider{
			Name: h.name,
		},
	}

	if _, err = h.JwtService.Set(w, claims); err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to set token")
		return
	}

	authURL, err := h.conf.AuthorizationURL(requestToken)
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to obtain oauth1 URL")
		return
	}

	http.Redirect(w, r, authURL.String(), http.StatusFound)
}

// AuthHandler fills user info and redirects to "from" url. This is callback url redirected locally by browser
// GET /callback
func (h Oauth1Handler) AuthHandler(w http.ResponseWriter, r *http.Request) {
	oauthClaims, _, err := h.JwtService.Get(r)
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to get token")
		return
	}

	requestToken, verifier, err := oauth1.ParseAuthorizationCallback(r)
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to parse response from oauth1 server")
		return
	}

	accessToken, accessSecret, err := h.conf.AccessToken(requestToken, oauthClaims.Handshake.State, verifier)
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to get accessToken and accessSecret")
		return
	}

	tok := oauth1.NewToken(accessToken, accessSecret)
	client := h.conf.Client(context.Background(), tok)

	uinfo, err := client.Get(h.infoURL)
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusServiceUnavailable, err, "failed to get client info")
		return
	}

	defer func() {
		if e := uinfo.Body.Close(); e != nil {
			h.Logf("[WARN] failed to close response body, %s", e)
		}
	}()

	// an error body carries no identity fields, mapping it would hash empty values into a shared id
	if uinfo.StatusCode < http.StatusOK || uinfo.StatusCode >= http.StatusMultipleChoices {
		rest.SendErrorJSON(w, r, h.L, http.StatusServiceUnavailable,
			fmt.Errorf("status %s", uinfo.Status), "failed to get user info")
		return
	}

	data, err := io.ReadAll(uinfo.Body)
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to read user info")
		return
	}

	jData := map[string]any{}
	if e := json.Unmarshal(data, &jData); e != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to unmarshal user info")
		return
	}
	h.Logf("[DEBUG] got raw user info %s", userDataLogSummary(jData))
	u := h.mapUser(jData, data)
	u, err = setAvatar(h.AvatarSaver, u, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to save avatar to proxy")
		return
	}

	cid, err := randToken()
	if err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to make claim's id")
		return
	}
	claims := token.Claims{
		User: &u,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:   h.Issuer,
			ID:       cid,
			Audience: oauthClaims.Audience,
		},
		SessionOnly: oauthClaims.SessionOnly,
		AuthProvider: &token.AuthProvider{
			Name: h.name,
		},
	}

	if _, err = h.JwtService.Set(w, claims); err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusInternalServerError, err, "failed to set token")
		return
	}

	h.Logf("[DEBUG] user info %s", userLogSummary(u))

	// redirect to back url if presented in login query params
	if oauthClaims.Handshake != nil && oauthClaims.Handshake.From != "" {
		if !isAllowedRedirect(oauthClaims.Handshake.From, h.URL, h.AllowedRedirectHosts) {
			h.Logf("[WARN] rejected redirect to disallowed host: %s", redirectHostForLog(oauthClaims.Handshake.From))
			rest.RenderJSON(w, &u)
			return
		}
		// see-other keeps the redirect a GET whatever method the callback arrived with
		http.Redirect(w, r, oauthClaims.Handshake.From, http.StatusSeeOther)
		return
	}
	rest.RenderJSON(w, &u)
}

// LogoutHandler - GET /logout
func (h Oauth1Handler) LogoutHandler(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.JwtService.Get(r); err != nil {
		rest.SendErrorJSON(w, r, h.L, http.StatusForbidden, err, "logout not allowed")
		return
	}
	h.JwtService.Reset(w)
}

func (h Oauth1Handler) makeRedirURL(path string) string {
	elems := strings.Split(path, "/")
	newPath := strings.Join(elems[:len(elems)-1], "/")

	return strings.TrimSuffix(h.URL, "/") + strings.TrimSuffix(newPath, "/") + urlCallbackSuffix
}

// initOauth1Handler makes oauth1 handler for given provider
func initOauth1Handler(p Params, service Oauth1Handler) Oauth1Handler {
	if p.L == nil {
		p.L = logger.NoOp
	}
	p.Logf("[INFO] init oauth1 service %s", service.name)
	service.Params = p
	service.conf.ConsumerKey = p.Cid
	service.conf.ConsumerSecret = p.Csecret

	p.Logf("[DEBUG] created %s oauth1, id=%s, redir=%s, endpoint=%s",
		service.name, service.Cid, service.makeRedirURL("/{route}/"+service.name+"/"), service.conf.Endpoint)
	return service
}
