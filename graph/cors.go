package graph

import (
	"context"
	"fmt"
	"slices"

	"github.com/monobase/monobase/cors"
	"github.com/monobase/monobase/graph/model"
	"github.com/monobase/monobase/ratelimit"
)

// WithCORS makes the settings group cors the one p applies: settings
// reads it, and updateSettings changes it at once (refused while the
// command line fixes it). Without it the group is read from and saved to
// the database only (default: no origin).
func WithCORS(p *cors.Policy) Option { return func(r *Resolver) { r.cors = p } }

// WithTrustedProxy makes the settings group trustedProxy the one p
// applies, changed at once by updateSettings. Without it the group is read
// from and saved to the database only.
func WithTrustedProxy(p *ratelimit.Proxy) Option { return func(r *Resolver) { r.proxy = p } }

// corsProxy holds the groups cors and trustedProxy through one settings
// query or updateSettings.
type corsProxy struct {
	cors  cors.Settings
	fixed bool // --origins set cors
	proxy ratelimit.ProxySettings
}

// loadCorsProxy returns the groups in force, else the stored ones.
func (r *Resolver) loadCorsProxy(ctx context.Context) (corsProxy, error) {
	var g corsProxy
	var err error
	if r.cors != nil {
		g.cors, g.fixed = r.cors.Settings(), r.cors.Fixed()
	} else if g.cors, err = cors.Load(ctx, r.db, cors.DefaultSettings(false)); err != nil {
		return g, fmt.Errorf("load cors settings: %w", err)
	}
	if r.proxy != nil {
		g.proxy = r.proxy.Settings()
	} else if g.proxy, err = ratelimit.LoadProxy(ctx, r.db); err != nil {
		return g, fmt.Errorf("load trustedProxy settings: %w", err)
	}
	return g, nil
}

// apply sets what in gives, and returns the error of a change to a list
// that the command line fixes (a list equal to it is no change).
func (g *corsProxy) apply(in *model.SettingsInput) error {
	var err error
	if c := in.Cors; c != nil && c.AllowedOrigins != nil {
		next := cors.Settings{AllowedOrigins: c.AllowedOrigins}.Normalized()
		if g.fixed && !slices.Equal(next.AllowedOrigins, g.cors.AllowedOrigins) {
			err = cors.FixedError()
		}
		g.cors = next
	}
	if p := in.TrustedProxy; p != nil {
		if p.Headers != nil {
			g.proxy.Headers = p.Headers
		}
		if p.UseLeftmostIP != nil {
			g.proxy.UseLeftmostIP = *p.UseLeftmostIP
		}
	}
	return err
}

// validate returns the BAD_USER_INPUT errors of both groups.
func (g *corsProxy) validate() []error {
	return []error{g.cors.Validate(), g.proxy.Validate()}
}

// save stores the groups in gives and applies them at once.
func (r *Resolver) saveCorsProxy(ctx context.Context, g *corsProxy, in *model.SettingsInput) error {
	if in.Cors != nil && in.Cors.AllowedOrigins != nil && !g.fixed {
		if err := cors.Save(ctx, r.db, g.cors); err != nil {
			return fmt.Errorf("save settings: %w", err)
		}
		if r.cors != nil {
			if err := r.cors.Set(g.cors); err != nil {
				return fmt.Errorf("apply cors settings: %w", err)
			}
			g.cors = r.cors.Settings()
		}
	}
	if in.TrustedProxy != nil {
		if err := ratelimit.SaveProxy(ctx, r.db, g.proxy); err != nil {
			return fmt.Errorf("save settings: %w", err)
		}
		if r.proxy != nil {
			if err := r.proxy.Set(g.proxy); err != nil {
				return fmt.Errorf("apply trustedProxy settings: %w", err)
			}
			g.proxy = r.proxy.Settings()
		}
	}
	return nil
}

// out fills the admin API view of both groups into s.
func (g *corsProxy) out(s *model.Settings) {
	origins := append([]string{}, g.cors.AllowedOrigins...)
	headers := append([]string{}, g.proxy.Headers...)
	s.Cors = &model.CorsSettings{AllowedOrigins: origins, FromCommandLine: g.fixed}
	s.TrustedProxy = &model.TrustedProxySettings{Headers: headers, UseLeftmostIP: g.proxy.UseLeftmostIP}
}
