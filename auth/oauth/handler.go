package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-pkgz/auth/v2/logger"
	"github.com/go-pkgz/auth/v2/token"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

// Prefix is the path under which Handler serves the redirect flow.
const Prefix = "/auth/"

// handshakeCookie holds go-pkgz/auth's signed handshake (state, redirect
// target, collection) between the login and the callback.
const handshakeCookie = "monobase_oauth2"

// HandlerConfig wires the redirect flow.
type HandlerConfig struct {
	Providers *Providers
	// Collection returns the collection named name (db.DB.Collection).
	Collection func(name string) (*db.Collection, error)
	// SignIn links or creates the record of u in c and returns its token
	// (dynschema.Engine.OAuth2SignIn); its errors go back to the app.
	SignIn func(ctx context.Context, r *http.Request, c *db.Collection, u User) (string, error)
	// Origins returns the origins a redirect target may have besides the
	// server's own: settings.meta.appUrl's (and the allowed CORS origins
	// once they exist). Nil: only the server's own.
	Origins func(ctx context.Context) []string
	// Key signs the handshake cookie (auth.Service.DeriveKey).
	Key []byte
}

// Handler serves the browser redirect flow with go-pkgz/auth's handlers:
//
//	GET /auth/{collection}/{provider}/login?redirect=<url>
//	  -> the provider -> /auth/{collection}/{provider}/callback
//	  -> 302 <url>#token=<token>
//
// (go-pkgz/auth's dev server comes back to /auth/dev/callback). go-pkgz/auth
// makes the state and its signed handshake cookie, builds the provider's
// login URL, checks the state on return, exchanges the code and reads and
// maps the user info. Monobase checks the redirect target, checks the
// handshake again (go-pkgz/auth answers a missing cookie with 500), and
// replaces go-pkgz/auth's own JWT cookie with a Monobase record token: a
// TokenService bridge catches the signed-in user when go-pkgz/auth would
// set its cookie.
type Handler struct {
	cfg      HandlerConfig
	plain    *token.Service // handshake cookies over http
	secure   *token.Service // over https (Secure cookies)
	pkgzLogs logger.L
}

// NewHandler returns the redirect flow handler.
func NewHandler(cfg HandlerConfig) *Handler {
	return &Handler{cfg: cfg, plain: handshakeService(cfg.Key, false), secure: handshakeService(cfg.Key, true), pkgzLogs: pkgzLogger()}
}

// handshakeService is go-pkgz/auth's token service for the handshake
// cookie, with every option set here: token.NewService would fill the
// same defaults but also sets golang-jwt's global
// MarshalSingleStringAsArray on each call, a write that races with every
// JWT being encoded elsewhere in the process.
func handshakeService(key []byte, secure bool) *token.Service {
	k := string(key)
	return &token.Service{Opts: token.Opts{
		SecretReader:      token.SecretFunc(func(string) (string, error) { return k, nil }),
		SecureCookies:     secure,
		SameSite:          http.SameSiteLaxMode, // sent on the provider's top-level redirect back
		DisableXSRF:       true,                 // the handshake carries no user
		JWTCookieName:     handshakeCookie,
		JWTHeaderKey:      "X-Monobase-OAuth2-Handshake",
		XSRFCookieName:    handshakeCookie + "_xsrf",
		XSRFHeaderKey:     "X-Monobase-OAuth2-XSRF",
		XSRFIgnoreMethods: []string{},
		JWTQuery:          "monobase_oauth2_handshake",
		Issuer:            "monobase",
		TokenDuration:     30 * time.Minute,
		CookieDuration:    30 * time.Minute,
	}}
}

func (h *Handler) tokens(r *http.Request) *token.Service {
	if isHTTPS(r) {
		return h.secure
	}
	return h.plain
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, Prefix), "/"), "/")
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	case len(parts) == 2 && parts[0] == DevName && parts[1] == "callback":
		h.callback(w, r, "", DevName)
	case len(parts) == 3 && parts[2] == "login":
		h.login(w, r, parts[0], parts[1])
	case len(parts) == 3 && parts[2] == "callback":
		h.callback(w, r, parts[0], parts[1])
	default:
		writeError(w, http.StatusNotFound, "not found: the OAuth2 paths are /auth/{collection}/{provider}/login and /callback")
	}
}

// resolve returns the auth collection and its provider.
func (h *Handler) resolve(collection, name string) (*db.Collection, *Provider, error) {
	c, err := h.cfg.Collection(collection)
	if err != nil || c == nil || !c.IsAuth() || c.Name == db.SuperusersCollection {
		return nil, nil, apperr.New(apperr.NotFound, "no auth collection %q", collection)
	}
	p, err := h.cfg.Providers.Lookup(c, name)
	if err != nil {
		return nil, nil, err
	}
	return c, p, nil
}

// allowed reports whether target may receive the token (AllowedRedirect
// over the server's origin and cfg.Origins).
func (h *Handler) allowed(r *http.Request, target string) bool {
	origins := []string{baseURL(r)}
	if h.cfg.Origins != nil {
		origins = append(origins, h.cfg.Origins(r.Context())...)
	}
	return AllowedRedirect(target, origins)
}

// login checks the redirect target and hands over to go-pkgz/auth's
// LoginHandler, which sets the handshake cookie and redirects to the
// provider.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, collection, name string) {
	c, p, err := h.resolve(collection, name)
	if err != nil {
		writeAppError(w, err)
		return
	}
	target := r.URL.Query().Get("redirect")
	if !h.allowed(r, target) {
		writeError(w, http.StatusBadRequest, "redirect must be an absolute URL on settings.meta.appUrl, an allowed CORS origin (not \"*\") or this server")
		return
	}
	pk, err := p.handler(baseURL(r), bridge{h.tokens(r)}, h.pkgzLogs)
	if err != nil {
		writeAppError(w, err)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = url.Values{"from": {target}, "aud": {c.Name}}.Encode()
	pk.LoginHandler(w, r2)
}

// callback checks the handshake, lets go-pkgz/auth finish the OAuth2 flow,
// then signs the user in and sends the browser back to the app with the
// token (or the error) in the URL fragment.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request, collection, name string) {
	ts := h.tokens(r)
	hs, err := handshake(ts, r)
	if err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	if collection == "" && hs.AuthProvider != nil && hs.AuthProvider.Name == DevName {
		collection = hs.Audience[0]
	} else if hs.Audience[0] != collection || hs.AuthProvider == nil || hs.AuthProvider.Name != name {
		writeError(w, http.StatusForbidden, "the OAuth2 sign-in in progress is for another collection or provider")
		return
	}
	c, p, err := h.resolve(collection, name)
	if err != nil {
		writeAppError(w, err)
		return
	}
	from := hs.Handshake.From
	if !h.allowed(r, from) {
		writeError(w, http.StatusBadRequest, "the redirect target is no longer allowed")
		return
	}
	ts.Reset(w) // the handshake is spent, whatever happens next
	w.Header().Del("Content-Type")
	if e := r.URL.Query().Get("error"); e != "" {
		back(w, r, from, url.Values{"error": {e}, "error_description": {r.URL.Query().Get("error_description")}})
		return
	}
	pk, err := p.handler(baseURL(r), bridge{ts}, h.pkgzLogs)
	if err != nil {
		writeAppError(w, err)
		return
	}
	cw := &capture{header: http.Header{}}
	pk.AuthHandler(cw, r)
	if cw.user == nil {
		back(w, r, from, url.Values{"error": {"provider_error"}, "error_description": {"OAuth2 provider " + p.Name + ": " + cw.message()}})
		return
	}
	u := p.spec.fromToken(p.Name, cw.user)
	if u.ID == "" {
		back(w, r, from, url.Values{"error": {"provider_error"}, "error_description": {"OAuth2 provider " + p.Name + ": the user info has no account id"}})
		return
	}
	tok, err := h.cfg.SignIn(r.Context(), r, c, u)
	if err != nil {
		e := apperr.As(err)
		if e == nil || e.Code == apperr.Internal {
			slog.ErrorContext(r.Context(), "oauth2 sign-in", "collection", c.Name, "provider", p.Name, "err", err)
			e = apperr.New(apperr.Internal, "internal server error")
		}
		vals := url.Values{"error": {string(e.Code)}, "error_description": {e.Message}}
		if e.Code == apperr.MFARequired {
			vals.Set("mfaId", e.MFAID) // the app finishes with a second method
		}
		back(w, r, from, vals)
		return
	}
	back(w, r, from, url.Values{"token": {tok}})
}

// handshake returns the handshake of the sign-in in progress, from its
// cookie only (go-pkgz/auth also reads ?token= and a header) and checked:
// signed by us, not expired, with the state the provider sent back.
func handshake(ts *token.Service, r *http.Request) (token.Claims, error) {
	ck, err := r.Cookie(handshakeCookie)
	if err != nil {
		return token.Claims{}, errors.New("no OAuth2 sign-in in progress in this browser: start again at /login")
	}
	cl, err := ts.Parse(ck.Value)
	if err != nil || cl.Handshake == nil || len(cl.Audience) != 1 {
		return token.Claims{}, errors.New("invalid OAuth2 handshake: start again at /login")
	}
	if cl.ExpiresAt == nil || time.Now().After(cl.ExpiresAt.Time) {
		return token.Claims{}, errors.New("the OAuth2 sign-in took too long: start again at /login")
	}
	if st := r.URL.Query().Get("state"); cl.Handshake.State == "" || st != cl.Handshake.State {
		return token.Claims{}, errors.New("OAuth2 state mismatch: nobody was signed in")
	}
	return cl, nil
}

// back redirects (302) to target with vals as its fragment.
func back(w http.ResponseWriter, r *http.Request, target string, vals url.Values) {
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target+"#"+vals.Encode(), http.StatusFound)
}

// isHTTPS reports whether the browser reached the server over https: TLS
// served here, or a trusted proxy's X-Forwarded-Proto.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || ratelimit.ForwardedHTTPS(r.Context())
}

// baseURL is the server's URL as the browser reaches it.
func baseURL(r *http.Request) string {
	if isHTTPS(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func writeAppError(w http.ResponseWriter, err error) {
	e := apperr.As(err)
	if e == nil {
		e = apperr.New(apperr.Internal, "internal server error")
	}
	writeError(w, apperr.HTTPStatus(e.Code), e.Message)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// bridge is the provider.TokenService given to go-pkgz/auth: the
// handshake goes through go-pkgz/auth's token.Service (a signed cookie);
// the signed-in user, which go-pkgz/auth would put in its own JWT
// cookie, is caught by the capture it is written to instead.
type bridge struct{ ts *token.Service }

func (b bridge) Parse(s string) (token.Claims, error)              { return b.ts.Parse(s) }
func (b bridge) Get(r *http.Request) (token.Claims, string, error) { return b.ts.Get(r) }
func (b bridge) Reset(w http.ResponseWriter)                       { b.ts.Reset(w) }

func (b bridge) Set(w http.ResponseWriter, cl token.Claims) (token.Claims, error) {
	if cl.User == nil {
		return b.ts.Set(w, cl)
	}
	cw, ok := w.(*capture)
	if !ok {
		return token.Claims{}, errors.New("oauth: a signed-in user outside the callback")
	}
	u := *cl.User
	cw.user = &u
	return cl, nil
}

// capture is the response writer go-pkgz/auth's AuthHandler writes to:
// it keeps the signed-in user (bridge.Set) and the answer, which the
// callback replaces with its own.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
	user   *token.User
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) WriteHeader(status int)      { c.status = status }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }

// message is go-pkgz/auth's error message ("exchange failed", ...).
func (c *capture) message() string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(c.body.Bytes(), &e) == nil && e.Error != "" {
		return e.Error
	}
	return "the sign-in failed"
}
