package files

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/monobase/monobase/internal/s3test/s3server"
)

// The files tests run against both backends: the local disk, and a bucket
// on a real S3 protocol server on 127.0.0.1 (s3server, gofakes3). Tests
// about the local disk's own layout (the temporary folder, atomic renames,
// folders removed once empty, an unwritable root) stay local-only and say
// so.

// testBackends names the backends of forEachBackend.
var testBackends = []string{"local", "s3"}

// testBucket is the bucket of the S3 test stores.
const testBucket = "files"

// forEachBackend runs fn as a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, kind string)) {
	t.Helper()
	for _, kind := range testBackends {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

// newTestStore returns a store on kind ("local" or "s3") with limits l,
// and for S3 the server of its bucket (nil for local), stopped with t.
func newTestStore(t testing.TB, kind string, l Limits) (*Store, *s3server.Server) {
	t.Helper()
	s := NewLocalWithLimits(filepath.Join(t.TempDir(), "storage"), l)
	switch kind {
	case "local":
		return s, nil
	case "s3":
		srv, err := s3server.Start("127.0.0.1:0", testBucket)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		b, err := NewS3(S3Settings{Enabled: true, Bucket: testBucket, Region: s3server.Region, Endpoint: srv.URL,
			AccessKey: s3server.AccessKey, Secret: s3server.Secret, ForcePathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		s.SetBackend(b)
		return s, srv
	}
	t.Fatalf("unknown backend %q", kind)
	return nil, nil
}

// keysUnder lists the keys under prefix on s's backend.
func keysUnder(t testing.TB, s *Store, prefix string) []string {
	t.Helper()
	var keys []string
	if err := s.Backend().List(context.Background(), prefix, func(i ObjectInfo) error {
		keys = append(keys, i.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// exists reports whether key is stored on s's backend.
func exists(t testing.TB, s *Store, key string) bool {
	t.Helper()
	_, err := s.Backend().Stat(context.Background(), key)
	if err != nil && !IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}
