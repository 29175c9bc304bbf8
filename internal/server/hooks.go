package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/cors"
	"github.com/monobase/monobase/hook"
)

// This file wires the app's server hooks (ServeCommand.Hooks): Request
// runs in the middleware chain before routing, Serve once when the server
// starts (its routes go to the app's mux, which every handler tree mounts,
// so they survive a restore's rebuild), Terminate on shutdown after
// serving stopped and before the database closes. The record and auth
// hooks are the engine's (dynschema.Config.Hooks).

// hookRegistry returns the app's hooks, an empty registry when none.
func (c *ServeCommand) hookRegistry() *hook.Registry {
	if c.Hooks == nil {
		c.Hooks = &hook.Registry{}
	}
	return c.Hooks
}

// appRoutes returns the mux that holds the routes the app adds in its
// Serve hooks (made once per server: a restore's new tree mounts the
// same one).
func (c *ServeCommand) appRoutes() *http.ServeMux {
	if c.appMux == nil {
		c.appMux = http.NewServeMux()
	}
	return c.appMux
}

// withAppRoutes is the built-in mux's fallback for the paths no built-in
// route claims ("/" and "/{$}"): the app's route for the request, behind
// the CORS policy (which answers the preflights of the app's routes),
// else fallback.
func (c *ServeCommand) withAppRoutes(origins *cors.Policy, fallback http.Handler) http.Handler {
	app := c.appRoutes()
	withCORS := origins.Handler(app, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := app.Handler(r); pattern != "" || isAppPreflight(app, r) {
			withCORS.ServeHTTP(w, r)
			return
		}
		fallback.ServeHTTP(w, r)
	})
}

// isAppPreflight reports whether r is a CORS preflight for a route of app.
func isAppPreflight(app *http.ServeMux, r *http.Request) bool {
	m := r.Header.Get("Access-Control-Request-Method")
	if r.Method != http.MethodOptions || m == "" || r.Header.Get("Origin") == "" {
		return false
	}
	probe := r.Clone(r.Context())
	probe.Method = m
	_, pattern := app.Handler(probe)
	return pattern != ""
}

// requestHooks runs the Request hooks before next (the router): a handler
// may answer the request itself and not call e.Next(). With none bound it
// is a direct call of next.
func (c *ServeCommand) requestHooks(next http.Handler) http.Handler {
	h := &c.hookRegistry().Request
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Length() == 0 {
			next.ServeHTTP(w, r)
			return
		}
		routed := false
		err := h.Trigger(&hook.RequestEvent{Request: r, Response: w}, func(e *hook.RequestEvent) error {
			routed = true
			next.ServeHTTP(e.Response, e.Request)
			return nil
		})
		if err == nil {
			return
		}
		if routed {
			// The route answered already: the error can only be logged.
			slog.ErrorContext(r.Context(), "request hook failed after the route answered", "err", err)
			return
		}
		writeHookError(w, r, err)
	})
}

// writeHookError answers a request whose Request hook failed: a panic is
// a 500 naming the hook, an apperr error keeps its code's status and
// message, any other error is a 400 with its message.
func writeHookError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *hook.PanicError
	switch {
	case errors.As(err, &pe):
		slog.ErrorContext(r.Context(), "hook panicked", "hook", pe.Hook, "panic", fmt.Sprint(pe.Value))
		writeJSONErrorCode(w, http.StatusInternalServerError, apperr.Internal, "hook "+pe.Hook+" panicked")
	case apperr.As(err) != nil:
		e := apperr.As(err)
		msg := e.Message
		if e.Code == apperr.Internal {
			slog.ErrorContext(r.Context(), "request hook failed", "err", err)
			msg = "internal server error"
		}
		writeJSONErrorCode(w, apperr.HTTPStatus(e.Code), e.Code, msg)
	default:
		writeJSONErrorCode(w, http.StatusBadRequest, apperr.Invalid, err.Error())
	}
}

// writeJSONErrorCode writes {"errors":[{"message":...,"extensions":{"code":...}}]}.
func writeJSONErrorCode(w http.ResponseWriter, status int, code apperr.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"errors":[{"message":%q,"extensions":{"code":%q}}]}`+"\n", message, code)
}

// triggerServe runs the Serve hooks once the server is built, before it
// accepts its first request: their routes go to the app's mux. An error
// stops the start.
func (c *ServeCommand) triggerServe() error {
	h := &c.hookRegistry().Serve
	if h.Length() == 0 {
		return nil
	}
	if err := h.Trigger(&hook.ServeEvent{Router: c.appRoutes(), Server: c.srv}, nil); err != nil {
		return fmt.Errorf("serve hook: %w", err)
	}
	return nil
}

// triggerTerminate runs the Terminate hooks on shutdown.
func (c *ServeCommand) triggerTerminate(ctx context.Context) error {
	h := &c.hookRegistry().Terminate
	if h.Length() == 0 {
		return nil
	}
	if err := h.Trigger(&hook.TerminateEvent{Context: ctx}, nil); err != nil {
		c.logger().Error("terminate hook failed", "err", err)
		return fmt.Errorf("terminate hook: %w", err)
	}
	return nil
}
