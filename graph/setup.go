package graph

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/graph/model"
	"github.com/monobase/monobase/ratelimit"
)

// Setup is the first-run state shared by the admin handlers of one server
// (it outlives the reloads of a restore): the one-time token of the setup
// link that serve prints while no superuser exists, and the lock that lets
// only one createFirstSuperuser run at a time.
type Setup struct {
	mu    sync.Mutex
	token string // "" when none was issued or it was used
}

// WithSetup enables setupState's loopback check against s's token and
// createFirstSuperuser (without it createFirstSuperuser is FORBIDDEN).
func WithSetup(s *Setup) Option { return func(r *Resolver) { r.setup = s } }

// IssueToken returns a new one-time setup token (32 random bytes, hex),
// replacing any earlier one; it fails only when the system's random source
// does.
func (s *Setup) IssueToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("setup token: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = hex.EncodeToString(b)
	return s.token, nil
}

// matches reports whether tok is the issued token; call with s.mu held.
func (s *Setup) matches(tok *string) bool {
	return s.token != "" && tok != nil && subtle.ConstantTimeCompare([]byte(s.token), []byte(*tok)) == 1
}

// setupState answers the setupState query.
func (r *Resolver) setupState(ctx context.Context) (*model.SetupState, error) {
	n, err := r.countSuperusers(ctx)
	if err != nil {
		return nil, err
	}
	return &model.SetupState{NeedsSuperuser: n == 0, Loopback: directLoopback(ctx)}, nil
}

// createFirstSuperuser creates the first superuser when none exists and the
// request is a direct loopback one or carries the setup token; anything
// else is FORBIDDEN. Bad email or password are BAD_USER_INPUT. The token
// is spent once the superuser exists.
func (r *Resolver) createFirstSuperuser(ctx context.Context, email, password string, token *string) (*model.AdminAuth, error) {
	if r.setup == nil {
		return nil, apperr.New(apperr.Forbidden, "first-run setup is not available: use `monobase superuser upsert EMAIL PASSWORD`")
	}
	s := r.setup
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := r.countSuperusers(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, apperr.New(apperr.Forbidden, "a superuser exists already: sign in instead")
	}
	if !directLoopback(ctx) && !s.matches(token) {
		return nil, apperr.New(apperr.Forbidden,
			"create the first superuser from the server itself (127.0.0.1) or with the one-time link that `monobase serve` printed")
	}
	if err := r.db.CreateSuperuser(ctx, email, password); err != nil {
		return nil, fmt.Errorf("create first superuser: %w", err)
	}
	s.token = ""
	c, err := r.db.Collection(db.SuperusersCollection)
	if err != nil {
		return nil, fmt.Errorf("load superusers collection: %w", err)
	}
	rec, err := r.db.FindAuthRecord(ctx, c, email)
	if err != nil {
		return nil, fmt.Errorf("find the new superuser: %w", err)
	}
	tok, err := r.auth.IssueToken(c, rec)
	if err != nil {
		return nil, fmt.Errorf("issue superuser token: %w", err)
	}
	email, _ = rec["email"].(string)
	return &model.AdminAuth{Token: tok, Record: &model.Superuser{
		ID: rec.ID(), Email: email, Created: recordTime(rec, "created"), Updated: recordTime(rec, "updated"),
	}}, nil
}

func (r *Resolver) countSuperusers(ctx context.Context) (int64, error) {
	c, err := r.db.Collection(db.SuperusersCollection)
	if err != nil {
		return 0, fmt.Errorf("load superusers collection: %w", err)
	}
	n, err := r.db.Count(ctx, &db.Query{Collection: c})
	if err != nil {
		return 0, fmt.Errorf("count superusers: %w", err)
	}
	return n, nil
}

type loopbackKey struct{}

// directLoopback reports whether the request in ctx came from the loopback
// interface with no proxy in between (withLoopback).
func directLoopback(ctx context.Context) bool {
	v, _ := ctx.Value(loopbackKey{}).(bool)
	return v
}

// forwardHeaders are the headers by which a proxy names the client it
// forwards. A request that carries any of them came through a proxy, even
// one on the same machine, so its loopback peer says nothing about who sent it.
var forwardHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip", "X-Client-Ip",
	"Cf-Connecting-Ip", "True-Client-Ip", "Fly-Client-Ip", "Fastly-Client-Ip", "X-Forwarded-Host"}

// withLoopback marks in the context the requests whose TCP peer is a
// loopback address and that carry no proxy header (neither a usual one
// nor one settings.trustedProxy names).
func withLoopback(proxy *ratelimit.Proxy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isDirectLoopback(r, proxy) {
			r = r.WithContext(context.WithValue(r.Context(), loopbackKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

func isDirectLoopback(r *http.Request, proxy *ratelimit.Proxy) bool {
	peer := ratelimit.PeerAddr(r.Context())
	if peer == "" {
		peer, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	ip := net.ParseIP(strings.Trim(peer, "[]"))
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, h := range forwardHeaders {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	if proxy != nil {
		for _, h := range proxy.Settings().Headers {
			if r.Header.Get(h) != "" {
				return false
			}
		}
	}
	return true
}
