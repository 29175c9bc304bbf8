package files

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/monobase/monobase/db"
)

// DefaultSweepAge is how old a file that no record names must be before
// the server's files cleanup job removes it: far longer than a mutation
// may run (30 s), so that the files of a mutation still in flight, stored
// before its commit, are never taken for garbage.
const DefaultSweepAge = time.Hour

// sweepBatch is how many listed objects are looked up at once: it bounds
// the memory of a sweep, whatever the size of the storage.
const sweepBatch = 500

// ErrDeletesHeld is returned by Sweep while a backup holds deletes
// (HoldDeletes): it stops rather than queue its removals.
var ErrDeletesHeld = errors.New("files: a backup is copying the files")

// SweepResult counts what a sweep did.
type SweepResult struct {
	Listed  int // objects listed
	Removed int // objects removed (files and thumbnails)
}

// Sweep removes from the current backend what no record names: files that
// are not in their record's FILE fields (a mutation cut off between its
// upload and its commit, a crash between a commit and the deletes after
// it, a removed FILE field), thumbnails of such files, the files of
// records and collections that no longer exist. Only objects last modified
// before cutoff are removed, so that files stored for a mutation that has
// not committed yet are left alone: the caller passes a time before which
// every such mutation ended (the process's start, or now minus
// DefaultSweepAge). A file a record names is never removed. Keys that are
// not "<collection>/<record>/<name>" or a thumbnail of one are not ours
// and are skipped.
//
// The listing is streamed and records are looked up sweepBatch objects at
// a time, so memory stays bounded. Removals go through the backup hold:
// while a backup runs Sweep stops with ErrDeletesHeld. A lookup or
// listing error stops it before anything of the batch is removed.
func (s *Store) Sweep(ctx context.Context, d *db.DB, cutoff time.Time) (SweepResult, error) {
	var res SweepResult
	if s.deletesHeld() {
		return res, ErrDeletesHeld
	}
	b := s.Backend()
	bcut, err := backendCutoff(ctx, b, cutoff)
	if err != nil {
		return res, err
	}
	batch := make([]sweepItem, 0, sweepBatch)
	flush := func() error {
		n, err := s.sweepBatch(ctx, d, b, batch)
		res.Removed += n
		batch = batch[:0]
		if err == nil && s.deletesHeld() {
			err = ErrDeletesHeld
		}
		return err
	}
	err = b.List(ctx, "", func(o ObjectInfo) error {
		res.Listed++
		it, ok := parseSweepKey(o.Key)
		if !ok || !o.ModTime.Before(bcut) {
			return nil // not ours, or recent
		}
		batch = append(batch, it)
		if len(batch) < sweepBatch {
			return nil
		}
		return flush()
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return res, fmt.Errorf("files: sweep: %w", err)
	}
	return res, nil
}

// sweepItem is a listed object that may be garbage: a file, or a
// thumbnail of the file name.
type sweepItem struct {
	key, coll, rec, name string
}

// parseSweepKey reads a file's key ("c/r/name") or a thumbnail's
// ("c/r/thumbs_name/size_name"); anything else is not ours.
func parseSweepKey(key string) (sweepItem, bool) {
	parts := strings.Split(key, "/")
	for _, p := range parts {
		if !validSegment(p) {
			return sweepItem{}, false
		}
	}
	switch len(parts) {
	case 3:
		return sweepItem{key: key, coll: parts[0], rec: parts[1], name: parts[2]}, true
	case 4:
		name, ok := strings.CutPrefix(parts[2], thumbsDirPrefix)
		if !ok || !strings.HasSuffix(parts[3], "_"+name) {
			return sweepItem{}, false
		}
		return sweepItem{key: key, coll: parts[0], rec: parts[1], name: name}, true
	}
	return sweepItem{}, false
}

// sweepBatch removes the items of batch that no record names and returns
// how many it removed. Nothing is removed when a lookup fails.
func (s *Store) sweepBatch(ctx context.Context, d *db.DB, b Backend, batch []sweepItem) (int, error) {
	named, err := namedFiles(ctx, d, batch)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, it := range batch {
		if named[it.coll+"/"+it.rec+"/"+it.name] {
			continue
		}
		if err := s.removeKey(ctx, b, it.key); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// namedFiles returns the "c/r/name" of every file that the records of the
// batch's items name. Folders of a collection that does not exist (or
// stores no files) name nothing.
func namedFiles(ctx context.Context, d *db.DB, batch []sweepItem) (map[string]bool, error) {
	ids := map[string][]string{} // collection id -> record ids
	seen := map[string]bool{}
	for _, it := range batch {
		if k := it.coll + "/" + it.rec; !seen[k] {
			seen[k] = true
			ids[it.coll] = append(ids[it.coll], it.rec)
		}
	}
	named := map[string]bool{}
	for cid, recs := range ids {
		c, err := d.Collection(cid)
		if err != nil || c.ID != cid || c.Type == db.TypeView {
			continue // gone (or a name, or a view: never a folder of files)
		}
		var fields []string
		for _, f := range c.Fields {
			if f.Type == db.FieldFile {
				fields = append(fields, f.Name)
			}
		}
		if len(fields) == 0 {
			continue
		}
		found, _, err := d.ReadRecords(ctx, &db.Read{Collection: c, IDs: recs, Columns: fields})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", c.Name, err)
		}
		for _, r := range found {
			for _, f := range fields {
				for _, n := range db.StringList(r[f]) {
					named[cid+"/"+r.ID()+"/"+n] = true
				}
			}
		}
	}
	return named, nil
}

// removeKey deletes key from b, or queues it while a backup holds deletes.
func (s *Store) removeKey(ctx context.Context, b Backend, key string) error {
	if s.deferDelete(func() error { return b.Delete(detach(ctx), key) }) {
		return nil
	}
	return b.Delete(ctx, key)
}

// deletesHeld reports whether a backup holds deletes now.
func (s *Store) deletesHeld() bool {
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	return s.held.holds > 0
}

// backendCutoff returns cutoff on b's clock. Modification times come from
// the backend's clock (an S3 service's), which
// may run behind ours: a probe object is written and its time read back
// (the local disk is on our clock: no probe).
// The offset found is a lower bound (the probe's time is at or before the
// moment it was stored, and S3 gives whole seconds, so the cutoff is then
// rounded down to one): the cutoff may come a little early, never late,
// and a file stored after cutoff is never taken as older.
func backendCutoff(ctx context.Context, b Backend, cutoff time.Time) (time.Time, error) {
	if _, local := b.(*Disk); local {
		return cutoff, nil // the server's own clock
	}
	key := "monobase_clock_probe_" + randomString(12)
	if err := b.Put(ctx, key, strings.NewReader("probe"), 5, "text/plain"); err != nil {
		return time.Time{}, fmt.Errorf("files: sweep: write a clock probe: %w", err)
	}
	stored := time.Now()
	info, err := b.Stat(ctx, key)
	if derr := b.Delete(context.WithoutCancel(ctx), key); err == nil && derr != nil {
		err = fmt.Errorf("delete: %w", derr)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("files: sweep: clock probe: %w", err)
	}
	bcut := cutoff.Add(info.ModTime.Sub(stored))
	if info.ModTime.Nanosecond() == 0 {
		// Whole seconds (S3's Last-Modified): other times may be
		// truncated too, so the cutoff is.
		bcut = bcut.Truncate(time.Second)
	}
	return bcut, nil
}
