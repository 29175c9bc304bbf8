package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/ratelimit"
)

// Middleware authenticates the request's Authorization header ("Bearer x"
// or a bare token) and puts its viewer in the request context. A request
// without the header is anonymous. An invalid, expired or revoked token is
// answered with HTTP 401 and a GraphQL-over-HTTP error body (code
// UNAUTHENTICATED), never treated as anonymous. WebSocket upgrades pass
// through untouched: the connection_init payload carries their token.
//
// It also carries the client address for the sign-in limits and answers a
// request refused by them with 429 (ratelimit.Middleware).
func (s *Service) Middleware(next http.Handler) http.Handler {
	return ratelimit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if isWebSocketUpgrade(r) || strings.TrimSpace(header) == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, err := s.Authenticate(r.Context(), header)
		if err != nil {
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	}))
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// writeError answers with a GraphQL-shaped error body and the status of the
// error's code. Internal errors are logged (without the token) and shown
// only as "internal server error".
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.As(err)
	if e == nil {
		e = apperr.Wrap(err, "internal server error")
	}
	if e.Code == apperr.Internal {
		slog.ErrorContext(r.Context(), "authenticate request", "path", r.URL.Path, "err", e.Error())
	}
	type gqlError struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	body := struct {
		Errors []gqlError `json:"errors"`
	}{Errors: []gqlError{{Message: e.Message, Extensions: map[string]any{"code": string(e.Code)}}}}
	w.Header().Set("Content-Type", "application/json")
	if e.Code == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.WriteHeader(apperr.HTTPStatus(e.Code))
	_ = json.NewEncoder(w).Encode(body)
}
