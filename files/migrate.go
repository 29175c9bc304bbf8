package files

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// MigrateOptions tune Migrate. The zero value copies with
// DefaultMigrateWorkers workers and deletes nothing.
type MigrateOptions struct {
	// Workers is the number of objects copied at once (0: the default).
	Workers int
	// DeleteSource removes each object from the source once its copy is
	// verified (the destination holds an object of the same size). Off,
	// the source is left intact.
	DeleteSource bool
	// Progress, when set, is called after each object, one call at a
	// time, with the object's outcome and the totals so far.
	Progress func(MigrateEvent)
}

// DefaultMigrateWorkers is the number of objects Migrate copies at once
// unless told otherwise: enough to hide a bucket's round trip per object.
const DefaultMigrateWorkers = 4

// maxMigrateWorkers bounds MigrateOptions.Workers.
const maxMigrateWorkers = 64

// MigrateOutcome is what Migrate did with one object.
type MigrateOutcome string

// The outcomes of an object.
const (
	Copied  MigrateOutcome = "copied"  // copied and verified
	Skipped MigrateOutcome = "skipped" // already at the destination with the same size
	Failed  MigrateOutcome = "failed"  // not copied (Err says why); the source is kept
)

// MigrateEvent reports one object to MigrateOptions.Progress.
type MigrateEvent struct {
	Key     string
	Size    int64
	Outcome MigrateOutcome
	Err     error // set for Failed
	// Deleted is true when the source object was removed (DeleteSource).
	Deleted bool
	Totals  MigrateResult // the totals including this object
}

// MigrateResult counts the objects of a migration.
type MigrateResult struct {
	Copied  int
	Skipped int
	Failed  int
	Deleted int   // source objects removed (DeleteSource)
	Bytes   int64 // bytes copied (skipped objects not included)
}

// Migrate copies every object of from (record files and their
// thumbnails: every key the backend lists) to to, streaming each one,
// with its content type (sniffed when from keeps none). An object that to
// already holds with the same size is skipped, so a migration that was
// interrupted resumes where it stopped: both backends write an object
// whole or not at all, so a same-sized object is a finished copy. Each copy
// is verified by a Stat of the destination (the size must match) before
// it counts, and before its source is deleted when opts.DeleteSource.
//
// An object that fails is counted and reported (Progress) and the others
// go on; Migrate then returns an error saying how many failed. A listing
// failure or the end of ctx stops it: the objects in flight are abandoned
// (never left half-written) and the error is returned with the totals so
// far.
func Migrate(ctx context.Context, from, to Backend, opts MigrateOptions) (MigrateResult, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultMigrateWorkers
	}
	workers = min(workers, maxMigrateWorkers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu  sync.Mutex
		res MigrateResult
	)
	report := func(ev MigrateEvent) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Outcome {
		case Copied:
			res.Copied++
			res.Bytes += ev.Size
		case Skipped:
			res.Skipped++
		case Failed:
			res.Failed++
		}
		if ev.Deleted {
			res.Deleted++
		}
		ev.Totals = res
		if opts.Progress != nil {
			opts.Progress(ev)
		}
	}

	jobs := make(chan ObjectInfo)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for info := range jobs {
				ev := migrateOne(ctx, from, to, info, opts.DeleteSource)
				if ctx.Err() != nil && ev.Outcome == Failed {
					continue // abandoned: not a failure of the object
				}
				report(ev)
			}
		}()
	}
	listErr := from.List(ctx, "", func(info ObjectInfo) error {
		select {
		case jobs <- info:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("files: migrate %s to %s: stopped: %w", from.Kind(), to.Kind(), err)
	}
	if listErr != nil {
		return res, fmt.Errorf("files: migrate %s to %s: %w", from.Kind(), to.Kind(), listErr)
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("files: migrate %s to %s: %d of %d objects failed", from.Kind(), to.Kind(),
			res.Failed, res.Copied+res.Skipped+res.Failed)
	}
	return res, nil
}

// migrateOne copies one object unless to holds it whole already, verifies
// the copy and, when deleteSource, removes the source.
func migrateOne(ctx context.Context, from, to Backend, info ObjectInfo, deleteSource bool) MigrateEvent {
	ev := MigrateEvent{Key: info.Key, Size: info.Size, Outcome: Copied}
	fail := func(err error) MigrateEvent {
		ev.Outcome, ev.Err = Failed, err
		return ev
	}
	if st, err := to.Stat(ctx, info.Key); err == nil && st.Size == info.Size {
		ev.Outcome = Skipped
	} else if err != nil && !IsNotExist(err) {
		return fail(err)
	} else {
		size, err := copyObject(ctx, from, to, info.Key)
		if err != nil {
			return fail(err)
		}
		ev.Size = size
		st, err := to.Stat(ctx, info.Key)
		if err != nil {
			return fail(fmt.Errorf("files: verify %s: %w", info.Key, err))
		}
		if st.Size != size {
			return fail(fmt.Errorf("files: verify %s: %d bytes at the destination, %d at the source", info.Key, st.Size, size))
		}
	}
	if deleteSource {
		if err := from.Delete(ctx, info.Key); err != nil {
			return fail(fmt.Errorf("files: delete the source of %s (the copy is whole): %w", info.Key, err))
		}
		ev.Deleted = true
	}
	return ev
}

// copyObject streams the object at key from one backend to the other and
// returns its size.
func copyObject(ctx context.Context, from, to Backend, key string) (int64, error) {
	obj, err := from.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer obj.Close()
	info := obj.Info()
	ctype := info.ContentType
	if ctype == "" {
		head, err := readHead(obj)
		if err != nil {
			return 0, fmt.Errorf("files: read %s: %w", key, err)
		}
		ctype = contentTypeHeader(detectContentType(head, key[strings.LastIndexByte(key, '/')+1:]))
	}
	if err := to.Put(ctx, key, obj, info.Size, ctype); err != nil {
		return 0, err
	}
	return info.Size, nil
}
