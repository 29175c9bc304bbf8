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

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is the Backend of an S3-compatible bucket (AWS S3, Cloudflare R2,
// Backblaze B2, MinIO, Wasabi, ...), through minio-go: a small client made
// for S3-compatible services (path-style addressing, static keys, any
// region name) that streams objects in ranges. Objects are stored at their
// keys, with their content type.
type S3 struct {
	core   *minio.Core
	bucket string
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
	lookup := minio.BucketLookupDNS
	if s.ForcePathStyle {
		lookup = minio.BucketLookupPath
	}
	core, err := minio.NewCore(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.Secret, ""),
		Secure:       u.Scheme == "https",
		Region:       s.Region,
		BucketLookup: lookup,
		Transport:    s3Transport(),
		MaxRetries:   3,
	})
	if err != nil {
		return nil, fmt.Errorf("files: s3 client: %w", err)
	}
	return &S3{core: core, bucket: s.Bucket}, nil
}

// Kind returns "s3".
func (s *S3) Kind() string { return "s3" }

// Bucket returns the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

// Client returns the minio client, for callers that store objects of
// their own outside the file keys (backups).
func (s *S3) Client() *minio.Client { return s.core.Client }

// Test checks the settings for real: the bucket exists and an object can
// be written, read back and deleted. The error says which step failed.
func (s *S3) Test(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("reach bucket %q: %w", s.bucket, s3Error(err))
	}
	if !ok {
		return fmt.Errorf("bucket %q does not exist", s.bucket)
	}
	key := "monobase_test_" + randomString(12)
	body := "monobase S3 test"
	if _, err := s.core.Client.PutObject(ctx, s.bucket, key, strings.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "text/plain", DisableContentSha256: true}); err != nil {
		return fmt.Errorf("write a test object: %w", s3Error(err))
	}
	defer s.core.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
	st, err := s.core.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return fmt.Errorf("read the test object back: %w", s3Error(err))
	}
	if st.Size != int64(len(body)) {
		return fmt.Errorf("read the test object back: size %d, want %d", st.Size, len(body))
	}
	if err := s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
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
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NotFound":
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
	_, err := s.core.Client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		ContentType:          contentType,
		DisableContentSha256: true,
		PartSize:             64 << 20,
	})
	if err != nil {
		return fmt.Errorf("files: s3 put %s: %w", key, s3Error(err))
	}
	return nil
}

// Stat sends a HEAD request for key.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if !validKey(key) {
		return ObjectInfo{}, badKey(key)
	}
	st, err := s.core.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("files: s3 stat %s: %w", key, s3Error(err))
	}
	return s3Info(st), nil
}

func s3Info(st minio.ObjectInfo) ObjectInfo {
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
	if err := s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("files: s3 delete %s: %w", key, s3Error(err))
	}
	return nil
}

// DeletePrefix lists the keys under prefix and removes them in batches.
func (s *S3) DeletePrefix(ctx context.Context, prefix string) error {
	if !validKey(prefix) || !strings.HasSuffix(prefix, "/") {
		return badKey(prefix)
	}
	objects := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objects)
		for o := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			select {
			case objects <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	var first error
	for e := range s.core.Client.RemoveObjects(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		if first == nil && e.Err != nil {
			first = fmt.Errorf("files: s3 delete %s: %w", e.ObjectName, e.Err)
		}
	}
	if first == nil && listErr != nil {
		first = fmt.Errorf("files: s3 list %s: %w", prefix, listErr)
	}
	return first
}

// List lists the keys under prefix (S3 lists in lexical order).
func (s *S3) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if prefix != "" && (!validKey(prefix) || !strings.HasSuffix(prefix, "/")) {
		return badKey(prefix)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn fails
	for o := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("files: s3 list %s: %w", prefix, o.Err)
		}
		if !validKey(o.Key) {
			continue // not ours (a backup, a test object)
		}
		if err := fn(s3Info(o)); err != nil {
			return err
		}
	}
	return ctx.Err()
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
	var opts minio.GetObjectOptions
	if from > 0 || to > 0 {
		if err := opts.SetRange(from, to); err != nil {
			return nil, fmt.Errorf("files: s3 range: %w", err)
		}
	}
	body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.info.Key, opts)
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
