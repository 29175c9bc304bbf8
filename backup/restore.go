package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// Restore replaces the database, the auxiliary database and the stored
// files with those of the backup, in place, on the running server. A
// backup kept in a bucket (settings.backups.s3) is downloaded to the
// backups' temporary folder first. A database-only backup (DBOnlyMarker:
// made while the record files were in a bucket) replaces the databases
// only: the local storage folder and the bucket are left as they are. The
// zip is checked and unpacked first (see openArchive; data.db must pass
// PRAGMA integrity_check and hold _collections): a zip that is not a sound
// backup is refused with BAD_USER_INPUT (field name) and changes nothing.
// Then Reload stops the server's use of the data folder, the files are
// swapped (the live ones moved aside, the restored ones moved in, by
// renames on one file system) and the server starts again on them; when
// it cannot, the old files are put back. Other errors: NOT_FOUND for an
// unknown backup, CONFLICT while another backup operation runs, else a
// wrapped internal error (the data folder then holds the old files, or the
// log says where they are).
func (s *Service) Restore(ctx context.Context, name string) error {
	unlock, sh, err := s.lockExisting(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if s.Reload == nil {
		return errors.New("backup: restore: the server cannot reload its data")
	}
	work, err := s.workDir("restore-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	zipPath, err := sh.local(ctx, name, work)
	if err != nil {
		return err
	}
	a, err := openArchive(zipPath)
	if err != nil {
		return refuse("name", err)
	}
	defer a.Close()

	staged := filepath.Join(work, "data")
	if err := os.Mkdir(staged, 0o755); err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	if err := a.checkDB(ctx, staged); err != nil {
		return refuse("name", err)
	}
	live, _ := s.source()
	onPG := live != nil && live.Engine() == db.EnginePostgres
	if err := s.checkEngine(a); err != nil {
		return refuse("name", err)
	}
	names := liveNames
	if a.dbOnly() {
		names = dbNames
	}
	var pg *pgRestore
	if onPG {
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.HasPrefix(n, db.FileName) })
		if pg, err = preparePG(ctx, live, filepath.Join(staged, DataFile), filepath.Join(work, "previous.jsonl")); err != nil {
			return fmt.Errorf("backup: restore %s: %w", name, err)
		}
		defer pg.Close()
	}
	if !a.dbOnly() {
		isStorage := func(n string) bool { return n == StorageDir || strings.HasPrefix(n, storagePrefix) }
		if err := a.unpack(ctx, staged, isStorage); err != nil {
			return refuse("name", err)
		}
	}

	// The live files move aside into backups/.replaced-*, outside the
	// temporary folder: if putting them back failed, they must survive
	// CleanTemp at the next start.
	aside, err := os.MkdirTemp(s.Dir(), ".replaced-*")
	if err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	swap := func() (func() error, error) { return swapIn(s.dataDir, staged, aside, work, names) }
	if pg != nil {
		swap = pg.wrap(swap)
	}
	err = s.Reload(ctx, swap)
	if err != nil {
		// The old files are back in place unless putting them back failed
		// too; then aside still holds them and must not be removed.
		if rerr := os.Remove(aside); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			slog.Error("backup: restore failed and the previous data could not all be put back", "kept in", aside, "err", err)
		}
		return fmt.Errorf("backup: restore %s: %w", name, err)
	}
	if err := os.RemoveAll(aside); err != nil {
		slog.Warn("backup: remove the data replaced by a restore", "folder", aside, "err", err)
	}
	return nil
}

// Upload keeps an uploaded zip as a backup named filename (lowercased),
// after the checks of Restore (and reading every stored file's entry, so a
// damaged one is found now), in the backups folder or, when
// settings.backups.s3 is enabled, in that bucket. Errors: BAD_USER_INPUT
// (field file) for an invalid or taken name or a zip that is not a sound
// backup, in which case nothing is kept; PAYLOAD_TOO_LARGE past MaxUpload;
// CONFLICT while another backup operation runs.
func (s *Service) Upload(ctx context.Context, filename string, r io.Reader) (Info, error) {
	name := strings.ToLower(filename)
	if err := checkNewName("file", name); err != nil {
		return Info{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Info{}, err
	}
	defer unlock()
	sh, err := s.currentShelf(ctx)
	if err != nil {
		return Info{}, err
	}
	if _, err := sh.stat(ctx, name); err == nil {
		return Info{}, taken("file", name)
	} else if !isNotFound(err) {
		return Info{}, err
	}
	work, err := s.workDir("upload-*")
	if err != nil {
		return Info{}, err
	}
	defer os.RemoveAll(work)
	zipPath := filepath.Join(work, "upload.zip")
	if err := copyLimited(zipPath, r, s.MaxUpload()); err != nil {
		return Info{}, err
	}
	if err := s.check(ctx, zipPath, work); err != nil {
		return Info{}, refuse("file", err)
	}
	return sh.keep(ctx, "file", zipPath, name)
}

// check opens the zip at zipPath and checks it as Restore does, unpacking
// only its databases, into work.
func (s *Service) check(ctx context.Context, zipPath, work string) error {
	a, err := openArchive(zipPath)
	if err != nil {
		return err
	}
	defer a.Close()
	dir := filepath.Join(work, "check")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("backup: check: %w", err)
	}
	if err := a.checkDB(ctx, dir); err != nil {
		return err
	}
	if err := s.checkEngine(a); err != nil {
		return err
	}
	return a.verify(ctx, func(n string) bool { return strings.HasPrefix(n, storagePrefix) })
}

// checkEngine refuses a backup made on the other engine than the live
// database's.
func (s *Service) checkEngine(a *archive) error {
	live, _ := s.source()
	onPG := live != nil && live.Engine() == db.EnginePostgres
	if onPG != a.exported() {
		return engineMismatch(onPG)
	}
	return nil
}

// engineMismatch is the refusal of a backup made on the other engine.
func engineMismatch(onPG bool) error {
	if onPG {
		return &zipError{msg: "this backup was made on SQLite (it holds " + db.FileName + ") and the server runs on PostgreSQL: " +
			"move it with `monobase export-data` on the unpacked data folder and `monobase import-data --db ...` (docs/postgres.md)"}
	}
	return &zipError{msg: "this backup was made on PostgreSQL (it holds " + DataFile + ") and the server runs on SQLite: " +
		"load it into a new data folder with `monobase import-data` of its " + DataFile + " (docs/postgres.md)"}
}

// pgRestore is the database side of a restore on PostgreSQL: the data
// has no file to swap, so the swap replaces it in the database (one
// transaction, through a handle of its own while the server's is
// stopped), and its undo puts the previous data back from an export made
// just before.
type pgRestore struct {
	side     *db.DB
	restored string // the backup's export
	previous string // the live data's export
}

// preparePG exports the live data to previous and opens the side handle.
func preparePG(ctx context.Context, live *db.DB, restored, previous string) (*pgRestore, error) {
	f, err := os.OpenFile(previous, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := live.ExportData(ctx, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("export the live data: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	side, err := live.OpenAgain(ctx)
	if err != nil {
		return nil, err
	}
	return &pgRestore{side: side, restored: restored, previous: previous}, nil
}

// Close closes the side handle.
func (p *pgRestore) Close() error { return p.side.Close() }

// wrap returns swap preceded by the replacement of the data; its undo
// undoes both.
func (p *pgRestore) wrap(swap SwapFunc) SwapFunc {
	return func() (func() error, error) {
		ctx := context.Background()
		if err := replaceFrom(ctx, p.side, p.restored); err != nil {
			return nil, err
		}
		undoFiles, err := swap()
		if err != nil {
			if rerr := replaceFrom(ctx, p.side, p.previous); rerr != nil {
				return nil, errors.Join(err, fmt.Errorf("put the previous data back: %w", rerr))
			}
			return nil, err
		}
		return func() error {
			return errors.Join(undoFiles(), replaceFrom(ctx, p.side, p.previous))
		}, nil
	}
}

// replaceFrom replaces all data of d with the export in the file p.
func replaceFrom(ctx context.Context, d *db.DB, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := d.ReplaceData(ctx, f); err != nil {
		return fmt.Errorf("replace the data: %w", err)
	}
	return nil
}

// copyLimited writes r to the new file p, at most limit bytes
// (PAYLOAD_TOO_LARGE past it).
func copyLimited(p string, r io.Reader, limit int64) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("backup: upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: upload: %w", err)
	}
	if n > limit {
		return apperr.New(apperr.TooLarge, "a backup upload is at most %d bytes", limit)
	}
	return nil
}

// workDir makes a new folder in the temporary folder.
func (s *Service) workDir(pattern string) (string, error) {
	if err := os.MkdirAll(s.tempDir(), 0o755); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	dir, err := os.MkdirTemp(s.tempDir(), pattern)
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	return dir, nil
}

// refuse turns a zip's *zipError into BAD_USER_INPUT on field; other
// errors pass as they are.
func refuse(field string, err error) error {
	var ze *zipError
	if errors.As(err, &ze) {
		return fieldErr(field, "invalid_backup", ze.Error(), err)
	}
	return err
}

// dbNames are the files of the data folder that a restore of a
// database-only backup replaces: the databases with their write-ahead
// logs.
var dbNames = []string{
	db.FileName, db.FileName + "-wal", db.FileName + "-shm",
	AuxiliaryFile, AuxiliaryFile + "-wal", AuxiliaryFile + "-shm",
}

// liveNames are the files and folders of the data folder that a restore
// replaces: the databases with their write-ahead logs, and the storage.
var liveNames = append(slices.Clone(dbNames), StorageDir)

// swapIn moves the files names of dataDir into aside and the restored ones
// from staged into dataDir (the server has stopped using them). It is a
// SwapFunc: on failure, and when its undo is called, whatever is in place
// (restored files, and the logs that opening them made) moves to a new
// folder in trash and the live files move back from aside.
func swapIn(dataDir, staged, aside, trash string, names []string) (undo func() error, err error) {
	putBack := func() error {
		var errs []error
		out, err := os.MkdirTemp(trash, "undo-*")
		if err != nil {
			return fmt.Errorf("put the previous data back: %w", err)
		}
		for _, n := range names {
			if err := moveIfExists(filepath.Join(dataDir, n), filepath.Join(out, n)); err != nil {
				errs = append(errs, err)
			}
		}
		for _, n := range names {
			if err := moveIfExists(filepath.Join(aside, n), filepath.Join(dataDir, n)); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("put the previous data back: %w", err)
		}
		return nil
	}
	for _, n := range names {
		if err := moveIfExists(filepath.Join(dataDir, n), filepath.Join(aside, n)); err != nil {
			return nil, errors.Join(fmt.Errorf("move the live data aside: %w", err), putBack())
		}
	}
	for _, n := range []string{db.FileName, AuxiliaryFile, StorageDir} {
		if !slices.Contains(names, n) {
			continue
		}
		if err := moveIfExists(filepath.Join(staged, n), filepath.Join(dataDir, n)); err != nil {
			return nil, errors.Join(fmt.Errorf("move the restored data in: %w", err), putBack())
		}
	}
	return putBack, nil
}

// moveIfExists renames from to to when from exists.
func moveIfExists(from, to string) error {
	if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("move %s: %w", filepath.Base(from), err)
	}
	return nil
}
