package db

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/monobase/monobase/secrets"
)

const (
	testKey      = "0123456789abcdef0123456789abcdef"
	clientSecret = "oauth-client-secret-1234"
)

func box(t testing.TB, key string) *secrets.Box {
	t.Helper()
	b, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withProvider gives the users collection an OAuth2 provider with
// clientSecret.
func withProvider(t *testing.T, d *DB) {
	t.Helper()
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	in := cloneCollection(users)
	auth := *in.Auth
	auth.OAuth2 = &OAuth2Options{Enabled: true, Providers: []*OAuth2Provider{{Name: "github", ClientID: "cid", ClientSecret: clientSecret}}}
	in.Auth = &auth
	if _, err := d.UpdateCollection(context.Background(), "users", in); err != nil {
		t.Fatal(err)
	}
}

// storedUsers returns the stored definition of users, as in _collections.
func storedUsers(t *testing.T, d *DB) string {
	t.Helper()
	var data string
	if err := d.readers.DB.QueryRow(`SELECT "data" FROM "_collections" WHERE "name" = 'users'`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	return data
}

func providerSecret(t *testing.T, d *DB) string {
	t.Helper()
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	return users.Auth.OAuth2.Provider("github").ClientSecret
}

func TestClientSecretEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	d, err := openWith(t, dir, WithSecrets(box(t, testKey)))
	if err != nil {
		t.Fatal(err)
	}
	withProvider(t, d)
	raw := storedUsers(t, d)
	if strings.Contains(raw, clientSecret) || !strings.Contains(raw, `"clientSecret":"`+secrets.Prefix) {
		t.Fatalf("the stored definition holds the secret in the clear, or not sealed: %s", raw)
	}
	if got := providerSecret(t, d); got != clientSecret {
		t.Fatalf("in memory the secret is %q, want the plain one", got)
	}
	_ = d.Close()

	t.Run("reopened with the key, the secret reads back", func(t *testing.T) {
		d, err := openWith(t, dir, WithSecrets(box(t, testKey)))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := providerSecret(t, d); got != clientSecret {
			t.Fatalf("secret after reopening = %q", got)
		}
	})
	t.Run("without the key, Open fails and says why", func(t *testing.T) {
		_, err := openWith(t, dir, WithSecrets(box(t, "")))
		if !errors.Is(err, secrets.ErrNoKey) || !strings.Contains(err.Error(), "users") || !strings.Contains(err.Error(), "github") {
			t.Fatalf("Open without the key: %v; want ErrNoKey naming the collection and provider", err)
		}
	})
	t.Run("with another key, Open fails", func(t *testing.T) {
		_, err := openWith(t, dir, WithSecrets(box(t, strings.Repeat("k", 32))))
		if !errors.Is(err, secrets.ErrWrongKey) {
			t.Fatalf("Open with another key: %v; want ErrWrongKey", err)
		}
	})
}

func TestPlainClientSecretSealedOnNextSave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := openDir(t, dir) // no key: stored as it is
	withProvider(t, d)
	if raw := storedUsers(t, d); !strings.Contains(raw, clientSecret) {
		t.Fatalf("without a key the secret is stored as it is; got %s", raw)
	}
	_ = d.Close()

	d, err := openWith(t, dir, WithSecrets(box(t, testKey)))
	if err != nil {
		t.Fatalf("a plain secret must open with a key set: %v", err)
	}
	defer d.Close()
	if got := providerSecret(t, d); got != clientSecret {
		t.Fatalf("plain secret read with a key = %q", got)
	}
	users, _ := d.Collection("users")
	in := cloneCollection(users)
	in.ListRule = new("")
	if _, err := d.UpdateCollection(ctx, "users", in); err != nil {
		t.Fatal(err)
	}
	if raw := storedUsers(t, d); strings.Contains(raw, clientSecret) {
		t.Fatalf("the next save did not seal the plain secret: %s", raw)
	}
	if got := providerSecret(t, d); got != clientSecret {
		t.Fatalf("secret after the save = %q", got)
	}
}

func TestSealOpenSecretWithoutSecrets(t *testing.T) {
	d := openTest(t)
	if s, err := d.SealSecret("x"); s != "x" || err != nil {
		t.Fatalf("SealSecret without Secrets = %q, %v", s, err)
	}
	if s, err := d.OpenSecret("x"); s != "x" || err != nil {
		t.Fatalf("OpenSecret without Secrets = %q, %v", s, err)
	}
}
