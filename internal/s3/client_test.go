package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/monobase/monobase/internal/s3test/s3server"
)

// newTestClient starts a test S3 server (which checks every signature
// with AWS's signer) with bucket "b", and returns a client of it.
func newTestClient(t *testing.T, mod func(*Config)) (*Client, *s3server.Server) {
	t.Helper()
	srv, err := s3server.Start("127.0.0.1:0", "b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	u, _ := url.Parse(srv.URL)
	cfg := Config{Endpoint: u, Bucket: "b", Region: s3server.Region, AccessKey: s3server.AccessKey,
		Secret: s3server.Secret, PathStyle: true}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg), srv
}

func TestObjects(t *testing.T) {
	c, _ := newTestClient(t, nil)
	ctx := context.Background()
	if ok, err := c.BucketExists(ctx); !ok || err != nil {
		t.Fatalf("bucket exists: %v %v", ok, err)
	}
	key := "a folder/ünïcode + plus.txt"
	body := "0123456789abcdef"
	if err := c.Put(ctx, key, bytes.NewReader([]byte(body)), int64(len(body)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	o, err := c.Head(ctx, key)
	if err != nil || o.Size != int64(len(body)) || o.ContentType != "text/plain" || o.ETag == "" || o.LastModified.IsZero() {
		t.Fatalf("head: %+v %v", o, err)
	}
	for _, r := range []struct {
		from, to int64
		want     string
	}{{0, -1, body}, {10, -1, "abcdef"}, {2, 4, "234"}, {0, 0, "0"}} {
		rc, err := c.Get(ctx, key, r.from, r.to)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != r.want {
			t.Errorf("get %d-%d: %q, want %q", r.from, r.to, got, r.want)
		}
	}
	if err := c.Put(ctx, "empty", bytes.NewReader(nil), 0, ""); err != nil {
		t.Fatalf("empty put: %v", err)
	}
	if o, err := c.Head(ctx, "empty"); err != nil || o.Size != 0 {
		t.Fatalf("empty head: %+v %v", o, err)
	}
	if err := c.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Head(ctx, key); !IsNotFound(err) {
		t.Fatalf("head after delete: %v", err)
	}
	if _, err := c.Get(ctx, key, 0, -1); !IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := c.Delete(ctx, key); err != nil {
		t.Fatalf("a second delete: %v", err)
	}
}

func TestListPagesAndDeleteMany(t *testing.T) {
	c, _ := newTestClient(t, nil)
	ctx := context.Background()
	// More than a page (1,000 keys), and keys at the root and deeper.
	const n = 1005
	for i := range n {
		if err := c.Put(ctx, fmt.Sprintf("p/%04d", i), bytes.NewReader([]byte("x")), 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"root-1.zip", "root-2.zip", "q/other"} {
		if err := c.Put(ctx, k, bytes.NewReader([]byte("yy")), 2, ""); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	if err := c.List(ctx, "p/", "", func(o Object) error {
		if o.Size != 1 {
			t.Errorf("%s: size %d", o.Key, o.Size)
		}
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != n || keys[0] != "p/0000" || keys[n-1] != fmt.Sprintf("p/%04d", n-1) {
		t.Fatalf("listed %d keys, %v ... %v", len(keys), keys[:2], keys[len(keys)-2:])
	}
	var root []string
	if err := c.List(ctx, "", "/", func(o Object) error { root = append(root, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(root) != "[root-1.zip root-2.zip]" {
		t.Fatalf("root: %v", root)
	}
	stop := errors.New("stop")
	seen := 0
	if err := c.List(ctx, "p/", "", func(Object) error { seen++; return stop }); err != stop || seen != 1 {
		t.Fatalf("a failing callback: %v after %d", err, seen)
	}

	if err := c.DeleteMany(ctx, keys[:MaxDeleteBatch]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMany(ctx, keys[MaxDeleteBatch:]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMany(ctx, keys[:10]); err != nil { // gone already: S3 answers success
		t.Fatal(err)
	}
	if err := c.DeleteMany(ctx, append(keys, "one-more")); err == nil {
		t.Fatal("more than a batch accepted")
	}
	left := 0
	c.List(ctx, "p/", "", func(Object) error { left++; return nil })
	if left != 0 {
		t.Fatalf("%d keys left", left)
	}
}

func TestMultipartPut(t *testing.T) {
	c, srv := newTestClient(t, func(c *Config) { c.PartSize = minPartSize })
	ctx := context.Background()
	data := make([]byte, 2*minPartSize+12345)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	// A ReaderAt (parts can be sent again) and a plain reader (once).
	for key, r := range map[string]io.Reader{"at": bytes.NewReader(data), "plain": struct{ io.Reader }{bytes.NewReader(data)}} {
		srv.Reset()
		if err := c.Put(ctx, key, r, int64(len(data)), "application/zip"); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if puts := srv.Object("b", key).Puts; puts != 3 {
			t.Errorf("%s: %d PUT requests, want 3 parts", key, puts)
		}
		rc, err := c.Get(ctx, key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes, not what was written", key, len(got))
		}
	}
	// A body shorter than its size fails, and leaves no object.
	if err := c.Put(ctx, "short", bytes.NewReader(data[:minPartSize+10]), int64(len(data)), ""); err == nil {
		t.Fatal("a short body was accepted")
	}
	if _, err := c.Head(ctx, "short"); !IsNotFound(err) {
		t.Fatalf("after a failed upload: %v", err)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	c, _ := newTestClient(t, func(c *Config) { c.Secret = "not-the-secret" })
	err := c.List(context.Background(), "", "", func(Object) error { return nil })
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("list with a wrong secret: %v", err)
	}
	if ok, err := New(Config{Endpoint: c.cfg.Endpoint, Bucket: "missing", Region: s3server.Region,
		AccessKey: s3server.AccessKey, Secret: s3server.Secret, PathStyle: true}).BucketExists(context.Background()); ok || err != nil {
		t.Fatalf("missing bucket: %v %v", ok, err)
	}
}

// TestRetries sends through a proxy that answers 503 to every other
// request: what can be sent again passes, a body that cannot is sent once.
func TestRetries(t *testing.T) {
	_, srv := newTestClient(t, nil)
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	u, _ := url.Parse(front.URL)
	c := New(Config{Endpoint: u, Bucket: "b", Region: s3server.Region, AccessKey: s3server.AccessKey, Secret: s3server.Secret, PathStyle: true})
	ctx := context.Background()
	if err := c.Put(ctx, "k", bytes.NewReader([]byte("abc")), 3, ""); err != nil {
		t.Fatalf("a seekable body is sent again: %v", err)
	}
	if o, err := c.Head(ctx, "k"); err != nil || o.Size != 3 {
		t.Fatalf("head: %+v %v", o, err)
	}
	n.Store(0)
	err := c.Put(ctx, "k2", iotest.OneByteReader(bytes.NewReader([]byte("abc"))), 3, "")
	var e *Error
	if !errors.As(err, &e) || e.Code != "SlowDown" {
		t.Fatalf("a one-shot body: %v", err)
	}
}

// TestUnsignedWritesAreRefused checks the test server's check: a PUT
// without a signature is refused, so the tests above could not pass with
// a client that signs nothing.
func TestUnsignedWritesAreRefused(t *testing.T) {
	_, srv := newTestClient(t, nil)
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/b/unsigned", bytes.NewReader([]byte("x")))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned PUT: %d", res.StatusCode)
	}
}
