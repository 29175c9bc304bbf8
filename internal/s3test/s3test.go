// Package s3test runs a real S3 protocol server on 127.0.0.1 for tests
// (gofakes3 with an in-memory or on-disk bucket store), so that the S3
// backend is tested against the wire protocol, not a stand-in of our own.
package s3test

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/monobase/monobase/files"
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
	ln  net.Listener
}

// Start serves an in-memory S3 on a free port of 127.0.0.1 with the given
// buckets created. Objects live as long as the server.
func Start(buckets ...string) (*Server, error) {
	return StartAt("127.0.0.1:0", buckets...)
}

// StartAt is Start on a given address.
func StartAt(addr string, buckets ...string) (*Server, error) {
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			return nil, fmt.Errorf("s3test: create bucket %s: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("s3test: listen: %w", err)
	}
	fake := gofakes3.New(be, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: fake.Server(), ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// Settings returns S3 settings for bucket on this server (path style).
func (s *Server) Settings(bucket string) files.S3Settings {
	return files.S3Settings{Enabled: true, Bucket: bucket, Region: Region, Endpoint: s.URL,
		AccessKey: AccessKey, Secret: Secret, ForcePathStyle: true}
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }
