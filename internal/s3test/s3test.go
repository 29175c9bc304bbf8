// Package s3test runs a real S3 protocol server on 127.0.0.1 for tests
// (gofakes3 with an in-memory bucket store, see package s3server), so that
// the S3 backend is tested against the wire protocol, not a stand-in of
// our own.
package s3test

import (
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test/s3server"
)

// Keys of every test server (see s3server).
const (
	AccessKey = s3server.AccessKey
	Secret    = s3server.Secret
	Region    = s3server.Region
)

// Server is a running S3 protocol server; its embedded s3server.Server
// has the URL and the per-object request and byte counts.
type Server struct {
	*s3server.Server
}

// Start serves an in-memory S3 on a free port of 127.0.0.1 with the given
// buckets created. Objects live as long as the server.
func Start(buckets ...string) (*Server, error) {
	return StartAt("127.0.0.1:0", buckets...)
}

// StartAt is Start on a given address.
func StartAt(addr string, buckets ...string) (*Server, error) {
	s, err := s3server.Start(addr, buckets...)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// Settings returns S3 settings for bucket on this server (path style).
func (s *Server) Settings(bucket string) files.S3Settings {
	return Settings(s.URL, bucket)
}

// Settings returns S3 settings for bucket on the test server at url.
func Settings(url, bucket string) files.S3Settings {
	return files.S3Settings{Enabled: true, Bucket: bucket, Region: Region, Endpoint: url,
		AccessKey: AccessKey, Secret: Secret, ForcePathStyle: true}
}
