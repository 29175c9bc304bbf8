package backup

import (
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
)

// Prefix is the path under which Handler serves the backups.
const Prefix = "/backups/"

// TokenChecker validates a file token (auth.Service implements it): ctx
// carrying the token's viewer, or an UNAUTHENTICATED error.
type TokenChecker interface {
	AuthenticateFileToken(ctx context.Context, token string) (context.Context, error)
}

// Handler serves GET and HEAD /backups/{name}?token=<file token> as a zip
// attachment (with ranges). Only a superuser's file token opens it: no
// token or an invalid one is 401, another viewer's is 403, and an unknown
// or invalid name is 404 (checked after the token, so it reveals nothing).
func Handler(s *Service, tokens TokenChecker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, r, apperr.New(apperr.Invalid, "method not allowed"), http.StatusMethodNotAllowed)
			return
		}
		token := r.URL.Query().Get("token")
		if token == "" {
			writeError(w, r, apperr.New(apperr.Unauthenticated, "a superuser's file token (?token=) is required"), 0)
			return
		}
		ctx, err := tokens.AuthenticateFileToken(r.Context(), token)
		if err != nil {
			writeError(w, r, err, 0)
			return
		}
		if !auth.IsSuperuser(ctx) {
			writeError(w, r, apperr.New(apperr.Forbidden, "backups are for superusers only"), 0)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		f, info, err := s.Open(r.Context(), name)
		if err != nil {
			writeError(w, r, err, 0)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": info.Name}))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", info.Modified, f)
	})
}

// writeError answers with a GraphQL-shaped error body; status 0 takes the
// code's. Internal errors are logged and shown only as "internal server
// error".
func writeError(w http.ResponseWriter, r *http.Request, err error, status int) {
	e := apperr.As(err)
	if e == nil {
		e = apperr.Wrap(err, "internal server error")
	}
	if e.Code == apperr.Internal {
		slog.ErrorContext(r.Context(), "backup download", "path", r.URL.Path, "err", e.Error())
	}
	if status == 0 {
		status = apperr.HTTPStatus(e.Code)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"message": e.Message, "extensions": map[string]any{"code": string(e.Code)}}}})
}
