package db

import (
	"encoding/json"
	"fmt"
)

// Secrets encrypts the secrets db and the settings groups store: OAuth2
// client secrets inside the collection definitions, and the secret fields
// of the settings in _params. Package secrets implements it (AES-256-GCM
// with MONOBASE_ENCRYPTION_KEY); the wiring code passes it to Open.
type Secrets interface {
	// Seal returns what to store for a secret ("" stays "").
	Seal(plain string) (string, error)
	// Open returns the secret a stored value holds, or an error when it
	// cannot be read (encrypted with another key, or no key).
	Open(stored string) (string, error)
}

// Option configures Open.
type Option func(*DB)

// WithSecrets makes d store secrets through s: sealed on write, opened on
// read (the collections' OAuth2 client secrets at Open already). Without
// it secrets are stored and read as they are.
func WithSecrets(s Secrets) Option { return func(d *DB) { d.secrets = s } }

// SealSecret returns what to store for the secret plain (through the
// Secrets of WithSecrets; plain itself without them).
func (d *DB) SealSecret(plain string) (string, error) {
	if d.secrets == nil || plain == "" {
		return plain, nil
	}
	return d.secrets.Seal(plain)
}

// OpenSecret returns the secret that the stored value holds (through the
// Secrets of WithSecrets; the value itself without them). The error says
// why it cannot be read, never what it holds.
func (d *DB) OpenSecret(stored string) (string, error) {
	if d.secrets == nil || stored == "" {
		return stored, nil
	}
	return d.secrets.Open(stored)
}

// encodeCollection returns the stored JSON of c, its OAuth2 client secrets
// sealed.
func (d *DB) encodeCollection(c *Collection) ([]byte, error) {
	if c.Auth == nil || c.Auth.OAuth2 == nil || d.secrets == nil {
		return json.Marshal(c)
	}
	auth, err := c.Auth.mapSecrets(d.SealSecret)
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", c.Name, err)
	}
	cp := *c
	cp.Auth = auth
	return json.Marshal(&cp)
}

// openCollectionSecrets replaces the stored OAuth2 client secrets of the
// collections just decoded by the secrets they hold.
func (d *DB) openCollectionSecrets(list []*Collection) error {
	if d.secrets == nil {
		return nil
	}
	for _, c := range list {
		if c.Auth == nil || c.Auth.OAuth2 == nil {
			continue
		}
		auth, err := c.Auth.mapSecrets(d.OpenSecret)
		if err != nil {
			return fmt.Errorf("collection %s: %w", c.Name, err)
		}
		c.Auth = auth
	}
	return nil
}

// mapSecrets returns a copy of o whose providers' client secrets are
// f(secret); o is unchanged. The error names the provider.
func (o *AuthOptions) mapSecrets(f func(string) (string, error)) (*AuthOptions, error) {
	out := *o
	oa := *o.OAuth2
	oa.Providers = make([]*OAuth2Provider, len(o.OAuth2.Providers))
	for i, p := range o.OAuth2.Providers {
		if p == nil {
			continue
		}
		q := *p
		s, err := f(p.ClientSecret)
		if err != nil {
			return nil, fmt.Errorf("oauth2 provider %s: clientSecret: %w", p.Name, err)
		}
		q.ClientSecret = s
		oa.Providers[i] = &q
	}
	out.OAuth2 = &oa
	return &out, nil
}
