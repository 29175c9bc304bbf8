package s3

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The keys of AWS's documented signing examples.
const (
	exampleKey    = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// TestSignatureExamples signs the GET examples of AWS's "Signature
// Calculations for the Authorization Header" (S3 API reference) and
// compares with the signatures printed there.
func TestSignatureExamples(t *testing.T) {
	when := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, target, rangeHeader, signed, signature string
	}{
		{"get object", "/test.txt", "bytes=0-9", "host;range;x-amz-content-sha256;x-amz-date",
			"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
		{"get bucket lifecycle", "/?lifecycle", "", "host;x-amz-content-sha256;x-amz-date",
			"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
		{"list objects", "/?max-keys=2&prefix=J", "", "host;x-amz-content-sha256;x-amz-date",
			"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com"+tc.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.rangeHeader != "" {
				req.Header.Set("Range", tc.rangeHeader)
			}
			sign(req, exampleKey, exampleSecret, "us-east-1", emptyPayload, when)
			want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=" +
				tc.signed + ", Signature=" + tc.signature
			if got := req.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestSignatureMatchesAWS signs the requests the client sends for awkward
// keys and parameters, and compares with aws-sdk-go-v2's signer over the
// same request.
func TestSignatureMatchesAWS(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9000")
	when := time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC)
	keys := []string{"plain.txt", "a folder/with space.txt", "ünïcode/ファイル.png", "plus+and=equals&amp;.bin",
		"percent%20already.txt", "tilde~star*(paren)'quote!.txt", "semi;colon,comma:colon@at$.txt", "deep/a/b/c/"}
	for _, pathStyle := range []bool{true, false} {
		c := New(Config{Endpoint: u, Bucket: "my-bucket", Region: "eu-west-3", AccessKey: exampleKey, Secret: exampleSecret, PathStyle: pathStyle})
		for _, key := range keys {
			for _, q := range []url.Values{nil, {"list-type": {"2"}, "prefix": {key}, "continuation-token": {"1/a+b=="}}} {
				req, _ := http.NewRequest(http.MethodGet, "", nil)
				req.URL = c.url(key, q)
				req.Host = req.URL.Host
				req.Header.Set("Range", "bytes=5-")
				theirs := req.Clone(context.Background())
				sign(req, exampleKey, exampleSecret, "eu-west-3", emptyPayload, when)
				theirs.Header.Set("X-Amz-Date", when.Format(amzDateFormat))
				theirs.Header.Set("X-Amz-Content-Sha256", emptyPayload)
				err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
					aws.Credentials{AccessKeyID: exampleKey, SecretAccessKey: exampleSecret}, theirs, emptyPayload, "s3", "eu-west-3", when)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := req.Header.Get("Authorization"), theirs.Header.Get("Authorization"); got != want {
					t.Errorf("%s (path style %v, query %v):\n ours %s\nAWS's %s", key, pathStyle, q, got, want)
				}
				if !strings.HasPrefix(req.URL.EscapedPath(), "/") || strings.Contains(req.URL.EscapedPath(), " ") {
					t.Errorf("path %q", req.URL.EscapedPath())
				}
			}
		}
	}
}
