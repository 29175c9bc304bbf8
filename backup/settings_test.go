package backup_test

import (
	"context"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/secrets"
)

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

func TestParseCron(t *testing.T) {
	for _, expr := range []string{"0 3 * * *", "*/15 * * * *", "@daily", "@every 1h", "@every 1m", " 0 3 * * * "} {
		if _, err := backup.ParseCron(expr); err != nil {
			t.Errorf("ParseCron(%q): %v", expr, err)
		}
	}
	for _, expr := range []string{"", "every day", "0 3 * *", "0 3 * * * *", "61 * * * *", "*/0 * * * *", "@every 30s", "@every -1h",
		"@hourlyish", "0 0 30 2 *", "TZ=UTC", "TZ=", "CRON_TZ=Nowhere/City 0 3 * * *", "CRON_TZ=Europe/Berlin 0 2 * * 1-5", // UTC only, as the scheduler
		strings.Repeat("1", 300)} {
		if _, err := backup.ParseCron(expr); err == nil {
			t.Errorf("ParseCron(%q) accepted it", expr)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	valid := backup.Settings{Cron: "0 3 * * *", MaxKeep: 7}
	for _, tc := range []struct {
		name string
		edit func(*backup.Settings)
		want []string
	}{
		{"valid", func(*backup.Settings) {}, nil},
		{"no schedule", func(s *backup.Settings) { s.Cron = "" }, nil},
		{"bad cron", func(s *backup.Settings) { s.Cron = "every night" }, []string{"backups.cron"}},
		{"maxKeep 0", func(s *backup.Settings) { s.MaxKeep = 0 }, []string{"backups.maxKeep"}},
		{"maxKeep negative", func(s *backup.Settings) { s.MaxKeep = -1 }, []string{"backups.maxKeep"}},
		{"maxKeep too many", func(s *backup.Settings) { s.MaxKeep = backup.MaxKeepLimit + 1 }, []string{"backups.maxKeep"}},
		{"s3 enabled without fields", func(s *backup.Settings) { s.S3 = files.S3Settings{Enabled: true, Bucket: "ok-bucket"} },
			[]string{"backups.s3.accessKey", "backups.s3.endpoint", "backups.s3.region", "backups.s3.secret"}},
		{"everything wrong", func(s *backup.Settings) {
			*s = backup.Settings{Cron: "x", MaxKeep: -5, S3: files.S3Settings{Endpoint: "nope"}}
		}, []string{"backups.cron", "backups.maxKeep", "backups.s3.endpoint"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid
			tc.edit(&s)
			if got := invalidFields(t, s.Validate()); !slices.Equal(got, tc.want) {
				t.Fatalf("invalid fields %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSettingsLoadSave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := secrets.New("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dbtest.Open(t, ctx, dir, db.WithSecrets(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := backup.LoadSettings(ctx, d)
	if err != nil || got != backup.DefaultSettings() || got.MaxKeep != 3 || got.Cron != "" {
		t.Fatalf("never saved: %+v, %v; want the defaults (no schedule, 3 kept)", got, err)
	}
	want := backup.Settings{Cron: "@daily", MaxKeep: 5, S3: files.S3Settings{Enabled: true, Bucket: "backups-1", Region: "auto",
		Endpoint: "https://example.r2.cloudflarestorage.com", AccessKey: "ak", Secret: "backup-s3-secret"}}
	if err := backup.SaveSettings(ctx, d, want); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := d.Param(ctx, "settings.backups")
	if strings.Contains(string(raw), "backup-s3-secret") {
		t.Fatalf("stored in the clear: %s", raw)
	}
	if got, err := backup.LoadSettings(ctx, d); err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if err := backup.SaveSettings(ctx, d, backup.Settings{Cron: "bad", MaxKeep: 1}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("invalid save: %v", err)
	}
	if got, _ := backup.LoadSettings(ctx, d); got != want {
		t.Fatalf("a refused save changed the stored group: %+v", got)
	}
	other, _ := secrets.New(strings.Repeat("z", 32))
	_ = d.Close()
	d2, err := dbtest.Open(t, ctx, dir, db.WithSecrets(other))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if _, err := backup.LoadSettings(ctx, d2); !errors.Is(err, secrets.ErrWrongKey) {
		t.Fatalf("Load with another key: %v, want ErrWrongKey", err)
	}
}
