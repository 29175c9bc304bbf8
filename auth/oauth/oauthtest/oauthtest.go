// Package oauthtest runs a small but real OAuth2 / OpenID Connect provider
// on 127.0.0.1 for tests: an authorization endpoint that signs in the
// user the test chose (as a person at the provider's login page would),
// a token endpoint that checks the client, the code, its redirect_uri and
// the PKCE verifier (S256 or plain), and a user info endpoint that
// answers the bearer token's user. Codes work once and for a minute.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// The client the server knows.
const (
	ClientID     = "monobase-test-client"
	ClientSecret = "monobase-test-secret"
)

// Server is the provider. Its URLs: URL+"/authorize", "/token", "/userinfo".
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	users    map[string]map[string]any // login -> user info document
	current  string                    // who /authorize signs in ("" : access_denied)
	codes    map[string]*grant
	tokens   map[string]string // access token -> login
	failInfo int               // the status /userinfo answers with, 0: normal
	exchange int               // successful code exchanges
}

type grant struct {
	login, clientID, redirectURI, challenge, method string
	expires                                         time.Time
}

// New starts the server; it stops with the test.
func New(t testing.TB) *Server {
	s := &Server{users: map[string]map[string]any{}, codes: map[string]*grant{}, tokens: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AddUser adds (or replaces) an account with its user info document, e.g.
// {"sub": "1", "email": "a@example.com", "email_verified": true}.
func (s *Server) AddUser(login string, userInfo map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[login] = userInfo
}

// SignInAs makes /authorize sign in login from now on ("": the user
// denies access).
func (s *Server) SignInAs(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = login
}

// FailUserInfo makes /userinfo answer status (0: normal again).
func (s *Server) FailUserInfo(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failInfo = status
}

// Exchanges returns how many codes were exchanged for tokens.
func (s *Server) Exchanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchange
}

// Code runs the authorization the way a browser would and returns the code
// the provider sends to redirectURI (challenge: the S256 PKCE challenge,
// or ""). It fails the test when no code comes back.
func (s *Server) Code(t testing.TB, redirectURI, state, challenge string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {redirectURI}, "state": {state}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	return s.Follow(t, s.URL+"/authorize?"+q.Encode())
}

// Follow GETs an authorization URL (without following the redirect) and
// returns the code of the redirect back.
func (s *Server) Follow(t testing.TB, authURL string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %d, Location %q: no code", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" || q.Get("client_id") != ClientID || q.Get("response_type") != "code" {
		http.Error(w, "invalid authorization request", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	s.mu.Lock()
	login := s.current
	if _, ok := s.users[login]; login != "" && ok {
		code := randHex()
		method := q.Get("code_challenge_method")
		if method == "" && q.Get("code_challenge") != "" {
			method = "plain"
		}
		s.codes[code] = &grant{login: login, clientID: ClientID, redirectURI: redirect.String(),
			challenge: q.Get("code_challenge"), method: method, expires: time.Now().Add(time.Minute)}
		back.Set("code", code)
	} else {
		back.Set("error", "access_denied")
		back.Set("error_description", "the user denied access")
	}
	s.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	code := r.PostForm.Get("code")
	g := s.codes[code]
	delete(s.codes, code) // a code works once, even when the exchange fails
	switch {
	case g == nil || time.Now().After(g.expires) || g.clientID != id:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case g.redirectURI != r.PostForm.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization's")
		return
	case g.challenge != "" && !verifies(g, r.PostForm.Get("code_verifier")):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	at := randHex()
	s.tokens[at] = g.login
	s.exchange++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 3600})
}

func verifies(g *grant, verifier string) bool {
	if verifier == "" {
		return false
	}
	want := verifier
	if g.method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(g.challenge)) == 1
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failInfo != 0 {
		http.Error(w, "user info unavailable", s.failInfo)
		return
	}
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	login, ok := "", len(h) > len(prefix)
	if ok {
		login, ok = s.tokens[h[len(prefix):]]
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.users[login])
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func randHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
