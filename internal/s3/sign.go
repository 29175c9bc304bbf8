package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Payload hashes of the x-amz-content-sha256 header.
const (
	// unsignedPayload leaves a streamed body out of the signature, so that
	// nothing is buffered to hash it (TLS protects it on the way).
	unsignedPayload = "UNSIGNED-PAYLOAD"
	// emptyPayload is the SHA-256 of no bytes.
	emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// amzDateFormat is the x-amz-date layout (ISO 8601 basic, UTC).
const amzDateFormat = "20060102T150405Z"

// sign adds AWS Signature Version 4 headers to req (x-amz-date,
// x-amz-content-sha256, Authorization) for the service "s3" in region,
// as of now. payloadHash is the body's hex SHA-256, emptyPayload or
// unsignedPayload. Signed are the host, Content-MD5, Content-Type, Range
// and every x-amz-* header.
func sign(req *http.Request, accessKey, secret, region, payloadHash string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format(amzDateFormat)
	day := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)

	names, headers := canonicalHeaders(req)
	canonical := strings.Join([]string{
		req.Method,
		req.URL.EscapedPath(),
		canonicalQuery(req.URL.RawQuery),
		headers,
		names,
		payloadHash,
	}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])

	key := hmacSHA256([]byte("AWS4"+secret), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, "s3")
	key = hmacSHA256(key, "aws4_request")
	signature := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+
		", SignedHeaders="+names+", Signature="+signature)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalHeaders returns the signed header names (lower case, sorted,
// joined by ";") and their canonical block (name:value lines, each ending
// in a line feed).
func canonicalHeaders(req *http.Request) (names, block string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	values := map[string]string{"host": host}
	for name, vs := range req.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") || lower == "content-md5" || lower == "content-type" || lower == "range" {
			trimmed := make([]string, len(vs))
			for i, v := range vs {
				trimmed[i] = strings.Join(strings.Fields(v), " ")
			}
			values[lower] = strings.Join(trimmed, ",")
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(values[k])
		b.WriteByte('\n')
	}
	return strings.Join(keys, ";"), b.String()
}

// canonicalQuery returns the query's parameters sorted by name then value,
// each name and value encoded as the signature wants (escape).
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var pairs []string
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		pairs = append(pairs, escape(k, true)+"="+escape(v, true))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// escape percent-encodes every byte of s but the unreserved ones
// (A-Z a-z 0-9 - . _ ~), and "/" too when slash is true: the encoding of
// SigV4's canonical URI (slash false) and query (slash true).
func escape(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/' && !slash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// unescape decodes the percent-encoding of a query part this package
// wrote (invalid escapes are kept as they are).
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b = append(b, v[0])
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}
