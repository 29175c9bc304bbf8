package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/cors"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

// corsPaths are the paths whose answers carry CORS headers and whose
// preflights are answered (cors.Policy.Handler): the GraphQL endpoints
// (the admin API too), files, the OAuth2 redirects and backup downloads.
var corsPaths = []string{"/graphql", "/files/", "/auth/", "/backups/"}

// checkOrigins returns a usage error, after printing each invalid entry,
// when --origins (or MONOBASE_ORIGINS) lists something that is not an
// origin.
func (c *ServeCommand) checkOrigins() error {
	if c.Origins == nil {
		return nil
	}
	e := apperr.As(cors.Settings{AllowedOrigins: c.Origins}.Validate())
	if e == nil {
		return nil
	}
	for _, field := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(c.Stderr, "monobase serve: --origins: %s: %s\n", field, e.Fields[field].Message)
	}
	return fmt.Errorf("--origins: %w", errUsage)
}

// corsAndProxy returns the CORS policy and the trusted proxy of d's
// settings. The CORS origins are c.Origins when set, else the saved ones,
// else every origin in --dev and none otherwise. Saved settings that are
// not valid (edited by hand) are logged and the defaults apply.
func (c *ServeCommand) corsAndProxy(ctx context.Context, d *db.DB) (*cors.Policy, *ratelimit.Proxy, error) {
	var origins *cors.Policy
	if c.Origins != nil {
		origins = cors.NewPolicy(cors.Settings{AllowedOrigins: c.Origins}, true)
	} else {
		s, err := cors.Load(ctx, d, cors.DefaultSettings(c.Dev))
		if errors.Is(err, cors.ErrInvalidStored) {
			c.logger().Error("the default CORS origins apply until settings.cors is saved again", "err", err)
			err = nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("load the CORS settings: %w", err)
		}
		origins = cors.NewPolicy(s, false)
	}
	ps, err := ratelimit.LoadProxy(ctx, d)
	if errors.Is(err, ratelimit.ErrInvalidProxyStored) {
		c.logger().Error("no proxy header is trusted until settings.trustedProxy is saved again", "err", err)
		err = nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load the trusted proxy settings: %w", err)
	}
	return origins, ratelimit.NewProxy(ps), nil
}

// socketClientIP is the client address whose open WebSockets the per-IP
// cap counts: ratelimit.ClientIP's (a trusted proxy's header considered),
// else the peer's.
func socketClientIP(r *http.Request) string {
	if ip, ok := ratelimit.ClientIP(r.Context()); ok {
		return ip
	}
	return r.RemoteAddr
}
