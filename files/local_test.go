package files

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
)

func upload(name string, content []byte) Upload {
	return Upload{File: bytes.NewReader(content), Filename: name, Size: int64(len(content))}
}

func TestNormalizeName(t *testing.T) {
	const rnd = `[a-z0-9]{10}`
	tests := []struct {
		scenario, original, contentType string
		want                            string // a regexp
	}{
		{"spaces and case are cleaned", "My Photo.JPG", "image/jpeg", `^my_photo_` + rnd + `\.jpg$`},
		{"a path sent by the browser keeps only the base", `C:\Users\me\..\report 2024.pdf`, "", `^report_2024_` + rnd + `\.pdf$`},
		{"dot-dot segments are dropped", "../../etc/passwd", "text/plain", `^passwd_` + rnd + `\.txt$`},
		{"a short name gets a random part", "a.png", "image/png", `^a` + rnd + `_` + rnd + `\.png$`},
		{"no extension takes the detected type's", "avatar", "image/webp", `^avatar_` + rnd + `\.webp$`},
		{"no extension and unknown type stays bare", "blob", "application/octet-stream", `^blob_` + rnd + `$`},
		{"double extension is kept", "backup.tar.gz", "", `^backup_` + rnd + `\.tar\.gz$`},
		{"a version number is not an extension", "release 1.2.zip", "", `^release_1_2_` + rnd + `\.zip$`},
		{"symbols collapse to one underscore", "hello!!  wörld (1).txt", "", `^hello_w_rld_1_` + rnd + `\.txt$`},
		{"a hidden name loses its dot", ".htaccess", "text/plain", `^htaccess_` + rnd + `\.txt$`},
		{"non-latin names become random", "фото.jpg", "", `^` + rnd + `_` + rnd + `\.jpg$`},
		{"odd characters in the extension are removed", "x.P<N>G", "", `^x` + rnd + `_` + rnd + `\.png$`},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			got := NormalizeName(tt.original, tt.contentType)
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Fatalf("NormalizeName(%q) = %q, want match of %s", tt.original, got, tt.want)
			}
			if !regexp.MustCompile(`^[a-z0-9_.-]+$`).MatchString(got) || !validSegment(got) {
				t.Fatalf("NormalizeName(%q) = %q has unsafe characters", tt.original, got)
			}
		})
	}

	t.Run("long names are cut to about 100 characters", func(t *testing.T) {
		got := NormalizeName(strings.Repeat("abc ", 200)+".png", "image/png")
		if len(got) > 100+1+10+4 {
			t.Fatalf("len = %d: %q", len(got), got)
		}
	})
	t.Run("two uploads of one name get different names", func(t *testing.T) {
		if a, b := NormalizeName("x.png", ""), NormalizeName("x.png", ""); a == b {
			t.Fatalf("both %q", a)
		}
	})
}

func TestSaveOpenDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s, _ := newTestStore(t, kind, Limits{})
		content := []byte("hello, files")

		name, err := s.Save(ctx, "col1", "rec1", upload("Hello World.txt", content))
		if err != nil {
			t.Fatal(err)
		}
		t.Run("the name is sanitized with a random suffix", func(t *testing.T) {
			if !regexp.MustCompile(`^hello_world_[a-z0-9]{10}\.txt$`).MatchString(name) {
				t.Fatalf("name = %q", name)
			}
		})
		t.Run("the file is at collection/record/name, alone", func(t *testing.T) {
			if keys := keysUnder(t, s, "col1/"); len(keys) != 1 || keys[0] != "col1/rec1/"+name {
				t.Fatalf("stored %v", keys)
			}
		})
		t.Run("open returns the content and its info", func(t *testing.T) {
			f, err := s.Open(context.Background(), "col1", "rec1", name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, _ := io.ReadAll(f)
			if !bytes.Equal(got, content) || f.Info().Size != int64(len(content)) || f.Info().ETag == "" {
				t.Fatalf("got %q, info %+v", got, f.Info())
			}
		})
		t.Run("an upload read before is saved whole", func(t *testing.T) {
			up := upload("again.txt", content)
			_, _ = io.ReadAll(up.File) // as a validator would
			n, err := s.Save(ctx, "col1", "rec1", up)
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.Open(ctx, "col1", "rec1", n)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got, _ := io.ReadAll(f); !bytes.Equal(got, content) {
				t.Fatalf("saved %q", got)
			}
		})
		t.Run("unsafe names are refused and not found", func(t *testing.T) {
			for _, bad := range []string{"../rec1/" + name, "..", ".", "", "a/b", `a\b`, "/etc/passwd", ".hidden"} {
				if _, err := s.Open(context.Background(), "col1", "rec1", bad); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Open(%q) err = %v, want not exist", bad, err)
				}
			}
			if _, err := s.Open(context.Background(), "..", "storage", name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open with collection '..' err = %v", err)
			}
			if _, err := s.Save(ctx, "col1", "../x", upload("a.txt", content)); err == nil {
				t.Error("Save into ../x succeeded")
			}
			if err := s.Delete(ctx, "col1", "rec1", "../rec1"); err == nil {
				t.Error("Delete of ../rec1 succeeded")
			}
		})
		t.Run("delete removes the file and its thumbnails, twice is fine", func(t *testing.T) {
			img := saveImage(t, s, "a.png", encodePNG(t, halves(20, 10, red, blue, false)))
			f, err := s.Thumb(ctx, "col", "rec", img, "10x10")
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if len(keysUnder(t, s, "col/rec/thumbs_"+img+"/")) != 1 {
				t.Fatal("no thumbnail stored")
			}
			for i := 0; i < 2; i++ {
				if err := s.Delete(ctx, "col", "rec", img); err != nil {
					t.Fatalf("delete #%d: %v", i+1, err)
				}
			}
			if keys := keysUnder(t, s, "col/"); len(keys) != 0 {
				t.Fatalf("left: %v", keys)
			}
			if _, err := s.Open(context.Background(), "col", "rec", img); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("open after delete: %v", err)
			}
		})
		t.Run("delete record removes its files, twice is fine", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				if err := s.DeleteRecord(ctx, "col1", "rec1"); err != nil {
					t.Fatal(err)
				}
			}
			if keys := keysUnder(t, s, "col1/"); len(keys) != 0 {
				t.Fatalf("left: %v", keys)
			}
		})
		t.Run("delete collection removes its files and no other's", func(t *testing.T) {
			for _, c := range []string{"col2", "col3"} {
				if _, err := s.Save(ctx, c, "rec", upload("a.txt", content)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DeleteCollection(ctx, "col2"); err != nil {
				t.Fatal(err)
			}
			if keys := keysUnder(t, s, ""); len(keys) != 1 || !strings.HasPrefix(keys[0], "col3/rec/") {
				t.Fatalf("left: %v", keys)
			}
		})
	})
}

// TestDiskLayout is local-only: it is about the files and folders of the
// local disk.
func TestDiskLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := NewLocal(filepath.Join(root, "storage"))
	content := []byte("hello, files")
	name, err := s.Save(ctx, "col1", "rec1", upload("Hello World.txt", content))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the file is at root/collection/record/name with no temporary file left", func(t *testing.T) {
		got, err := os.ReadFile(filepath.Join(root, "storage", "col1", "rec1", name))
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("content = %q, %v", got, err)
		}
		entries, _ := os.ReadDir(filepath.Join(root, "storage", "col1", "rec1"))
		if len(entries) != 1 {
			t.Fatalf("folder holds %d entries, want 1", len(entries))
		}
	})
	t.Run("a folder is not a file", func(t *testing.T) {
		if err := os.Mkdir(filepath.Join(root, "storage", "col1", "rec1", "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(context.Background(), "col1", "rec1", "sub"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open(folder) err = %v", err)
		}
	})
	t.Run("delete removes the thumbnails folder", func(t *testing.T) {
		thumbs := filepath.Join(root, "storage", "col1", "rec1", thumbsDirPrefix+name)
		if err := os.MkdirAll(thumbs, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "col1", "rec1", name); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(thumbs); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("thumbs folder still there: %v", err)
		}
	})
	t.Run("delete record removes its folder", func(t *testing.T) {
		if err := s.DeleteRecord(ctx, "col1", "rec1"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "storage", "col1", "rec1")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("record folder still there: %v", err)
		}
	})
	t.Run("delete collection removes its folder", func(t *testing.T) {
		if _, err := s.Save(ctx, "col2", "rec", upload("a.txt", content)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCollection(ctx, "col2"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "storage", "col2")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("collection folder still there: %v", err)
		}
	})
}

func TestSaveFailures(t *testing.T) {
	ctx := context.Background()
	// Local-only: a root that is a file.
	t.Run("an unwritable root is a wrapped error", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(root, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := NewLocal(root).Save(ctx, "c", "r", upload("a.txt", []byte("x")))
		if err == nil || !strings.Contains(err.Error(), "files: save") {
			t.Fatalf("err = %v", err)
		}
	})
	forEachBackend(t, func(t *testing.T, kind string) {
		s, _ := newTestStore(t, kind, Limits{})
		t.Run("a cancelled context saves nothing", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Save(cctx, "c", "r", upload("a.txt", []byte("x"))); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			if keys := keysUnder(t, s, ""); len(keys) != 0 {
				t.Fatalf("stored %v", keys)
			}
		})
		t.Run("a failing reader leaves no partial file", func(t *testing.T) {
			up := Upload{File: &failingReader{data: bytes.Repeat([]byte("x"), 2000)}, Filename: "a.txt"}
			if _, err := s.Save(ctx, "c", "r", up); err == nil {
				t.Fatal("no error")
			}
			if keys := keysUnder(t, s, ""); len(keys) != 0 {
				t.Fatalf("stored %v", keys)
			}
		})
	})
}

// failingReader serves data, then fails past the first 1000 bytes.
type failingReader struct {
	data []byte
	pos  int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.pos >= 1000 {
		return 0, errors.New("connection reset")
	}
	n := copy(p, f.data[f.pos:min(int64(len(f.data)), 1000)])
	f.pos += int64(n)
	return n, nil
}

func (f *failingReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		f.pos = off
	case io.SeekEnd:
		f.pos = int64(len(f.data)) + off
	default:
		f.pos += off
	}
	return f.pos, nil
}

func TestURL(t *testing.T) {
	s := NewLocal(t.TempDir())
	c := &db.Collection{ID: "pbc_123", Name: "posts"}
	tests := []struct {
		scenario, name, thumb string
		download              bool
		want                  string
	}{
		{"plain", "a_1234567890.png", "", false, "/files/posts/rec/a_1234567890.png"},
		{"thumb", "a.png", "100x100", false, "/files/posts/rec/a.png?thumb=100x100"},
		{"download", "a.png", "", true, "/files/posts/rec/a.png?download=1"},
		{"both", "a.png", "0x50", true, "/files/posts/rec/a.png?download=1&thumb=0x50"},
		{"odd characters are escaped", "a b?.png", "1 x", false, "/files/posts/rec/a%20b%3F.png?thumb=1+x"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			if got := s.URL(c, "rec", tt.name, tt.thumb, tt.download); got != tt.want {
				t.Fatalf("URL = %q, want %q", got, tt.want)
			}
		})
	}
}
