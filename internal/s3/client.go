// Package s3 is a small client of the S3 protocol, for the buckets of
// AWS S3 and of the services that speak it (Cloudflare R2, Backblaze B2,
// MinIO, Wasabi, ...): requests signed with AWS Signature Version 4 and
// static keys, path-style or virtual-host addressing, and the operations
// Monobase's files and backups need: put (multipart above a part size),
// head, ranged get, delete, list (ListObjectsV2) and batch delete.
//
// It replaces minio-go, which did the same through a larger API and cost
// about 2 MB of the release binary with its dependencies.
package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Config says which bucket a Client reaches and how.
type Config struct {
	// Endpoint is the service's URL; only its scheme and host are used
	// (https://s3.us-east-1.amazonaws.com, http://127.0.0.1:9000).
	Endpoint  *url.URL
	Bucket    string
	Region    string
	AccessKey string
	Secret    string
	// PathStyle addresses the bucket as <endpoint>/<bucket>/<key> instead
	// of <bucket>.<endpoint host>/<key>.
	PathStyle bool
	// Transport sends the requests (nil: http.DefaultTransport).
	Transport http.RoundTripper
	// PartSize is the size of a multipart upload's parts, and the size
	// above which Put uploads in parts (0: 64 MiB; at least 5 MiB).
	PartSize int64
	// Attempts bounds how many times a request that can be sent again is
	// sent when the network fails or the service answers 500, 502, 503 or
	// 504 (0: 3).
	Attempts int
}

// Client sends the requests of one bucket.
type Client struct {
	cfg  Config
	http *http.Client
	now  func() time.Time // the signing time (tests fix it)
}

// minPartSize is S3's smallest part but the last.
const minPartSize = 5 << 20

// New returns the client of c's bucket; it sends nothing.
func New(c Config) *Client {
	if c.PartSize == 0 {
		c.PartSize = 64 << 20
	}
	c.PartSize = max(c.PartSize, minPartSize)
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	t := c.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	return &Client{cfg: c, http: &http.Client{Transport: t, CheckRedirect: noRedirects}, now: time.Now}
}

// noRedirects hands a redirect back to the caller: a signed request must
// not be replayed elsewhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Bucket returns the bucket's name.
func (c *Client) Bucket() string { return c.cfg.Bucket }

// Error is a failure the service answered, with S3's error code
// (NoSuchKey, AccessDenied, ...; for a HEAD, which has no body, NotFound,
// Forbidden or the status text).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("s3: %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("s3: %d %s", e.Status, e.Code)
}

// IsNotFound reports whether err is the service saying that the key (or
// the bucket) does not exist.
func IsNotFound(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && (e.Code == "NoSuchKey" || e.Code == "NotFound" || e.Code == "NoSuchBucket")
}

// request is one request to the bucket.
type request struct {
	method string
	key    string     // "" for the bucket itself
	query  url.Values // sub-resources and parameters
	header http.Header
	// body is sent as it is (nil: none); a body that is not an
	// io.ReadSeeker is sent once, never again after a failure.
	body        io.Reader
	size        int64  // the body's length
	payloadHash string // "": emptyPayload without a body, unsignedPayload with one
}

// url returns the request's URL: its path encoded as the signature wants.
func (c *Client) url(key string, query url.Values) *url.URL {
	u := &url.URL{Scheme: c.cfg.Endpoint.Scheme, Host: c.cfg.Endpoint.Host}
	path := "/" + key
	if c.cfg.PathStyle {
		path = "/" + c.cfg.Bucket + path
	} else {
		u.Host = c.cfg.Bucket + "." + u.Host
	}
	u.Path = path
	u.RawPath = escape(path, false)
	if len(query) > 0 {
		u.RawQuery = encodeQuery(query)
	}
	return u
}

// encodeQuery encodes v as canonicalQuery would, so that the wire and the
// signature agree: with escape (url.Values.Encode writes spaces as "+",
// which S3 would read as a plus), sorted.
func encodeQuery(v url.Values) string {
	var parts []string
	for k, vs := range v {
		for _, s := range vs {
			parts = append(parts, escape(k, true)+"="+escape(s, true))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

// do sends r, signed, again after a transient failure when its body
// allows, and returns the response of a 2xx status; any other status is
// returned as an *Error.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	seeker, canRewind := r.body.(io.ReadSeeker)
	attempts := c.cfg.Attempts
	if r.body != nil && !canRewind {
		attempts = 1
	}
	var start int64
	if canRewind {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			attempts = 1
		}
	}
	for attempt := 1; ; attempt++ {
		if attempt > 1 && canRewind {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("s3: rewind the body: %w", err)
			}
		}
		res, err := c.send(ctx, r)
		if err == nil && res.StatusCode/100 == 2 {
			return res, nil
		}
		if err == nil {
			err = responseError(res)
		}
		if attempt >= attempts || ctx.Err() != nil || !transient(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 100 * time.Millisecond):
		}
	}
}

// send sends r once.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil && r.size > 0 {
		// Hide any WriterTo or Seeker from net/http: it sends size bytes.
		body = io.LimitReader(r.body, r.size)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, "", body)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	req.URL = c.url(r.key, r.query)
	req.Host = req.URL.Host
	if body != nil {
		req.ContentLength = r.size
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	hash := r.payloadHash
	if hash == "" {
		hash = emptyPayload
		if r.body != nil {
			hash = unsignedPayload
		}
	}
	sign(req, c.cfg.AccessKey, c.cfg.Secret, c.cfg.Region, hash, c.now())
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("s3: %s %s: %w", r.method, req.URL.Path, err)
	}
	return res, nil
}

// transient reports whether err may pass if the request is sent again.
func transient(err error) bool {
	if e, ok := errors.AsType[*Error](err); ok {
		switch e.Status {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// maxErrorBody bounds the error document read from an answer.
const maxErrorBody = 64 << 10

// responseError reads the error of a non-2xx answer and closes its body.
func responseError(res *http.Response) error {
	defer res.Body.Close()
	e := &Error{Status: res.StatusCode}
	var doc struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody)); len(body) > 0 && xml.Unmarshal(body, &doc) == nil {
		e.Code, e.Message = doc.Code, doc.Message
	}
	if e.Code == "" { // a HEAD's answer has no body
		switch res.StatusCode {
		case http.StatusNotFound:
			e.Code, e.Message = "NotFound", "Not Found."
		case http.StatusForbidden:
			e.Code, e.Message = "AccessDenied", "Access Denied."
		default:
			e.Code = strings.ReplaceAll(http.StatusText(res.StatusCode), " ", "")
		}
	}
	if region := res.Header.Get("X-Amz-Bucket-Region"); region != "" && (res.StatusCode/100 == 3 || res.StatusCode == http.StatusBadRequest) {
		e.Message = strings.TrimSpace(e.Message + " The bucket is in region " + region + ".")
	}
	return e
}

// discard reads what is left of res's body, so that its connection is
// reused, and closes it.
func discard(res *http.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, maxErrorBody))
	res.Body.Close()
}

// BucketExists sends a HEAD request for the bucket.
func (c *Client) BucketExists(ctx context.Context) (bool, error) {
	res, err := c.do(ctx, request{method: http.MethodHead})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	discard(res)
	return true, nil
}

// Object is what the service says of an object.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
	ContentType  string
	ETag         string // as the service sends it, quotes included
}

// Head returns what the service says of key.
func (c *Client) Head(ctx context.Context, key string) (Object, error) {
	res, err := c.do(ctx, request{method: http.MethodHead, key: key})
	if err != nil {
		return Object{}, err
	}
	discard(res)
	// net/http keeps a HEAD answer's Content-Length in ContentLength.
	o := Object{Key: key, Size: res.ContentLength, ContentType: res.Header.Get("Content-Type"), ETag: res.Header.Get("ETag")}
	o.LastModified, _ = http.ParseTime(res.Header.Get("Last-Modified"))
	return o, nil
}

// Get returns the body of key from byte from to byte to, both included
// (to < 0: to the end; from 0 and to < 0: the whole object).
func (c *Client) Get(ctx context.Context, key string, from, to int64) (io.ReadCloser, error) {
	h := http.Header{}
	switch {
	case to >= 0:
		h.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to))
	case from > 0:
		h.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	res, err := c.do(ctx, request{method: http.MethodGet, key: key, header: h})
	if err != nil {
		return nil, err
	}
	return res.Body, nil
}

// Delete removes key; S3 answers success for a key that does not exist.
func (c *Client) Delete(ctx context.Context, key string) error {
	res, err := c.do(ctx, request{method: http.MethodDelete, key: key})
	if err != nil {
		return err
	}
	discard(res)
	return nil
}
