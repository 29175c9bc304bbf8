package files

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// s3Param is the _params key of the settings group s3.
const s3Param = "settings.s3"

// S3Settings are the settings group s3 (and backups.s3): an S3-compatible
// bucket for the record files (Store.ApplyS3) or the backups. Secret is write-only on the admin
// API and encrypted at rest with MONOBASE_ENCRYPTION_KEY.
type S3Settings struct {
	Enabled   bool   `json:"enabled"`
	Bucket    string `json:"bucket"`
	Region    string `json:"region"`
	Endpoint  string `json:"endpoint"` // http(s) URL, e.g. https://s3.us-east-1.amazonaws.com
	AccessKey string `json:"accessKey"`
	Secret    string `json:"secret"`
	// ForcePathStyle addresses the bucket as <endpoint>/<bucket> instead
	// of <bucket>.<endpoint host> (MinIO and most self-hosted stores).
	ForcePathStyle bool `json:"forcePathStyle"`
}

// Bounds of S3Settings.Check.
const (
	maxS3KeyLength    = 256  // accessKey
	maxS3SecretLength = 1024 // secret
	maxEndpointLength = 2000
)

var (
	// bucketRe is the S3 bucket naming rule: 3 to 63 lower-case letters,
	// digits, dots and hyphens, starting and ending with a letter or digit.
	bucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// Check adds to fe an error for each invalid field, named prefix + "." +
// the field (s3.bucket, backups.s3.endpoint, ...). Every field is checked
// when given; when Enabled, endpoint, bucket, region, accessKey and secret
// are required (as PocketBase).
func (s S3Settings) Check(prefix string, fe *apperr.FieldErrors) {
	field := func(name string) string { return prefix + "." + name }
	required := func(name, v string) bool {
		if strings.TrimSpace(v) != "" {
			return true
		}
		if s.Enabled {
			fe.Add(field(name), "required", "cannot be blank when %s is enabled", prefix)
		}
		return false
	}
	if required("bucket", s.Bucket) && (!bucketRe.MatchString(s.Bucket) || strings.Contains(s.Bucket, "..")) {
		fe.Add(field("bucket"), "invalid", "must be 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit")
	}
	if required("region", s.Region) && !regionRe.MatchString(s.Region) {
		fe.Add(field("region"), "invalid", "must be 1 to 64 letters, digits, - and _ (us-east-1, auto, ...)")
	}
	if required("endpoint", s.Endpoint) {
		if msg := endpointError(s.Endpoint); msg != "" {
			fe.Add(field("endpoint"), "invalid", "%s", msg)
		}
	}
	if required("accessKey", s.AccessKey) && (len(s.AccessKey) > maxS3KeyLength || hasControl(s.AccessKey)) {
		fe.Add(field("accessKey"), "invalid", "must be at most %d characters on one line", maxS3KeyLength)
	}
	if required("secret", s.Secret) && (len(s.Secret) > maxS3SecretLength || hasControl(s.Secret)) {
		fe.Add(field("secret"), "invalid", "must be at most %d characters on one line", maxS3SecretLength)
	}
}

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field of the group s3 (s3.bucket, ...), or nil.
func (s S3Settings) Validate() error {
	var fe apperr.FieldErrors
	s.Check("s3", &fe)
	return fe.Err("invalid settings")
}

// endpointError returns why v is not an S3 endpoint, "" when it is one.
func endpointError(v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil || len(v) > maxEndpointLength || hasControl(v):
		return "must be an http(s) URL such as https://s3.us-east-1.amazonaws.com"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with https:// or http:// (such as https://s3.us-east-1.amazonaws.com)"
	case u.Host == "" || u.Hostname() == "":
		return "must name a host"
	case u.User != nil:
		return "must not hold credentials: use accessKey and secret"
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, "?#"):
		return "must not have a query or fragment"
	}
	return ""
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// Sealed returns s with its secret as it is stored: sealed by
// db.DB.SealSecret (encrypted when the server has a key).
func (s S3Settings) Sealed(d *db.DB) (S3Settings, error) {
	v, err := d.SealSecret(s.Secret)
	if err != nil {
		return s, fmt.Errorf("secret: %w", err)
	}
	s.Secret = v
	return s, nil
}

// Opened returns the stored s with its secret readable
// (db.DB.OpenSecret); on failure the secret is "" and the error says why,
// never what it holds.
func (s S3Settings) Opened(d *db.DB) (S3Settings, error) {
	v, err := d.OpenSecret(s.Secret)
	if err != nil {
		s.Secret = ""
		return s, fmt.Errorf("secret: %w", err)
	}
	s.Secret = v
	return s, nil
}

// LoadS3Settings returns the stored group s3, off (the zero value) when
// never saved. It fails when _params cannot be read or decoded, and when
// the secret cannot be read (encrypted at rest and the key missing or
// another).
func LoadS3Settings(ctx context.Context, d *db.DB) (S3Settings, error) {
	var s S3Settings
	if _, err := d.ParamJSON(ctx, s3Param, &s); err != nil {
		return S3Settings{}, fmt.Errorf("load %s: %w", s3Param, err)
	}
	s, err := s.Opened(d)
	if err != nil {
		return s, fmt.Errorf("load %s.%w", s3Param, err)
	}
	return s, nil
}

// SaveS3Settings validates s and stores it, the secret sealed. Invalid
// settings are Validate's BAD_USER_INPUT error; a storage failure is
// wrapped.
func SaveS3Settings(ctx context.Context, d *db.DB, s S3Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	stored, err := s.Sealed(d)
	if err != nil {
		return fmt.Errorf("save %s.%w", s3Param, err)
	}
	if err := d.SetParamJSON(ctx, s3Param, stored); err != nil {
		return fmt.Errorf("save %s: %w", s3Param, err)
	}
	return nil
}

// ApplyS3 puts settings s3 in force on s: new files go to the bucket when
// set.Enabled, to the local disk otherwise. Files already stored stay where
// they are (see Migrate). It fails, leaving the backend as it was, for
// settings no client can be made of.
func (s *Store) ApplyS3(set S3Settings) error {
	if !set.Enabled {
		s.SetBackend(nil)
		return nil
	}
	b, err := NewS3(set)
	if err != nil {
		return err
	}
	s.SetBackend(b)
	return nil
}
