package files

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/monobase/monobase/internal/s3"
)

// S3 is the Backend of an S3-compatible bucket (AWS S3, Cloudflare R2,
// Backblaze B2, MinIO, Wasabi, ...), through Monobase's own S3 client
// (internal/s3: SigV4-signed requests with static keys, path-style or
// virtual-host addressing, any region name) that streams objects in
// ranges. Objects are stored at their keys, with their content type.
type S3 struct {
	c *s3.Client
}

// s3Transport bounds the time of each step of a request to the bucket;
// the body itself is bounded by the caller's context.
func s3Transport() http.RoundTripper {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		ForceAttemptHTTP2:     true,
	}
}

// s3PartSize is the part size of uploads above it (backups).
const s3PartSize = 64 << 20

// NewS3 returns the backend of the bucket s describes; it sends nothing
// (Test checks the settings for real). It fails for invalid settings.
func NewS3(s S3Settings) (*S3, error) {
	s.Enabled = true
	if err := s.Validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("files: s3 endpoint: %w", err)
	}
	return &S3{c: s3.New(s3.Config{
		Endpoint:  u,
		Bucket:    s.Bucket,
		Region:    s.Region,
		AccessKey: s.AccessKey,
		Secret:    s.Secret,
		PathStyle: s.ForcePathStyle,
		Transport: s3Transport(),
		PartSize:  s3PartSize,
	})}, nil
}

// Kind returns "s3".
func (s *S3) Kind() string { return "s3" }

// Bucket returns the bucket's name.
func (s *S3) Bucket() string { return s.c.Bucket() }

// Test checks the settings for real: the bucket exists and an object can
// be written, read back and deleted. The error says which step failed.
func (s *S3) Test(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx)
	if err != nil {
		return fmt.Errorf("reach bucket %q: %w", s.Bucket(), s3Error(err))
	}
	if !ok {
		return fmt.Errorf("bucket %q does not exist", s.Bucket())
	}
	key := "monobase_test_" + randomString(12)
	body := "monobase S3 test"
	if err := s.c.Put(ctx, key, strings.NewReader(body), int64(len(body)), "text/plain"); err != nil {
		return fmt.Errorf("write a test object: %w", s3Error(err))
	}
	defer s.c.Delete(context.WithoutCancel(ctx), key)
	st, err := s.c.Head(ctx, key)
	if err != nil {
		return fmt.Errorf("read the test object back: %w", s3Error(err))
	}
	if st.Size != int64(len(body)) {
		return fmt.Errorf("read the test object back: size %d, want %d", st.Size, len(body))
	}
	if err := s.c.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete the test object: %w", s3Error(err))
	}
	return nil
}

// s3Error maps a missing object to fs.ErrNotExist and keeps the rest,
// which never carries the secret.
func s3Error(err error) error {
	if err == nil {
		return nil
	}
	if s3.IsNotFound(err) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}

// Put uploads r in one request (multipart above 64 MiB), unsigned
// payload so that nothing is buffered to hash it.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if !validKey(key) {
		return badKey(key)
	}
	if err := s.c.Put(ctx, key, r, size, contentType); err != nil {
		return fmt.Errorf("files: s3 put %s: %w", key, s3Error(err))
	}
	return nil
}

// Stat sends a HEAD request for key.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if !validKey(key) {
		return ObjectInfo{}, badKey(key)
	}
	st, err := s.c.Head(ctx, key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("files: s3 stat %s: %w", key, s3Error(err))
	}
	return s3Info(st), nil
}

func s3Info(st s3.Object) ObjectInfo {
	etag := strings.Trim(st.ETag, `"`)
	if etag != "" {
		etag = `"` + etag + `"`
	}
	return ObjectInfo{Key: st.Key, Size: st.Size, ModTime: st.LastModified, ContentType: st.ContentType, ETag: etag}
}

// Open sends a HEAD request for key; the content is fetched as it is read.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	info.Key = key
	return newS3Object(ctx, s, info), nil
}

// Delete removes key (S3 answers success for a missing key).
func (s *S3) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return badKey(key)
	}
	if err := s.c.Delete(ctx, key); err != nil {
		return fmt.Errorf("files: s3 delete %s: %w", key, s3Error(err))
	}
	return nil
}

// DeletePrefix lists the keys under prefix and removes them in batches of
// up to 1,000 keys.
func (s *S3) DeletePrefix(ctx context.Context, prefix string) error {
	if !validKey(prefix) || !strings.HasSuffix(prefix, "/") {
		return badKey(prefix)
	}
	var batch []string
	flush := func() error {
		err := s.c.DeleteMany(ctx, batch)
		batch = batch[:0]
		return err
	}
	err := s.c.List(ctx, prefix, "", func(o s3.Object) error {
		if batch = append(batch, o.Key); len(batch) == s3.MaxDeleteBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("files: s3 delete %s: %w", prefix, err)
	}
	return nil
}

// List lists the keys under prefix (S3 lists in lexical order).
func (s *S3) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if prefix != "" && (!validKey(prefix) || !strings.HasSuffix(prefix, "/")) {
		return badKey(prefix)
	}
	var fnErr error // fn's error, returned as it is
	err := s.c.List(ctx, prefix, "", func(o s3.Object) error {
		if !validKey(o.Key) {
			return nil // not ours (a backup, a test object)
		}
		fnErr = fn(s3Info(o))
		return fnErr
	})
	switch {
	case fnErr != nil:
		return fnErr
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("files: s3 list %s: %w", prefix, err)
	}
	return nil
}

// ListRoot calls fn with each object at the bucket's root (keys with no
// "/"), whatever their names: backups keep their files there.
func (s *S3) ListRoot(ctx context.Context, fn func(ObjectInfo) error) error {
	return s.c.List(ctx, "", "/", func(o s3.Object) error { return fn(s3Info(o)) })
}

// s3Object reads an object with ranged GET requests: Read and Seek stream
// from the current offset through a rangedReader (one request, reopened
// only after a Seek elsewhere), ReadAt fetches just the range asked for.
type s3Object struct {
	s    *S3
	ctx  context.Context
	info ObjectInfo
	rangedReader
}

func newS3Object(ctx context.Context, s *S3, info ObjectInfo) *s3Object {
	o := &s3Object{s: s, ctx: ctx, info: info}
	o.rangedReader = rangedReader{get: o.get, size: info.Size}
	return o
}

func (o *s3Object) Info() ObjectInfo { return o.info }

// get opens the range [from, to] (to 0: to the end).
func (o *s3Object) get(from, to int64) (io.ReadCloser, error) {
	if to == 0 {
		to = -1
	}
	body, err := o.s.c.Get(o.ctx, o.info.Key, from, to)
	if err != nil {
		return nil, fmt.Errorf("files: s3 get %s: %w", o.info.Key, s3Error(err))
	}
	return body, nil
}

func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.info.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := min(off+int64(len(p)), o.info.Size)
	body, err := o.get(off, end-1)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:end-off])
	if err == nil && end-off < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}
