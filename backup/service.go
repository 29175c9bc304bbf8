// Package backup makes, keeps and restores backups of the data folder: a
// zip of a consistent snapshot of data.db (VACUUM INTO while writes go on),
// of auxiliary.db when there is one, and of the storage folder when the
// record files are on the local disk (when they are in a bucket, the zip
// holds the databases only: DBOnlyMarker). The zips are kept in
// <data folder>/backups, or at the root of an S3-compatible bucket when
// settings.backups.s3 is enabled (read at the start of each operation;
// bucket.go). A restore checks the zip before anything changes, then
// swaps the files in place through the Reload seam that the server
// provides (it stops using the data folder, the swap runs, it starts
// again). GET /backups/{name}?token= downloads a backup with a
// superuser's file token (Handler).
//
// Scheduled backups (schedule.go): settings.backups holds a cron
// expression, maxKeep and the S3 target (settings.go: LoadSettings,
// ParseCron); the server's scheduler calls CreateAuto, which names its
// backups @auto_mb_backup_YYYYMMDDhhmmss.zip and deletes the oldest of
// those beyond maxKeep (backups made by hand are never deleted).
package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// DirName is the folder of the backups in the data folder.
const DirName = "backups"

// tempDirName is the folder under the backups folder that holds backups
// being written and restores being unpacked. It sits on the file system of
// the data folder, so renames into place are atomic, and its leading dot
// keeps it out of the list (names cannot end in it).
const tempDirName = ".tmp"

// DefaultMaxUpload is the largest backup uploadBackup accepts when
// Service.MaxUploadBytes is zero.
const DefaultMaxUpload = 1 << 30

// maxNameLen bounds a backup's name.
const maxNameLen = 150

// nameRE is what the name of a backup made or uploaded by hand must match.
var nameRE = regexp.MustCompile(`^[a-z0-9_.-]+\.zip$`)

// AutoPrefix starts the names of scheduled backups (CreateAuto) and only
// theirs: "@" is not allowed in the names given to Create and Upload, so
// pruning them never deletes a backup made by hand.
const AutoPrefix = "@auto_mb_backup_"

// autoNameRE is what the name of a scheduled backup matches.
var autoNameRE = regexp.MustCompile(`^@auto_mb_backup_[0-9]{14}(_[0-9]+)?\.zip$`)

// Info describes one backup.
type Info struct {
	Name     string
	Size     int64
	Modified time.Time
}

// Source is what a backup reads from the running server: the database and
// the file store in use now (a restore replaces them).
type Source func() (*db.DB, *files.Store)

// SwapFunc moves the restored files into the data folder in place of the
// live ones (which the server must have stopped using). On failure it has
// put the live files back itself. On success, undo puts them back (moving
// the restored ones out), for a server that cannot start on the restored
// files.
type SwapFunc func() (undo func() error, err error)

// ReloadFunc is the server's part of a restore: it stops everything that
// uses the data folder (ending open sockets), calls swap, and starts again
// on the swapped files (the application schema is rebuilt from them). When
// it cannot start on them, it calls undo and starts on the old files. ctx
// is the restoring request's: that request is in flight and must not be
// waited for.
type ReloadFunc func(ctx context.Context, swap SwapFunc) error

// Service creates, lists, deletes, checks and restores the backups of one
// data folder. One backup, upload, deletion or restore runs at a time; the
// others are refused with CONFLICT. Set the fields before use.
type Service struct {
	dataDir string

	// Source returns the database and file store that Create copies;
	// every operation reads settings.backups.s3 from that database.
	Source Source
	// Reload performs the server's side of Restore; without it Restore
	// fails.
	Reload ReloadFunc
	// MaxUploadBytes bounds an uploaded backup (0: DefaultMaxUpload).
	MaxUploadBytes int64

	mu     sync.Mutex // held by the operation running
	now    func() time.Time
	bucket bucketCache // the client of settings.backups.s3
}

// New returns the service of the data folder dir.
func New(dir string) *Service { return &Service{dataDir: dir, now: time.Now} }

// Dir returns the folder that holds the backups.
func (s *Service) Dir() string { return filepath.Join(s.dataDir, DirName) }

// MaxUpload returns the largest upload Upload accepts.
func (s *Service) MaxUpload() int64 {
	if s.MaxUploadBytes > 0 {
		return s.MaxUploadBytes
	}
	return DefaultMaxUpload
}

func (s *Service) tempDir() string { return filepath.Join(s.Dir(), tempDirName) }

// CleanTemp removes what a stopped process left in the backups' temporary
// folder. Call it at start, before serving.
func (s *Service) CleanTemp() error {
	if err := os.RemoveAll(s.tempDir()); err != nil {
		return fmt.Errorf("backup: clean %s: %w", s.tempDir(), err)
	}
	return nil
}

// lock takes the one-operation lock, or returns CONFLICT when another
// backup operation runs.
func (s *Service) lock() (unlock func(), err error) {
	if !s.mu.TryLock() {
		return nil, apperr.New(apperr.Conflict, "another backup, upload, deletion or restore is running; try again when it ends")
	}
	return s.mu.Unlock, nil
}

// ValidName reports whether name may name a backup: lowercase letters,
// digits, "_", "." and "-", ending in ".zip", at most 150 bytes; or the
// name of a scheduled backup (IsAuto).
func ValidName(name string) bool { return validUserName(name) || IsAuto(name) }

// IsAuto reports whether name is the name of a scheduled backup:
// @auto_mb_backup_YYYYMMDDhhmmss.zip, with _2, _3, ... before .zip for a
// second one in the same second.
func IsAuto(name string) bool { return len(name) <= maxNameLen && autoNameRE.MatchString(name) }

// validUserName reports whether name may be given to Create or Upload.
func validUserName(name string) bool {
	return len(name) <= maxNameLen && nameRE.MatchString(name) && !strings.Contains(name, "..")
}

// checkName returns a BAD_USER_INPUT error on field when name names no
// backup (ValidName).
func checkName(field, name string) error {
	if !ValidName(name) {
		return invalidName(field)
	}
	return nil
}

// checkNewName returns a BAD_USER_INPUT error on field when name may not
// be given to a new backup (validUserName).
func checkNewName(field, name string) error {
	if !validUserName(name) {
		return invalidName(field)
	}
	return nil
}

func invalidName(field string) error {
	return fieldErr(field, "invalid",
		"a backup name is up to 150 lowercase letters, digits, _ . - and ends in .zip", nil)
}

// source returns the database and file store in use, nil when there is
// no Source.
func (s *Service) source() (*db.DB, *files.Store) {
	if s.Source == nil {
		return nil, nil
	}
	return s.Source()
}

// shelfFor returns where the backups are kept now: the bucket of
// settings.backups.s3 when it is enabled in d, else the backups folder
// (also when d is nil). It fails when the settings cannot be read (the
// secret of an enabled bucket included).
func (s *Service) shelfFor(ctx context.Context, d *db.DB) (shelf, error) {
	if d == nil {
		return diskShelf{s.Dir()}, nil
	}
	set, err := loadStored(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if !set.S3.Enabled {
		return diskShelf{s.Dir()}, nil
	}
	if set.S3, err = set.S3.Opened(d); err != nil {
		return nil, fmt.Errorf("backup: load %s.s3.%w", settingsParam, err)
	}
	b, err := s.bucket.get(set.S3)
	if err != nil {
		return nil, fmt.Errorf("backup: %s.s3: %w", settingsParam, err)
	}
	return bucketShelf{b}, nil
}

// currentShelf is shelfFor on the database of Source.
func (s *Service) currentShelf(ctx context.Context) (shelf, error) {
	d, _ := s.source()
	return s.shelfFor(ctx, d)
}

// List returns the backups, newest first: the files of the backups folder,
// or the objects at the root of the bucket when settings.backups.s3 is
// enabled (the first 100,000 keys). A missing folder is an empty list.
func (s *Service) List(ctx context.Context) ([]Info, error) {
	sh, err := s.currentShelf(ctx)
	if err != nil {
		return nil, err
	}
	list, err := sh.list(ctx)
	if err != nil {
		return nil, err
	}
	sortNewestFirst(list)
	return list, nil
}

// Delete removes a backup: BAD_USER_INPUT for an invalid name, NOT_FOUND
// when there is none, CONFLICT while another backup operation runs.
func (s *Service) Delete(ctx context.Context, name string) error {
	unlock, sh, err := s.lockExisting(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return sh.remove(ctx, name)
}

// Open opens a backup for reading, with seeks (the caller closes it; reads
// from a bucket use ctx): NOT_FOUND for an invalid or unknown name.
func (s *Service) Open(ctx context.Context, name string) (io.ReadSeekCloser, Info, error) {
	if !ValidName(name) {
		return nil, Info{}, notFound(name)
	}
	sh, err := s.currentShelf(ctx)
	if err != nil {
		return nil, Info{}, err
	}
	return sh.open(ctx, name)
}

// taken is the error for a name already in use.
func taken(field, name string) error {
	return fieldErr(field, "taken", fmt.Sprintf("a backup named %q exists already", name), nil)
}

// fieldErr is a BAD_USER_INPUT error about one input field; cause, when
// set, is kept for the logs.
func fieldErr(field, code, message string, cause error) error {
	return &apperr.Error{Code: apperr.Invalid, Message: message, Err: cause,
		Fields: map[string]apperr.FieldError{field: {Code: code, Message: message}}}
}

// lockExisting takes the lock of backup operations for the backup name
// and returns where it is kept: BAD_USER_INPUT for an invalid name,
// CONFLICT while another operation runs, NOT_FOUND when there is no such
// backup. The caller calls unlock.
func (s *Service) lockExisting(ctx context.Context, name string) (unlock func(), sh shelf, err error) {
	if err := checkName("name", name); err != nil {
		return nil, nil, err
	}
	if unlock, err = s.lock(); err != nil {
		return nil, nil, err
	}
	if sh, err = s.currentShelf(ctx); err == nil {
		_, err = sh.stat(ctx, name)
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return unlock, sh, nil
}
