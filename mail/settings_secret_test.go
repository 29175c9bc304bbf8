package mail_test

import (
	"context"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/secrets"
)

func TestSMTPPasswordEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const key, password = "0123456789abcdef0123456789abcdef", "smtp-pass-4321"
	open := func(key string) (*db.DB, error) {
		b, err := secrets.New(key)
		if err != nil {
			t.Fatal(err)
		}
		return dbtest.Open(t, ctx, dir, db.WithSecrets(b))
	}
	d, err := open(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := mail.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	s.SMTP.Password = password
	if err := mail.Save(ctx, d, s); err != nil {
		t.Fatal(err)
	}
	raw, _, err := d.Param(ctx, "settings.smtp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), password) || !strings.Contains(string(raw), secrets.Prefix) {
		t.Fatalf("_params settings.smtp holds the password in the clear, or not sealed: %s", raw)
	}
	got, err := mail.Load(ctx, d)
	if err != nil || got.SMTP.Password != password {
		t.Fatalf("Load = %q, %v; want the password back", got.SMTP.Password, err)
	}
	_ = d.Close()

	d, err = open("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err = mail.Load(ctx, d)
	if !errors.Is(err, secrets.ErrNoKey) || got.SMTP.Password != "" {
		t.Fatalf("Load without the key = %q, %v; want ErrNoKey and no password", got.SMTP.Password, err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatal("the error quotes the password")
	}
}
