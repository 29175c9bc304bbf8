package s3

import (
	"context"
	"crypto/md5" //nolint:gosec // S3's Content-MD5, not a security use
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxListPage bounds the bytes of one page of a listing (1,000 keys of
// up to 1 KiB each, with their attributes).
const maxListPage = 4 << 20

// List calls fn with each object whose key starts with prefix, in the
// service's (lexical) order, a page of up to 1,000 keys at a time
// (ListObjectsV2). With delimiter "/", only the keys with no "/" after
// prefix are listed. An error of fn ends the listing and is returned.
func (c *Client) List(ctx context.Context, prefix, delimiter string, fn func(Object) error) error {
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if delimiter != "" {
			q.Set("delimiter", delimiter)
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		res, err := c.do(ctx, request{method: http.MethodGet, query: q})
		if err != nil {
			return fmt.Errorf("s3: list %q: %w", prefix, err)
		}
		var page struct {
			Contents []struct {
				Key          string    `xml:"Key"`
				Size         int64     `xml:"Size"`
				LastModified time.Time `xml:"LastModified"`
				ETag         string    `xml:"ETag"`
			} `xml:"Contents"`
			IsTruncated           bool   `xml:"IsTruncated"`
			NextContinuationToken string `xml:"NextContinuationToken"`
		}
		err = xml.NewDecoder(io.LimitReader(res.Body, maxListPage)).Decode(&page)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("s3: list %q: read the answer: %w", prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(Object{Key: o.Key, Size: o.Size, LastModified: o.LastModified, ETag: o.ETag}); err != nil {
				return err
			}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return nil
		}
		token = page.NextContinuationToken
	}
}

// MaxDeleteBatch is the most keys one DeleteMany request takes.
const MaxDeleteBatch = 1000

// DeleteMany removes up to MaxDeleteBatch keys in one request. The
// service reports each key it could not remove; the first of those is
// returned.
func (c *Client) DeleteMany(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if len(keys) > MaxDeleteBatch {
		return fmt.Errorf("s3: delete %d keys in one request, at most %d", len(keys), MaxDeleteBatch)
	}
	type object struct {
		Key string `xml:"Key"`
	}
	doc := struct {
		XMLName xml.Name `xml:"Delete"`
		Quiet   bool     `xml:"Quiet"`
		Objects []object `xml:"Object"`
	}{Quiet: true}
	for _, k := range keys {
		doc.Objects = append(doc.Objects, object{k})
	}
	body, err := xml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("s3: delete: %w", err)
	}
	res, err := c.do(ctx, xmlRequest(http.MethodPost, "", url.Values{"delete": {""}}, body))
	if err != nil {
		return fmt.Errorf("s3: delete %d keys: %w", len(keys), err)
	}
	defer res.Body.Close()
	var result struct {
		Errors []struct {
			Key     string `xml:"Key"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	if err := xml.NewDecoder(io.LimitReader(res.Body, maxListPage)).Decode(&result); err != nil && err != io.EOF {
		return fmt.Errorf("s3: delete %d keys: read the answer: %w", len(keys), err)
	}
	if len(result.Errors) > 0 {
		e := result.Errors[0]
		return fmt.Errorf("s3: delete %s: %w", e.Key, &Error{Status: http.StatusOK, Code: e.Code, Message: e.Message})
	}
	return nil
}

// contentMD5 returns the base64 MD5 of b, the Content-MD5 header's value.
func contentMD5(b []byte) string {
	sum := md5.Sum(b) //nolint:gosec // required by the protocol
	return base64.StdEncoding.EncodeToString(sum[:])
}
