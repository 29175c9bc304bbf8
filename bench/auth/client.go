package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// client posts GraphQL requests over keep-alive connections from one
// local address.
type client struct {
	http  *http.Client
	base  string
	token string
}

// newClient returns a client of base whose connections come from localIP
// ("" for any).
func newClient(base, localIP string, conns int) *client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		DialContext:         d.DialContext,
	}
	return &client{http: &http.Client{Transport: tr, Timeout: 60 * time.Second}, base: base}
}

// answer is a GraphQL answer.
type answer struct {
	Status     int
	RetryAfter string // the Retry-After header
	Data       json.RawMessage
	Errors     []struct {
		Message    string
		Extensions struct {
			Code       string
			RetryAfter int
		}
	}
}

// code returns the first error's code, "" without errors.
func (a *answer) code() string {
	if len(a.Errors) == 0 {
		return ""
	}
	return a.Errors[0].Extensions.Code
}

// do posts one operation to path.
func (c *client) do(ctx context.Context, path, query string, vars map[string]any) (*answer, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	a := &answer{Status: res.StatusCode, RetryAfter: res.Header.Get("Retry-After")}
	if err := json.NewDecoder(res.Body).Decode(a); err != nil {
		return nil, fmt.Errorf("HTTP %d: decode the answer: %w", res.StatusCode, err)
	}
	return a, nil
}

// mustDo is do that fails on GraphQL errors and decodes data into out.
func (c *client) mustDo(ctx context.Context, path, query string, vars map[string]any, out any) error {
	a, err := c.do(ctx, path, query, vars)
	if err != nil {
		return err
	}
	if len(a.Errors) > 0 {
		return fmt.Errorf("HTTP %d: %s (%s)", a.Status, a.Errors[0].Message, a.code())
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(a.Data, out)
}

// rateLimitSettings is settings.rateLimits.
type rateLimitSettings struct {
	Enabled bool `json:"enabled"`
	Rules   []struct {
		Label       string  `json:"label"`
		MaxRequests int     `json:"maxRequests"`
		Duration    int     `json:"duration"`
		Audience    *string `json:"audience"`
	} `json:"rules"`
}

// defaultRateLimits are the product defaults (docs/api.md).
const defaultRateLimits = `{enabled: true, rules: [{label: "*:auth", maxRequests: 2, duration: 3},
	{label: "*:create", maxRequests: 20, duration: 5}, {label: "/graphql", maxRequests: 300, duration: 10}]}`

// rateLimits returns the server's rate limit settings.
func (c *client) rateLimits(ctx context.Context) (rateLimitSettings, error) {
	var out struct {
		Settings struct{ RateLimits rateLimitSettings }
	}
	err := c.mustDo(ctx, "/graphql/admin", `{ settings { rateLimits { enabled rules { label maxRequests duration audience } } } }`, nil, &out)
	if err != nil {
		return rateLimitSettings{}, fmt.Errorf("read the rate limits: %w", err)
	}
	return out.Settings.RateLimits, nil
}

// setRateLimits saves s as the server's rate limit settings.
func (c *client) setRateLimits(ctx context.Context, s rateLimitSettings) error {
	err := c.mustDo(ctx, "/graphql/admin", `mutation($in: RateLimitSettingsInput!) { updateSettings(input: {rateLimits: $in}) { rateLimits { enabled } } }`,
		map[string]any{"in": s}, nil)
	if err != nil {
		return fmt.Errorf("set the rate limits: %w", err)
	}
	return nil
}

// setRateLimitsLiteral saves the rate limit settings written as a GraphQL
// input literal.
func (c *client) setRateLimitsLiteral(ctx context.Context, literal string) error {
	if err := c.mustDo(ctx, "/graphql/admin", `mutation { updateSettings(input: {rateLimits: `+literal+`}) { rateLimits { enabled } } }`, nil, nil); err != nil {
		return fmt.Errorf("set the rate limits: %w", err)
	}
	return nil
}

// createUsers creates the users emails (password pw) as the superuser (the
// rules do not limit superusers), 25 per operation; users that exist
// already are kept.
func (c *client) createUsers(ctx context.Context, emails []string, pw string) error {
	for start := 0; start < len(emails); start += 25 {
		var b bytes.Buffer
		b.WriteString("mutation {")
		for i, e := range emails[start:min(len(emails), start+25)] {
			fmt.Fprintf(&b, " u%d: createUser(input: {email: %q, password: %q, passwordConfirm: %q}) { id }", i, e, pw, pw)
		}
		b.WriteString(" }")
		a, err := c.do(ctx, "/graphql", b.String(), nil)
		if err != nil {
			return fmt.Errorf("create users: %w", err)
		}
		if code := a.code(); code != "" && code != "CONFLICT" && code != "BAD_USER_INPUT" {
			return fmt.Errorf("create users: %s (%s)", a.Errors[0].Message, code)
		}
		if a.code() != "" { // one exists: the operation rolled back, so one by one
			for _, e := range emails[start:min(len(emails), start+25)] {
				_, _ = c.do(ctx, "/graphql", `mutation($e: String!, $p: String!) { createUser(input: {email: $e, password: $p, passwordConfirm: $p}) { id } }`,
					map[string]any{"e": e, "p": pw})
			}
		}
	}
	return nil
}
