package files_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test"
)

func TestBackendContract(t *testing.T) {
	srv, err := s3test.Start("test-bucket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s3, err := files.NewS3(srv.Settings("test-bucket"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]files.Backend{"local": files.NewDisk(filepath.Join(t.TempDir(), "storage")), "s3": s3} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			content := bytes.Repeat([]byte("0123456789"), 100_000)
			if err := b.Put(ctx, "c1/r1/a.txt", bytes.NewReader(content), int64(len(content)), "text/plain"); err != nil {
				t.Fatal(err)
			}
			if err := b.Put(ctx, "c1/r1/thumbs_a.txt/1x1_a.txt", strings.NewReader("t"), 1, "text/plain"); err != nil {
				t.Fatal(err)
			}
			if err := b.Put(ctx, "c1/r2/b.txt", strings.NewReader("b"), 1, "text/plain"); err != nil {
				t.Fatal(err)
			}
			o, err := b.Open(ctx, "c1/r1/a.txt")
			if err != nil {
				t.Fatal(err)
			}
			if o.Info().Size != int64(len(content)) || o.Info().ETag == "" || o.Info().ModTime.IsZero() {
				t.Fatalf("info = %+v", o.Info())
			}
			if _, err := o.Seek(12345, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			part := make([]byte, 10)
			if _, err := io.ReadFull(o, part); err != nil || !bytes.Equal(part, content[12345:12355]) {
				t.Fatalf("read at 12345 = %q, %v", part, err)
			}
			if n, err := o.ReadAt(part, int64(len(content))-5); n != 5 || !errors.Is(err, io.EOF) || !bytes.Equal(part[:5], content[len(content)-5:]) {
				t.Fatalf("ReadAt near the end = %d %q %v", n, part[:n], err)
			}
			o.Seek(0, io.SeekStart)
			all, err := io.ReadAll(o)
			if err != nil || !bytes.Equal(all, content) {
				t.Fatalf("read all: %d bytes, %v", len(all), err)
			}
			o.Close()
			var keys []string
			if err := b.List(ctx, "", func(i files.ObjectInfo) error { keys = append(keys, i.Key); return nil }); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(keys, " "); got != "c1/r1/a.txt c1/r1/thumbs_a.txt/1x1_a.txt c1/r2/b.txt" {
				t.Fatalf("list = %s", got)
			}
			if err := b.DeletePrefix(ctx, "c1/r1/"); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Stat(ctx, "c1/r1/a.txt"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("stat after delete: %v", err)
			}
			if err := b.Delete(ctx, "c1/r2/b.txt"); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, "c1/r2/b.txt"); err != nil {
				t.Fatalf("deleting a missing key: %v", err)
			}
			keys = nil
			b.List(ctx, "", func(i files.ObjectInfo) error { keys = append(keys, i.Key); return nil })
			if len(keys) != 0 {
				t.Fatalf("left: %v", keys)
			}
			if _, err := b.Open(ctx, "../x"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("bad key: %v", err)
			}
		})
	}
}
