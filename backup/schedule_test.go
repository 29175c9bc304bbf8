package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

func TestSchedule(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)

	t.Run("none saved: no scheduled backups, maxKeep 3", func(t *testing.T) {
		s, err := backup.LoadSchedule(ctx, e.d)
		if err != nil || s != (backup.Schedule{MaxKeep: 3}) {
			t.Fatalf("LoadSchedule = %+v, %v", s, err)
		}
	})
	t.Run("invalid fields are BAD_USER_INPUT each", func(t *testing.T) {
		err := backup.SaveSchedule(ctx, e.d, backup.Schedule{Cron: "every night", MaxKeep: 0})
		ae := apperr.As(err)
		if ae == nil || ae.Code != apperr.Invalid || ae.Fields["backups.cron"].Code != "invalid" ||
			ae.Fields["backups.maxKeep"].Code != "invalid" {
			t.Fatalf("SaveSchedule = %#v", err)
		}
		if _, ok, _ := e.d.Param(ctx, backup.ScheduleParam); ok {
			t.Error("an invalid schedule was stored")
		}
	})
	t.Run("saved and loaded, keeping the other members", func(t *testing.T) {
		if err := e.d.SetParam(ctx, backup.ScheduleParam, []byte(`{"cron":"","maxKeep":3,"s3":{"bucket":"b"}}`)); err != nil {
			t.Fatal(err)
		}
		want := backup.Schedule{Cron: "0 3 * * *", MaxKeep: 5}
		if err := backup.SaveSchedule(ctx, e.d, backup.Schedule{Cron: " 0 3 * * * ", MaxKeep: 5}); err != nil {
			t.Fatal(err)
		}
		got, err := backup.LoadSchedule(ctx, e.d)
		if err != nil || got != want {
			t.Fatalf("LoadSchedule = %+v, %v; want %+v", got, err, want)
		}
		raw, _, _ := e.d.Param(ctx, backup.ScheduleParam)
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil || obj["s3"] == nil {
			t.Fatalf("stored %s: the s3 member is lost", raw)
		}
	})
	t.Run("a stored schedule edited into nonsense reads as the default", func(t *testing.T) {
		if err := e.d.SetParam(ctx, backup.ScheduleParam, []byte(`{"cron":"61 * * * *","maxKeep":2}`)); err != nil {
			t.Fatal(err)
		}
		s, err := backup.LoadSchedule(ctx, e.d)
		if !errors.Is(err, backup.ErrInvalidSchedule) || s != backup.DefaultSchedule() {
			t.Fatalf("LoadSchedule = %+v, %v", s, err)
		}
	})
}

func TestAutoBackups(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.insert(t, "first")
	manual, err := e.svc.Create(ctx, "")
	if err != nil {
		t.Fatal(err)
	}

	var made []string
	for range 4 {
		info, deleted, err := e.svc.CreateAuto(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !backup.IsAuto(info.Name) || !strings.HasPrefix(info.Name, backup.AutoPrefix) {
			t.Fatalf("scheduled backup named %q", info.Name)
		}
		made = append(made, info.Name)
		if len(made) > 2 && !slices.Equal(deleted, made[len(made)-3:len(made)-2]) {
			t.Errorf("run %d deleted %v, want %v", len(made), deleted, made[len(made)-3])
		}
	}
	list, err := e.svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list {
		names = append(names, b.Name)
	}
	want := []string{made[3], made[2], manual.Name}
	if !slices.Equal(names, want) {
		t.Fatalf("backups = %v, want the two newest scheduled ones and the manual one %v", names, want)
	}

	t.Run("a scheduled backup restores like any other", func(t *testing.T) {
		e.insert(t, "after")
		if err := e.svc.Restore(ctx, made[3]); err != nil {
			t.Fatal(err)
		}
		if got := e.titles(t); !slices.Equal(got, []string{"first"}) {
			t.Fatalf("titles after restore = %v", got)
		}
	})
	t.Run("names with the scheduled prefix cannot be given by hand", func(t *testing.T) {
		name := backup.AutoPrefix + "20250101000000.zip"
		if !backup.ValidName(name) {
			t.Fatalf("ValidName(%q) = false", name)
		}
		_, err := e.svc.Create(ctx, name)
		if ae := apperr.As(err); ae == nil || ae.Fields["name"].Code != "invalid" {
			t.Errorf("Create(%q) = %v, want BAD_USER_INPUT on name", name, err)
		}
		_, err = e.svc.Upload(ctx, name, bytes.NewReader(nil))
		if ae := apperr.As(err); ae == nil || ae.Fields["file"].Code != "invalid" {
			t.Errorf("Upload(%q) = %v, want BAD_USER_INPUT on file", name, err)
		}
		for _, bad := range []string{"@auto_mb_backup_2025.zip", "@other.zip", "@auto_mb_backup_20250101000000.zip.zip"} {
			if backup.ValidName(bad) {
				t.Errorf("ValidName(%q) = true", bad)
			}
		}
	})
	t.Run("a scheduled backup can be deleted by name", func(t *testing.T) {
		if err := e.svc.Delete(ctx, made[2]); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("while another operation runs it is CONFLICT and changes nothing", func(t *testing.T) {
		before, _ := e.svc.List(ctx)
		source := e.svc.Source
		defer func() { e.svc.Source = source }()
		var inner error
		e.svc.Source = func() (*db.DB, *files.Store) {
			_, _, inner = e.svc.CreateAuto(ctx, 1)
			return source()
		}
		if _, err := e.svc.Create(ctx, "outer.zip"); err != nil {
			t.Fatal(err)
		}
		if apperr.CodeOf(inner) != apperr.Conflict {
			t.Fatalf("CreateAuto during Create = %v, want CONFLICT", inner)
		}
		after, _ := e.svc.List(ctx)
		if len(after) != len(before)+1 {
			t.Errorf("%d backups, want %d (outer.zip only added)", len(after), len(before)+1)
		}
	})
}
