package s3server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// verify wraps h with a check of every signed request's AWS Signature
// Version 4 (gofakes3 checks none): the signature is computed again with
// AWS's own signer (aws-sdk-go-v2), over the headers the request says it
// signed, and a request whose signature differs is answered 403
// SignatureDoesNotMatch, as S3 would. A GET or HEAD without an
// Authorization header passes, as on a public bucket: the end-to-end
// tests look into the buckets with plain requests.
func verify(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		anonymousRead := r.Header.Get("Authorization") == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead)
		if err := checkSignature(r); err != nil && !anonymousRead {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>", err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkSignature recomputes r's signature.
func checkSignature(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	fields := map[string]string{}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("not a SigV4 Authorization header: %q", auth)
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/") // key/day/region/s3/aws4_request
	if len(cred) != 5 || cred[0] != AccessKey {
		return fmt.Errorf("credential %q", fields["Credential"])
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("x-amz-date: %w", err)
	}
	// A copy carrying only the signed headers, so that AWS's signer signs
	// the same set.
	signed := strings.Split(fields["SignedHeaders"], ";")
	c, err := http.NewRequest(r.Method, r.URL.String(), nil)
	if err != nil {
		return err
	}
	c.Host = r.Host
	c.URL.Host = r.Host
	c.URL.Scheme = "http"
	for _, name := range signed {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		default:
			if v := r.Header.Values(name); len(v) > 0 {
				c.Header[http.CanonicalHeaderKey(name)] = v
			}
		}
	}
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(r.Context(),
		aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: Secret}, c,
		r.Header.Get("X-Amz-Content-Sha256"), "s3", cred[2], when)
	if err != nil {
		return err
	}
	if got, want := auth, c.Header.Get("Authorization"); got != want {
		return fmt.Errorf("signature: got %q, AWS's signer %q", got, want)
	}
	return nil
}
