package backup

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// The entries of a backup zip: the database, the auxiliary database of
// the request logs (when it exists) and the stored files under storage/,
// as in the data folder.
const (
	// DataFile holds the data of a backup made on PostgreSQL: the stream
	// of db.ExportData (what `monobase export-data` writes), in place of
	// data.db.
	DataFile      = "data.jsonl"
	AuxiliaryFile = db.AuxFileName
	StorageDir    = "storage"
	storagePrefix = StorageDir + "/"
)

// DBOnlyMarker starts the zip comment of a backup made while the record
// files were in an S3 bucket (settings.s3): such a backup holds the
// databases only, and restoring it leaves the stored files alone.
const DBOnlyMarker = "monobase backup: database only"

// dbOnlyComment is the zip comment of a database-only backup.
const dbOnlyComment = DBOnlyMarker + "\n" +
	"The record files were stored in an S3 bucket (settings.s3) and are not in this backup: " +
	"restoring it replaces the databases and leaves the stored files where they are.\n"

// Create writes a backup of the running server's data and keeps it as
// name, or as mb_backup_YYYYMMDDhhmmss.zip (UTC) when name is empty, in
// the backups folder or, when settings.backups.s3 is enabled, in that
// bucket. The zip holds a snapshot of data.db taken at one moment while
// writes go on (db.VacuumInto), one of auxiliary.db when that file exists,
// and, when the record files are on the local disk, the files of the
// storage folder (its .tmp folder left out); file removals wait from the
// snapshot to the end of the copy, so every file a record of the snapshot
// names is in the zip. When the record files are in a bucket (settings.s3)
// the zip holds the databases only (DBOnlyMarker). The zip is written to a
// temporary file, then renamed or uploaded, so a failed backup leaves
// nothing. Errors: BAD_USER_INPUT (field name) for an invalid or taken
// name, CONFLICT while another backup operation runs, else a wrapped
// internal error.
func (s *Service) Create(ctx context.Context, name string) (Info, error) {
	if name != "" {
		if err := checkNewName("name", name); err != nil {
			return Info{}, err
		}
	}
	unlock, err := s.lock()
	if err != nil {
		return Info{}, err
	}
	defer unlock()
	src, err := s.begin(ctx)
	if err != nil {
		return Info{}, err
	}
	if name == "" {
		if name, err = s.freeName(ctx, src.shelf, "mb_backup_"); err != nil {
			return Info{}, err
		}
	} else if _, err := src.shelf.stat(ctx, name); err == nil {
		return Info{}, taken("name", name)
	} else if !isNotFound(err) {
		return Info{}, err
	}
	return s.create(ctx, src, name)
}

// opSource is what one backup operation works on, read once at its start.
type opSource struct {
	d     *db.DB
	store *files.Store
	shelf shelf
}

// begin reads the data source and where the backups are kept; the caller
// holds the lock.
func (s *Service) begin(ctx context.Context) (opSource, error) {
	d, store := s.source()
	sh, err := s.shelfFor(ctx, d)
	if err != nil {
		return opSource{}, err
	}
	return opSource{d: d, store: store, shelf: sh}, nil
}

// create writes the backup name (free and valid) of src; the caller holds
// the lock.
func (s *Service) create(ctx context.Context, src opSource, name string) (Info, error) {
	if s.Source == nil {
		return Info{}, errors.New("backup: create: no data source")
	}
	if src.d == nil {
		return Info{}, errors.New("backup: create: the database is not open")
	}
	work, err := s.workDir("create-*")
	if err != nil {
		return Info{}, err
	}
	defer os.RemoveAll(work)
	zipPath := filepath.Join(work, "backup.zip")
	if err := s.write(ctx, src.d, src.store, work, zipPath); err != nil {
		return Info{}, fmt.Errorf("backup: create %s: %w", name, err)
	}
	return src.shelf.keep(ctx, "name", zipPath, name)
}

// freeName returns <prefix><now>.zip (now as YYYYMMDDhhmmss, UTC), or
// with a suffix _2, _3, ... when a backup was made in the same second.
func (s *Service) freeName(ctx context.Context, sh shelf, prefix string) (string, error) {
	base := prefix + s.now().UTC().Format("20060102150405")
	for i := 1; i <= 100; i++ {
		name := base + ".zip"
		if i > 1 {
			name = fmt.Sprintf("%s_%d.zip", base, i)
		}
		_, err := sh.stat(ctx, name)
		if isNotFound(err) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("backup: no free default name")
}

// filesInBucket reports whether store keeps the record files in a bucket,
// which a backup does not copy.
func filesInBucket(store *files.Store) bool {
	return store != nil && store.Backend().Kind() != store.Local().Kind()
}

// write makes the zip at zipPath, using work for the database snapshots.
func (s *Service) write(ctx context.Context, d *db.DB, store *files.Store, work, zipPath string) (err error) {
	copyFiles := store != nil && !filesInBucket(store)
	if copyFiles {
		release := store.HoldDeletes()
		defer release()
	}
	dbName := db.FileName
	dbCopy := filepath.Join(work, dbName)
	if d.Engine() == db.EnginePostgres {
		// No file to copy: the export of one read transaction.
		dbName = DataFile
		dbCopy = filepath.Join(work, dbName)
		if err := exportTo(ctx, d, dbCopy); err != nil {
			return fmt.Errorf("export the database: %w", err)
		}
	} else if err := d.VacuumInto(ctx, dbCopy); err != nil {
		return fmt.Errorf("snapshot the database: %w", err)
	}
	auxCopy := ""
	if fi, err := os.Stat(filepath.Join(s.dataDir, AuxiliaryFile)); err == nil && fi.Mode().IsRegular() {
		auxCopy = filepath.Join(work, AuxiliaryFile)
		if err := db.SnapshotFile(ctx, filepath.Join(s.dataDir, AuxiliaryFile), auxCopy); err != nil {
			return fmt.Errorf("snapshot %s: %w", AuxiliaryFile, err)
		}
	}

	f, err := os.OpenFile(zipPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	zw := zip.NewWriter(f)
	if store != nil && !copyFiles {
		if err := zw.SetComment(dbOnlyComment); err != nil {
			return err
		}
	}
	if err := addFile(zw, dbName, dbCopy); err != nil {
		return err
	}
	// The snapshots are in the zip: free their disk space early.
	_ = os.Remove(dbCopy)
	if auxCopy != "" {
		if err := addFile(zw, AuxiliaryFile, auxCopy); err != nil {
			return err
		}
		_ = os.Remove(auxCopy)
	}
	if copyFiles {
		if err := addStorage(ctx, zw, store.Root()); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish the zip: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync the zip: %w", err)
	}
	err = f.Close()
	f = nil
	return err
}

// addStorage adds the files under root as storage/<path>, leaving out
// hidden names (the .tmp folder of files being written; stored files never
// have hidden names) and anything but regular files. Files removed during
// the walk (thumbnails, removals not held) are skipped.
func addStorage(ctx context.Context, zw *zip.Writer, root string) error {
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		err = addFile(zw, storagePrefix+filepath.ToSlash(rel), p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("copy the storage: %w", err)
	}
	return nil
}

// addFile copies the file at src into the zip as name.
func addFile(zw *zip.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return err
	}
	h.Name = name
	h.Method = zip.Deflate
	if compressed(name) {
		h.Method = zip.Store
	}
	w, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	return nil
}

// compressed reports whether a file's extension names an already
// compressed format, stored as is rather than deflated again.
func compressed(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic",
		".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar",
		".mp3", ".mp4", ".m4a", ".mov", ".webm", ".ogg", ".pdf", ".docx", ".xlsx", ".pptx", ".woff2":
		return true
	}
	return false
}

// exportTo writes the export of d (db.ExportData) to the new file p.
func exportTo(ctx context.Context, d *db.DB, p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := d.ExportData(ctx, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
