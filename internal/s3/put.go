package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Put uploads size bytes of r to key: in one request up to the part size,
// in parts above it. The body is not signed (UNSIGNED-PAYLOAD), so nothing
// is buffered to hash it. A failed multipart upload is aborted, so no part
// is left behind.
func (c *Client) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if size < 0 {
		return fmt.Errorf("s3: put %s: the size must be known", key)
	}
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if size <= c.cfg.PartSize {
		res, err := c.do(ctx, request{method: http.MethodPut, key: key, header: h, body: r, size: size})
		if err != nil {
			return err
		}
		discard(res)
		return nil
	}
	return c.putParts(ctx, key, r, size, h)
}

// putParts uploads r in parts of the part size (the last one shorter).
func (c *Client) putParts(ctx context.Context, key string, r io.Reader, size int64, h http.Header) error {
	upload, err := c.createUpload(ctx, key, h)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			c.abortUpload(context.WithoutCancel(ctx), key, upload)
		}
	}()
	var parts []completedPart
	for n, off := 1, int64(0); off < size; n++ {
		length := min(c.cfg.PartSize, size-off)
		// A section of a file can be sent again; a plain reader once.
		var body io.Reader = io.LimitReader(r, length)
		if ra, ok := r.(io.ReaderAt); ok {
			body = io.NewSectionReader(ra, off, length)
		}
		q := url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {upload}}
		res, err := c.do(ctx, request{method: http.MethodPut, key: key, query: q, body: body, size: length})
		if err != nil {
			return fmt.Errorf("s3: upload part %d of %s: %w", n, key, err)
		}
		discard(res)
		parts = append(parts, completedPart{Number: n, ETag: res.Header.Get("ETag")})
		off += length
	}
	if err := c.completeUpload(ctx, key, upload, parts); err != nil {
		return err
	}
	done = true
	return nil
}

// createUpload starts a multipart upload and returns its id.
func (c *Client) createUpload(ctx context.Context, key string, h http.Header) (string, error) {
	res, err := c.do(ctx, request{method: http.MethodPost, key: key, query: url.Values{"uploads": {""}}, header: h})
	if err != nil {
		return "", fmt.Errorf("s3: start the upload of %s: %w", key, err)
	}
	defer res.Body.Close()
	var doc struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.NewDecoder(io.LimitReader(res.Body, maxErrorBody)).Decode(&doc); err != nil || doc.UploadID == "" {
		return "", fmt.Errorf("s3: start the upload of %s: no upload id in the answer (%v)", key, err)
	}
	return doc.UploadID, nil
}

// completedPart is a part of CompleteMultipartUpload's document.
type completedPart struct {
	Number int    `xml:"PartNumber"`
	ETag   string `xml:"ETag"`
}

// completeUpload joins the parts into the object.
func (c *Client) completeUpload(ctx context.Context, key, upload string, parts []completedPart) error {
	doc, err := xml.Marshal(struct {
		XMLName xml.Name        `xml:"CompleteMultipartUpload"`
		Parts   []completedPart `xml:"Part"`
	}{Parts: parts})
	if err != nil {
		return fmt.Errorf("s3: complete the upload of %s: %w", key, err)
	}
	res, err := c.do(ctx, xmlRequest(http.MethodPost, key, url.Values{"uploadId": {upload}}, doc))
	if err != nil {
		return fmt.Errorf("s3: complete the upload of %s: %w", key, err)
	}
	// S3 may answer 200 with an error document once the parts are joined.
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	var failure struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}
	if xml.Unmarshal(body, &failure) == nil && failure.Code != "" {
		return fmt.Errorf("s3: complete the upload of %s: %w", key, &Error{Status: res.StatusCode, Code: failure.Code, Message: failure.Message})
	}
	return nil
}

// abortUpload drops an upload's parts (its error is of no use: the
// upload failed already).
func (c *Client) abortUpload(ctx context.Context, key, upload string) {
	if res, err := c.do(ctx, request{method: http.MethodDelete, key: key, query: url.Values{"uploadId": {upload}}}); err == nil {
		discard(res)
	}
}

// xmlRequest is a request with an XML document as its body, signed with
// its hash and sent with its MD5 (which S3 requires of a batch delete).
func xmlRequest(method, key string, query url.Values, doc []byte) request {
	sum := sha256.Sum256(doc)
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-MD5", contentMD5(doc))
	return request{method: method, key: key, query: query, header: h,
		body: bytes.NewReader(doc), size: int64(len(doc)), payloadHash: hex.EncodeToString(sum[:])}
}
