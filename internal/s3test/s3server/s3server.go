// Package s3server runs a real S3 protocol server on 127.0.0.1 for tests
// (gofakes3 over an in-memory bucket store) and counts, per object, the
// requests it answers and the body bytes it sends, so that a test can show
// what a client fetched from the bucket. It imports nothing of Monobase:
// package files' own tests use it (internal/s3test, which builds
// files.S3Settings, cannot be imported there).
package s3server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Keys of every test server (gofakes3 does not check signatures; the
// client signs with them all the same).
const (
	AccessKey = "monobase-test"
	Secret    = "monobase-test-secret"
	Region    = "us-east-1"
)

// Server is a running S3 protocol server.
type Server struct {
	URL string // http://127.0.0.1:port
	srv *http.Server

	mu    sync.Mutex
	stats map[string]*ObjectStats // by "bucket/key"
}

// ObjectStats counts what the server answered for one object key. Only
// path-style requests (/bucket/key) are counted per object.
type ObjectStats struct {
	Gets, Heads, Puts, Deletes int
	// BytesSent is the body bytes the server wrote in answers about the
	// object (GET bodies, whole or ranged), counted as each write starts:
	// a count read once the client has the bytes is complete, and bytes a
	// client did not wait for are counted all the same.
	BytesSent int64
}

// Start serves an in-memory S3 on addr ("127.0.0.1:0" for a free port)
// with the given buckets created. Objects live as long as the server.
func Start(addr string, buckets ...string) (*Server, error) {
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			return nil, fmt.Errorf("s3server: create bucket %s: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("s3server: listen: %w", err)
	}
	fake := gofakes3.New(be, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	s := &Server{URL: "http://" + ln.Addr().String(), stats: map[string]*ObjectStats{}}
	s.srv = &http.Server{Handler: verify(s.count(fake.Server())), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Object returns the counts of bucket/key since the start or the last
// Reset.
func (s *Server) Object(bucket, key string) ObjectStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stats[bucket+"/"+key]; st != nil {
		return *st
	}
	return ObjectStats{}
}

// Reset forgets every count.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.stats)
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// count wraps h with the per-object counters.
func (s *Server) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := objectPath(r.URL)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		s.add(key, func(st *ObjectStats) {
			switch r.Method {
			case http.MethodGet:
				st.Gets++
			case http.MethodHead:
				st.Heads++
			case http.MethodPut:
				st.Puts++
			case http.MethodDelete:
				st.Deletes++
			}
		})
		h.ServeHTTP(&countingWriter{ResponseWriter: w, sent: func(n int) {
			s.add(key, func(st *ObjectStats) { st.BytesSent += int64(n) })
		}}, r)
	})
}

func (s *Server) add(key string, f func(*ObjectStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[key]
	if st == nil {
		st = &ObjectStats{}
		s.stats[key] = st
	}
	f(st)
}

// objectPath returns "bucket/key" of a path-style object request.
func objectPath(u *url.URL) (string, bool) {
	p := strings.TrimPrefix(u.Path, "/")
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return "", false
	}
	return bucket + "/" + key, true
}

// countingWriter reports the body bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	sent func(int)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.sent(len(p))
	return c.ResponseWriter.Write(p)
}

// Flush passes a flush on when the underlying writer supports it.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
