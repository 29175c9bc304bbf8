package files

import (
	"context"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/secrets"
)

func validS3() S3Settings {
	return S3Settings{Enabled: true, Bucket: "my-bucket", Region: "us-east-1", Endpoint: "https://s3.us-east-1.amazonaws.com",
		AccessKey: "AKIAEXAMPLE", Secret: "s3-secret-value", ForcePathStyle: true}
}

// invalidFields returns the field names of err's BAD_USER_INPUT error.
func invalidFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid {
		t.Fatalf("error %v is not BAD_USER_INPUT", err)
	}
	var names []string
	for k := range e.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func TestS3SettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*S3Settings)
		want []string
	}{
		{"valid", func(*S3Settings) {}, nil},
		{"off and empty is valid", func(s *S3Settings) { *s = S3Settings{} }, nil},
		{"MinIO on http with a port", func(s *S3Settings) { s.Endpoint = "http://127.0.0.1:9000" }, nil},
		{"enabled needs every field", func(s *S3Settings) { *s = S3Settings{Enabled: true} },
			[]string{"s3.accessKey", "s3.bucket", "s3.endpoint", "s3.region", "s3.secret"}},
		{"off still checks what is given", func(s *S3Settings) { s.Enabled = false; s.Bucket = "Bad_Bucket" }, []string{"s3.bucket"}},
		{"bucket too short", func(s *S3Settings) { s.Bucket = "ab" }, []string{"s3.bucket"}},
		{"bucket too long", func(s *S3Settings) { s.Bucket = strings.Repeat("a", 64) }, []string{"s3.bucket"}},
		{"bucket with two dots", func(s *S3Settings) { s.Bucket = "a..b" }, []string{"s3.bucket"}},
		{"region with a space", func(s *S3Settings) { s.Region = "us east" }, []string{"s3.region"}},
		{"endpoint without scheme", func(s *S3Settings) { s.Endpoint = "s3.amazonaws.com" }, []string{"s3.endpoint"}},
		{"endpoint ftp", func(s *S3Settings) { s.Endpoint = "ftp://host" }, []string{"s3.endpoint"}},
		{"endpoint without host", func(s *S3Settings) { s.Endpoint = "https://" }, []string{"s3.endpoint"}},
		{"endpoint with credentials", func(s *S3Settings) { s.Endpoint = "https://key:secret@host" }, []string{"s3.endpoint"}},
		{"endpoint with a query", func(s *S3Settings) { s.Endpoint = "https://host/?x=1" }, []string{"s3.endpoint"}},
		{"endpoint with a newline", func(s *S3Settings) { s.Endpoint = "https://host/\nx" }, []string{"s3.endpoint"}},
		{"accessKey with a newline", func(s *S3Settings) { s.AccessKey = "a\nb" }, []string{"s3.accessKey"}},
		{"secret too long", func(s *S3Settings) { s.Secret = strings.Repeat("s", 1025) }, []string{"s3.secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validS3()
			tc.edit(&s)
			if got := invalidFields(t, s.Validate()); !slices.Equal(got, tc.want) {
				t.Fatalf("invalid fields %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("an error never quotes the secret", func(t *testing.T) {
		s := validS3()
		s.Secret = "line1\nline2-secret"
		if err := s.Validate(); err == nil || strings.Contains(err.Error(), "line2-secret") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestS3SettingsStoredSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(key string) *db.DB {
		b, err := secrets.New(key)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dbtest.Open(t, ctx, dir, db.WithSecrets(b))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open("0123456789abcdef0123456789abcdef")
	if s, err := LoadS3Settings(ctx, d); err != nil || s != (S3Settings{}) {
		t.Fatalf("never saved: %+v, %v; want off", s, err)
	}
	if err := SaveS3Settings(ctx, d, S3Settings{Enabled: true}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("saving invalid settings: %v", err)
	}
	if raw, ok, _ := d.Param(ctx, s3Param); ok {
		t.Fatalf("a refused save stored %s", raw)
	}
	want := validS3()
	if err := SaveS3Settings(ctx, d, want); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := d.Param(ctx, s3Param)
	if strings.Contains(string(raw), want.Secret) || !strings.Contains(string(raw), secrets.Prefix) {
		t.Fatalf("stored in the clear: %s", raw)
	}
	if got, err := LoadS3Settings(ctx, d); err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	_ = d.Close()
	d = open("")
	defer d.Close()
	if got, err := LoadS3Settings(ctx, d); !errors.Is(err, secrets.ErrNoKey) || got.Secret != "" {
		t.Fatalf("Load without the key = %+v, %v; want ErrNoKey and no secret", got, err)
	}
}
