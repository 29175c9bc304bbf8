package files_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test"
)

// migrateBackends returns a fresh local backend and a fresh bucket on a
// real S3 protocol server.
func migrateBackends(t *testing.T) (*files.Disk, *files.S3) {
	t.Helper()
	srv, err := s3test.Start("files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s3, err := files.NewS3(srv.Settings("files"))
	if err != nil {
		t.Fatal(err)
	}
	return files.NewDisk(filepath.Join(t.TempDir(), "storage")), s3
}

// seed puts n files (and a thumbnail of each third) on b and returns the
// content of every key.
func seed(t *testing.T, b files.Backend, n int) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	want := map[string][]byte{}
	put := func(key string, content []byte, ctype string) {
		if err := b.Put(ctx, key, bytes.NewReader(content), int64(len(content)), ctype); err != nil {
			t.Fatal(err)
		}
		want[key] = content
	}
	for i := range n {
		key := fmt.Sprintf("c%d/r%02d/f%02d.txt", i%2, i, i)
		put(key, bytes.Repeat([]byte{byte('a' + i%26)}, 100+i*37), "text/plain; charset=utf-8")
		if i%3 == 0 {
			put(fmt.Sprintf("c%d/r%02d/thumbs_f%02d.txt/10x10_f%02d.txt", i%2, i, i, i), []byte("thumb"), "text/plain; charset=utf-8")
		}
	}
	return want
}

// contents reads every object of b.
func contents(t *testing.T, b files.Backend) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	got := map[string][]byte{}
	err := b.List(ctx, "", func(info files.ObjectInfo) error {
		o, err := b.Open(ctx, info.Key)
		if err != nil {
			return err
		}
		defer o.Close()
		data, err := io.ReadAll(o)
		got[info.Key] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameContents(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d objects, want %d: %v", what, len(got), len(want), keys(got))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !bytes.Equal(g, w) {
			t.Errorf("%s: %s = %d bytes (present %v), want %d", what, k, len(g), ok, len(w))
		}
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestMigrateLocalToS3(t *testing.T) {
	ctx := context.Background()
	disk, s3 := migrateBackends(t)
	want := seed(t, disk, 10)
	// A large file is streamed (S3 Put in one request of known size), and
	// a PNG gets its sniffed type at the destination (the disk keeps none).
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	for k, v := range map[string][]byte{"c0/big/big.bin": big, "c0/img/pic.png": png} {
		if err := disk.Put(ctx, k, bytes.NewReader(v), int64(len(v)), ""); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	// Leftovers of an interrupted upload are not files: not migrated.
	if err := os.MkdirAll(filepath.Join(disk.Root(), ".tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(disk.Root(), ".tmp", "write-1"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}

	var events []files.MigrateEvent
	res, err := files.Migrate(ctx, disk, s3, files.MigrateOptions{Progress: func(ev files.MigrateEvent) { events = append(events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != len(want) || res.Skipped != 0 || res.Failed != 0 || res.Deleted != 0 {
		t.Fatalf("result = %+v, want %d copied", res, len(want))
	}
	var total int64
	for _, v := range want {
		total += int64(len(v))
	}
	if res.Bytes != total {
		t.Errorf("bytes = %d, want %d", res.Bytes, total)
	}
	if len(events) != len(want) || events[len(events)-1].Totals != res {
		t.Errorf("%d progress events, last totals %+v; want %d ending at %+v", len(events), events[len(events)-1].Totals, len(want), res)
	}
	sameContents(t, "bucket", contents(t, s3), want)
	sameContents(t, "disk (source kept)", contents(t, disk), want)
	for key, ctype := range map[string]string{"c0/img/pic.png": "image/png", "c0/r00/f00.txt": "text/plain; charset=utf-8"} {
		st, err := s3.Stat(ctx, key)
		if err != nil || st.ContentType != ctype {
			t.Errorf("%s content type = %q (%v), want %q", key, st.ContentType, err, ctype)
		}
	}

	// A second run copies nothing.
	res, err = files.Migrate(ctx, disk, s3, files.MigrateOptions{})
	if err != nil || res.Copied != 0 || res.Skipped != len(want) {
		t.Fatalf("second run = %+v, %v; want all %d skipped", res, err, len(want))
	}
}

func TestMigrateS3ToLocalDeletesSourceAfterCopy(t *testing.T) {
	ctx := context.Background()
	disk, s3 := migrateBackends(t)
	want := seed(t, s3, 8)
	// An object of another size at the destination (an older file) is
	// replaced, not skipped.
	if err := disk.Put(ctx, "c0/r00/f00.txt", strings.NewReader("old"), 3, ""); err != nil {
		t.Fatal(err)
	}
	res, err := files.Migrate(ctx, s3, disk, files.MigrateOptions{DeleteSource: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != len(want) || res.Deleted != len(want) || res.Failed != 0 {
		t.Fatalf("result = %+v, want %d copied and deleted", res, len(want))
	}
	sameContents(t, "disk", contents(t, disk), want)
	if left := contents(t, s3); len(left) != 0 {
		t.Errorf("bucket still holds %v", keys(left))
	}
}

func TestMigrateFailureKeepsSource(t *testing.T) {
	ctx := context.Background()
	disk, s3 := migrateBackends(t)
	want := seed(t, s3, 6) // keys under c0/ and c1/
	// A regular file where the folder c1 should be: every c1/ key fails.
	if err := os.MkdirAll(disk.Root(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(disk.Root(), "c1"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	var failed []string
	var mu sync.Mutex
	res, err := files.Migrate(ctx, s3, disk, files.MigrateOptions{DeleteSource: true, Progress: func(ev files.MigrateEvent) {
		if ev.Outcome == files.Failed {
			mu.Lock()
			failed = append(failed, ev.Key)
			mu.Unlock()
			if ev.Err == nil || ev.Deleted {
				t.Errorf("failed event %+v: no error or source deleted", ev)
			}
		}
	}})
	var c1 int
	for k := range want {
		if strings.HasPrefix(k, "c1/") {
			c1++
		}
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d of %d objects failed", c1, len(want))) {
		t.Fatalf("err = %v, want %d of %d failed", err, c1, len(want))
	}
	if res.Failed != c1 || len(failed) != c1 || res.Copied != len(want)-c1 || res.Deleted != len(want)-c1 {
		t.Fatalf("result = %+v, failed %v", res, failed)
	}
	left := contents(t, s3)
	for k, v := range want {
		if strings.HasPrefix(k, "c1/") != (left[k] != nil) {
			t.Errorf("%s in the bucket after the run: %v (failed ones must stay, copied ones go)", k, left[k] != nil)
		}
		if left[k] != nil && !bytes.Equal(left[k], v) {
			t.Errorf("%s changed in the bucket", k)
		}
	}
}

// countingBackend counts the successful Puts per key of a real backend.
type countingBackend struct {
	files.Backend
	mu   sync.Mutex
	puts map[string]int
}

func (c *countingBackend) Put(ctx context.Context, key string, r io.Reader, size int64, ctype string) error {
	err := c.Backend.Put(ctx, key, r, size, ctype)
	if err == nil {
		c.mu.Lock()
		c.puts[key]++
		c.mu.Unlock()
	}
	return err
}

func TestMigrateResumesAfterInterruption(t *testing.T) {
	for _, dir := range []string{"local to s3", "s3 to local"} {
		t.Run(dir, func(t *testing.T) {
			disk, s3 := migrateBackends(t)
			var from, to files.Backend = disk, s3
			if dir == "s3 to local" {
				from, to = s3, disk
			}
			want := seed(t, from, 30)
			dst := &countingBackend{Backend: to, puts: map[string]int{}}

			// Run 1 is cancelled once 5 objects are copied, as by Ctrl-C.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first, err := files.Migrate(ctx, from, dst, files.MigrateOptions{Progress: func(ev files.MigrateEvent) {
				if ev.Totals.Copied == 5 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
			}
			if first.Copied < 5 || first.Copied >= len(want) || first.Failed != 0 {
				t.Fatalf("interrupted run = %+v, want 5 to %d copied, none failed", first, len(want)-1)
			}
			// Whatever was copied is whole (no partial object).
			for k, v := range contents(t, to) {
				if !bytes.Equal(v, want[k]) {
					t.Errorf("after the interruption %s = %d bytes, want %d", k, len(v), len(want[k]))
				}
			}

			// Run 2 finishes without copying anything twice.
			second, err := files.Migrate(context.Background(), from, dst, files.MigrateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if second.Copied+second.Skipped != len(want) || second.Skipped < first.Copied || second.Failed != 0 {
				t.Fatalf("resumed run = %+v after %+v, want %d objects, at least %d skipped", second, first, len(want), first.Copied)
			}
			for k, n := range dst.puts {
				if n != 1 {
					t.Errorf("%s copied %d times", k, n)
				}
			}
			// A copy abandoned at the cancel may still have landed whole
			// (the bucket finished it): run 2 skips it, so at most every
			// object was copied once over both runs.
			if first.Copied+second.Copied > len(want) {
				t.Errorf("%d + %d copies over both runs, more than the %d objects", first.Copied, second.Copied, len(want))
			}
			sameContents(t, "destination", contents(t, to), want)
			sameContents(t, "source (kept)", contents(t, from), want)
		})
	}
}
