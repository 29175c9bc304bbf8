package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/ratelimit"
)

// cronServer is a server with a superuser and the extra jobs given, which
// reads settings.backups again every 20 ms.
type cronServer struct {
	srv   *ServeCommand
	dir   string
	admin string
	logs  *syncBuffer
}

func newCronServer(t *testing.T, jobs ...cron.Job) *cronServer {
	t.Helper()
	return newCronServerPoll(t, 20*time.Millisecond, jobs...)
}

// newCronServerPoll is newCronServer reading settings.backups every poll.
func newCronServerPoll(t *testing.T, poll time.Duration, jobs ...cron.Job) *cronServer {
	t.Helper()
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	logs := &syncBuffer{}
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Jobs = jobs
		c.schedulePoll = poll
		c.Stderr = logs
	})
	return &cronServer{srv: srv, dir: dir, admin: signIn(t, srv.URL(), "admin@example.com", "admin-password"), logs: logs}
}

func (s *cronServer) adminGQL(t *testing.T, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	return gql(t, s.srv.URL()+"/graphql/admin", s.admin, query, vars)
}

// crons returns the admin API's crons by id.
func (s *cronServer) crons(t *testing.T) map[string]map[string]any {
	t.Helper()
	r := s.adminGQL(t, `{ crons { id expression running lastRun lastDurationMs lastError nextRun } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("crons: %+v", r.Errors)
	}
	out := map[string]map[string]any{}
	for _, c := range r.Data["crons"].([]any) {
		m := c.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

// runCron calls runCron(id) and returns the error code ("" on success).
func (s *cronServer) runCron(t *testing.T, id string) string {
	t.Helper()
	r := s.adminGQL(t, `mutation($id: String!) { runCron(id: $id) }`, map[string]any{"id": id})
	if r.errCode() == "" && r.Data["runCron"] != true {
		t.Fatalf("runCron(%s) = %v", id, r.Data)
	}
	return r.errCode()
}

// within fails t unless cond holds within 10 s.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCronsAdminAPI(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int64
	s := newCronServer(t, cron.Job{ID: "slow", Expression: "@yearly", Run: func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			close(started)
			<-release
			return nil
		}
		return errors.New("second run fails")
	}})

	t.Run("crons lists the system jobs", func(t *testing.T) {
		list := s.crons(t)
		for id, expr := range map[string]string{JobAuthStateCleanup: "0 * * * *", JobTempFilesCleanup: "30 * * * *", JobLogsCleanup: "15 * * * *", "slow": "@yearly"} {
			c := list[id]
			if c == nil || c["expression"] != expr || c["running"] != false || c["lastRun"] != nil || c["nextRun"] == nil {
				t.Errorf("crons[%s] = %v, want expression %q, not run yet, a next run", id, c, expr)
			}
		}
		if list[JobBackups] != nil {
			t.Errorf("%s is listed without settings.backups.cron", JobBackups)
		}
	})
	t.Run("only superusers", func(t *testing.T) {
		r := gql(t, s.srv.URL()+"/graphql/admin", "", `mutation { runCron(id: "slow") }`, nil)
		if r.errCode() != "UNAUTHENTICATED" || runs.Load() != 0 {
			t.Fatalf("anonymous runCron: %+v, runs %d", r.Errors, runs.Load())
		}
	})
	t.Run("an unknown id is NOT_FOUND", func(t *testing.T) {
		if code := s.runCron(t, "nope"); code != "NOT_FOUND" {
			t.Fatalf("runCron(nope) = %q", code)
		}
	})
	t.Run("a running job is CONFLICT", func(t *testing.T) {
		first := make(chan string, 1)
		go func() { first <- s.runCron(t, "slow") }()
		<-started
		if c := s.crons(t)["slow"]; c["running"] != true {
			t.Errorf("crons[slow] = %v, want running", c)
		}
		if code := s.runCron(t, "slow"); code != "CONFLICT" {
			t.Errorf("second runCron(slow) = %q, want CONFLICT", code)
		}
		close(release)
		if code := <-first; code != "" {
			t.Fatalf("first runCron(slow) = %q", code)
		}
		c := s.crons(t)["slow"]
		if c["running"] != false || c["lastRun"] == nil || c["lastDurationMs"] == nil || c["lastError"] != nil {
			t.Errorf("crons[slow] after the run = %v", c)
		}
	})
	t.Run("a failed run is an internal error; its cause is in lastError", func(t *testing.T) {
		if code := s.runCron(t, "slow"); code != "INTERNAL_SERVER_ERROR" {
			t.Fatalf("runCron = %q", code)
		}
		if c := s.crons(t)["slow"]; c["lastError"] != "second run fails" {
			t.Errorf("lastError = %v", c["lastError"])
		}
		if !strings.Contains(s.logs.String(), `msg="cron job failed" job=slow trigger=manual`) {
			t.Errorf("the failed run is not logged:\n%s", s.logs.String())
		}
	})
}

func TestCleanupJobs(t *testing.T) {
	s := newCronServer(t)
	ctx := context.Background()
	d := s.srv.DB()
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	longAgo := time.Now().Add(-48 * time.Hour)
	for id, created := range map[string]time.Time{"expired": time.Now().Add(-time.Hour), "fresh": time.Now()} {
		if err := d.CreateOTP(ctx, db.OTP{ID: id, CollectionRef: users.ID, Created: created}, longAgo); err != nil {
			t.Fatal(err)
		}
	}
	otpLeft := func(id string) bool {
		// Any code created since longAgo with attempts left is found.
		_, found, err := s.srv.DB().TryOTP(ctx, id, users.ID, longAgo, 100)
		if err != nil {
			t.Fatal(err)
		}
		return found
	}

	t.Run("auth state: expired codes go, fresh ones stay", func(t *testing.T) {
		if code := s.runCron(t, JobAuthStateCleanup); code != "" {
			t.Fatalf("runCron = %q", code)
		}
		if otpLeft("expired") || !otpLeft("fresh") {
			t.Fatalf("after the cleanup: expired left %v, fresh left %v", otpLeft("expired"), otpLeft("fresh"))
		}
	})
	t.Run("temporary files: old ones go, recent ones stay", func(t *testing.T) {
		tmp := files.NewLocal(filepath.Join(s.dir, backup.StorageDir)).TempDir()
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"old", "recent"} {
			if err := os.WriteFile(filepath.Join(tmp, name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(filepath.Join(tmp, "old"), old, old); err != nil {
			t.Fatal(err)
		}
		if code := s.runCron(t, JobTempFilesCleanup); code != "" {
			t.Fatalf("runCron = %q", code)
		}
		if _, err := os.Stat(filepath.Join(tmp, "old")); !os.IsNotExist(err) {
			t.Errorf("the old file is still there (%v)", err)
		}
		if _, err := os.Stat(filepath.Join(tmp, "recent")); err != nil {
			t.Errorf("the recent file is gone: %v", err)
		}
	})
	t.Run("while a restore swaps the data the jobs skip", func(t *testing.T) {
		s.srv.gate.close()
		err := s.srv.cron.Run(ctx, JobAuthStateCleanup)
		s.srv.gate.open()
		if !errors.Is(err, cron.ErrSkipped) {
			t.Fatalf("Run during a restore = %v, want skipped", err)
		}
	})
	t.Run("after a restore the jobs use the restored data", func(t *testing.T) {
		mustGQL(t, s.srv.URL()+"/graphql/admin", s.admin, `mutation { createBackup(name: "b.zip") { name } }`, nil)
		mustGQL(t, s.srv.URL()+"/graphql/admin", s.admin, `mutation { restoreBackup(name: "b.zip") }`, nil)
		if s.srv.DB() == d {
			t.Fatal("the restore kept the database")
		}
		if code := s.runCron(t, JobAuthStateCleanup); code != "" {
			t.Fatalf("runCron after the restore = %q", code)
		}
	})
}

// autoBackups returns the scheduled backups in the data folder's backups.
func autoBackups(t *testing.T, dir string) (auto, other []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, backup.DirName))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch {
		case e.IsDir():
		case backup.IsAuto(e.Name()):
			auto = append(auto, e.Name())
		default:
			other = append(other, e.Name())
		}
	}
	return auto, other
}

func TestScheduledBackups(t *testing.T) {
	s := newCronServer(t)
	ctx := context.Background()
	mustGQL(t, s.srv.URL()+"/graphql/admin", s.admin, `mutation { createBackup(name: "manual.zip") { name } }`, nil)

	// settings.backups as the settings API stores it; the server follows
	// the change without a restart.
	if err := backup.SaveSchedule(ctx, s.srv.DB(), backup.Schedule{Cron: "@every 1s", MaxKeep: 2}); err != nil {
		t.Fatal(err)
	}
	within(t, "the backup job listed", func() bool {
		c := s.crons(t)[JobBackups]
		return c != nil && c["expression"] == "@every 1s"
	})
	within(t, "three scheduled backups made", func() bool {
		return strings.Count(s.logs.String(), `msg="scheduled backup made"`) >= 3
	})
	if err := backup.SaveSchedule(ctx, s.srv.DB(), backup.Schedule{Cron: "", MaxKeep: 2}); err != nil {
		t.Fatal(err)
	}
	within(t, "the backup job unlisted once the schedule is cleared", func() bool { return s.crons(t)[JobBackups] == nil })
	if err := s.srv.Close(); err != nil { // waits for a backup still running
		t.Fatal(err)
	}
	auto, other := autoBackups(t, s.dir)
	if len(auto) != 2 {
		t.Errorf("scheduled backups kept: %v, want 2 (maxKeep)", auto)
	}
	if !slices.Equal(other, []string{"manual.zip"}) {
		t.Errorf("other backups: %v, want the manual one untouched", other)
	}
}

func TestRestoreAppliesTheRestoredSchedule(t *testing.T) {
	// A backup of a data folder with scheduled backups...
	a := newCronServer(t)
	if err := backup.SaveSchedule(context.Background(), a.srv.DB(), backup.Schedule{Cron: "0 3 * * *", MaxKeep: 5}); err != nil {
		t.Fatal(err)
	}
	mustGQL(t, a.srv.URL()+"/graphql/admin", a.admin, `mutation { createBackup(name: "scheduled.zip") { name } }`, nil)
	zip, err := os.ReadFile(filepath.Join(a.dir, backup.DirName, "scheduled.zip"))
	if err != nil {
		t.Fatal(err)
	}
	// ...restored on a server without, which reads settings.backups again
	// only hourly: the restore itself applies the schedule.
	b := newCronServerPoll(t, time.Hour)
	if b.crons(t)[JobBackups] != nil {
		t.Fatalf("%s listed before the restore", JobBackups)
	}
	if err := os.MkdirAll(filepath.Join(b.dir, backup.DirName), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, backup.DirName, "scheduled.zip"), zip, 0o644); err != nil {
		t.Fatal(err)
	}
	mustGQL(t, b.srv.URL()+"/graphql/admin", b.admin, `mutation { restoreBackup(name: "scheduled.zip") }`, nil)
	b.admin = signIn(t, b.srv.URL(), "admin@example.com", "admin-password") // a's signing secret now
	if c := b.crons(t)[JobBackups]; c == nil || c["expression"] != "0 3 * * *" {
		t.Fatalf("after the restore crons[%s] = %v, want the restored schedule", JobBackups, c)
	}
}

func TestShutdownWaitsForRunningJobs(t *testing.T) {
	started := make(chan struct{})
	var finished atomic.Bool
	var jobErr atomic.Value
	var srv *ServeCommand
	s := newCronServer(t, cron.Job{ID: "slow", Expression: "@yearly", Run: func(ctx context.Context) error {
		close(started)
		time.Sleep(100 * time.Millisecond)
		// The database is still open: Close waits for the job.
		err := srv.withData(func(d *db.DB, _ *files.Store) error {
			_, err := d.Count(ctx, &db.Query{Collection: mustCollection(d, "users")})
			return err
		})
		if err != nil {
			jobErr.Store(err)
		}
		finished.Store(true)
		return err
	}})
	srv = s.srv
	runErr := make(chan error, 1)
	go func() { runErr <- srv.cron.Run(context.Background(), "slow") }()
	<-started
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the running job ended")
	}
	if err := jobErr.Load(); err != nil {
		t.Fatalf("the job's query failed: %v", err)
	}
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}

func mustCollection(d *db.DB, name string) *db.Collection {
	c, err := d.Collection(name)
	if err != nil {
		panic(err)
	}
	return c
}

// TestBackupScheduleFromUpdateSettings: the schedule the admin API saves
// in settings.backups is the one the scheduler runs, and clearing it
// removes the job.
func TestBackupScheduleFromUpdateSettings(t *testing.T) {
	s := newCronServer(t)
	set := func(expr string) {
		r := s.adminGQL(t, `mutation($c: String!) { updateSettings(input: { backups: { cron: $c, maxKeep: 2 } }) { backups { cron maxKeep } } }`,
			map[string]any{"c": expr})
		if len(r.Errors) > 0 {
			t.Fatalf("updateSettings: %+v", r.Errors)
		}
	}
	waitFor := func(what string, ok func(map[string]map[string]any) bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !ok(s.crons(t)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: crons = %v", what, s.crons(t))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	set("0 3 * * *")
	waitFor("the job appears", func(c map[string]map[string]any) bool {
		return c[JobBackups] != nil && c[JobBackups]["expression"] == "0 3 * * *"
	})
	set("")
	waitFor("the job goes", func(c map[string]map[string]any) bool { return c[JobBackups] == nil })
}
