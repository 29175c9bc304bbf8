package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// client is one subscriber: a WebSocket with one postChanged subscription.
type client struct {
	conn *websocket.Conn
	wmu  sync.Mutex  // one writer at a time (pongs vs. the final close)
	warm atomic.Bool // received at least one event
	done atomic.Bool // the server ended the subscription or the socket
	idx  int         // its number (the owner's in owners mode)
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// nextPayload is the payload of a "next" message for postChanged.
type nextPayload struct {
	Data struct {
		PostChanged *struct {
			Action string `json:"action"`
			Record struct {
				ID string `json:"id"`
			} `json:"record"`
		} `json:"postChanged"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// connectAll opens cfg.n subscriptions, cfg.dialers at a time, and returns
// the ones that are open plus how many failed.
func connectAll(ctx context.Context, cfg *config, st *stats) ([]*client, int) {
	var (
		mu      sync.Mutex
		clients = make([]*client, 0, cfg.n)
		failed  int
		next    atomic.Int64
		wg      sync.WaitGroup
	)
	for range min(cfg.dialers, cfg.n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.n || ctx.Err() != nil {
					return
				}
				c, err := connect(ctx, cfg, i, st)
				mu.Lock()
				if err != nil {
					failed++
					st.fail(err.Error())
				} else {
					clients = append(clients, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Connections never tried because time ran out count as failed too.
	return clients, cfg.n - len(clients)
}

// connect opens connection i, does the graphql-transport-ws handshake and
// subscribes; a goroutine then reads events until the socket closes.
func connect(ctx context.Context, cfg *config, i int, st *stats) (*client, error) {
	nd := &net.Dialer{LocalAddr: sourceAddr(i, cfg.sources), Timeout: 10 * time.Second}
	d := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{"graphql-transport-ws"},
		ReadBufferSize:   4096, // several frames per read when the server batches them
		WriteBufferSize:  1024,
	}
	conn, resp, err := d.DialContext(ctx, cfg.url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: %w (HTTP %s)", err, resp.Status)
		}
		return nil, fmt.Errorf("dial: %w", errors.Unwrap(err))
	}
	if conn.Subprotocol() != "graphql-transport-ws" {
		conn.Close()
		return nil, fmt.Errorf("server chose subprotocol %q", conn.Subprotocol())
	}
	c := &client{conn: conn, idx: i}
	if err := c.handshake(cfg); err != nil {
		conn.Close()
		return nil, err
	}
	go c.read(st)
	return c, nil
}

// handshake sends connection_init, waits for connection_ack and subscribes.
func (c *client) handshake(cfg *config) error {
	init := map[string]any{}
	switch {
	case cfg.owners:
		init["Authorization"] = "Bearer " + cfg.ownerList[c.idx].token
	case cfg.token != "":
		init["Authorization"] = "Bearer " + cfg.token
	}
	payload, _ := json.Marshal(init)
	if err := c.conn.WriteJSON(wsMessage{Type: "connection_init", Payload: payload}); err != nil {
		return fmt.Errorf("send connection_init: %w", err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m wsMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			return fmt.Errorf("wait for connection_ack: %w", err)
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type == "ping" {
			if err := c.conn.WriteJSON(wsMessage{Type: "pong"}); err != nil {
				return fmt.Errorf("pong: %w", err)
			}
			continue
		}
		return fmt.Errorf("got %q before connection_ack", m.Type)
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	sub, _ := json.Marshal(map[string]any{"query": cfg.query})
	if err := c.conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: sub}); err != nil {
		return fmt.Errorf("send subscribe: %w", err)
	}
	return nil
}

// read handles server messages until the socket closes. Events take a
// fast path that finds the record id without decoding JSON, because this
// process shares the CPU with the server it measures.
func (c *client) read(st *stats) {
	defer c.done.Store(true)
	var buf bytes.Buffer
	for {
		_, r, err := c.conn.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		recv := time.Now()
		if err != nil {
			if !c.done.Load() && !errors.Is(err, net.ErrClosed) {
				st.fail("socket closed: " + closeReason(err))
			}
			return
		}
		data := buf.Bytes()
		if id, ok := fastNextID(data); ok {
			c.warm.Store(true)
			st.received(id, recv)
			if st.owners != nil {
				st.owners.record(id, c.idx)
			}
			continue
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			st.fail("bad message: " + err.Error())
			continue
		}
		switch m.Type {
		case "next":
			var p nextPayload
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				st.fail("bad next payload: " + err.Error())
				continue
			}
			if len(p.Errors) > 0 {
				st.fail("event error: " + p.Errors[0].Message)
			}
			if p.Data.PostChanged == nil || p.Data.PostChanged.Record.ID == "" {
				st.fail("event without postChanged.record.id")
				continue
			}
			c.warm.Store(true)
			st.received(p.Data.PostChanged.Record.ID, recv)
			if st.owners != nil {
				st.owners.record(p.Data.PostChanged.Record.ID, c.idx)
			}
		case "ping":
			c.wmu.Lock()
			err := c.conn.WriteJSON(wsMessage{Type: "pong"})
			c.wmu.Unlock()
			if err != nil {
				st.fail("pong: " + err.Error())
				return
			}
		case "pong":
		case "error":
			st.fail("subscription error: " + string(m.Payload))
			c.done.Store(true)
		case "complete":
			st.fail("server completed the subscription")
			c.done.Store(true)
		default:
			st.fail("unexpected message type " + m.Type)
		}
	}
}

var (
	nextSuffix = []byte(`"type":"next"}`)
	errorsKey  = []byte(`"errors"`)
	recordID   = []byte(`"record":{"id":"`)
)

// fastNextID returns the record id of a "next" message of postChanged
// without errors, if the message has the usual layout (type last, id first
// in the record); ok is false for anything else, which then takes the
// decoding path.
func fastNextID(msg []byte) (id string, ok bool) {
	if !bytes.HasSuffix(msg, nextSuffix) || bytes.Contains(msg, errorsKey) {
		return "", false
	}
	i := bytes.Index(msg, recordID)
	if i < 0 {
		return "", false
	}
	rest := msg[i+len(recordID):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

func closeReason(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("close %d %s", ce.Code, ce.Text)
	}
	return err.Error()
}

// closeAll says goodbye with a normal close frame and drops the sockets.
func closeAll(clients []*client) {
	deadline := time.Now().Add(time.Second)
	for _, c := range clients {
		c.done.Store(true)
		c.wmu.Lock()
		_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
		c.wmu.Unlock()
		c.conn.Close()
	}
}

// writer sends the GraphQL mutations over HTTP.
type writer struct {
	http       *http.Client
	appURL     string
	adminURL   string
	token      string
	adminToken string // set by ensurePosts
}

func newWriter(cfg *config) *writer {
	return &writer{
		http: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: cfg.writers, Proxy: nil},
		},
		appURL:   httpURL(cfg.writeURL, ""),
		adminURL: httpURL(cfg.writeURL, "/admin"),
		token:    cfg.token,
	}
}

// gqlError is one GraphQL error.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// post runs one GraphQL operation and decodes data into out; a response with
// errors fails with the first one.
func (w *writer) post(ctx context.Context, endpoint, token, query string, vars map[string]any, out any) ([]gqlError, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("POST %s: read: %w", endpoint, err)
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("POST %s: HTTP %s: %.200s", endpoint, resp.Status, raw)
	}
	if len(r.Errors) > 0 {
		return r.Errors, fmt.Errorf("POST %s: %s", endpoint, r.Errors[0].Message)
	}
	if out == nil {
		return nil, nil
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return nil, fmt.Errorf("POST %s: decode data: %w", endpoint, err)
	}
	return nil, nil
}

// ensurePosts signs in as superuser, switches the rate limit rules off and
// creates the posts collection, accepting that it already exists.
func (w *writer) ensurePosts(ctx context.Context, email, password string) error {
	var auth struct {
		AuthWithPassword struct {
			Token string `json:"token"`
		} `json:"authWithPassword"`
	}
	if _, err := w.post(ctx, w.adminURL, "",
		`mutation($email: String!, $password: String!) { authWithPassword(email: $email, password: $password) { token } }`,
		map[string]any{"email": email, "password": password}, &auth); err != nil {
		return fmt.Errorf("superuser sign-in: %w", err)
	}
	w.adminToken = auth.AuthWithPassword.Token
	// Every socket and write comes from 127.0.0.1: the rate limit rules (on
	// by default) would refuse most of them. The change is saved.
	if _, err := w.post(ctx, w.adminURL, auth.AuthWithPassword.Token,
		`mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }`, nil, nil); err != nil {
		return fmt.Errorf("switch the rate limits off: %w", err)
	}
	var created struct {
		CreateCollection struct {
			ID string `json:"id"`
		} `json:"createCollection"`
	}
	gqlErrs, err := w.post(ctx, w.adminURL, auth.AuthWithPassword.Token,
		`mutation { createCollection(input: {name: "posts", type: BASE, listRule: "", viewRule: "", createRule: "", fields: [{name: "title", type: TEXT}]}) { id } }`,
		nil, &created)
	if err != nil && !alreadyExists(gqlErrs) {
		return fmt.Errorf("create the posts collection: %w", err)
	}
	return nil
}

// alreadyExists reports whether the errors say the collection exists.
func alreadyExists(errs []gqlError) bool {
	for _, e := range errs {
		if strings.Contains(strings.ToLower(e.Message), "exist") {
			return true
		}
		if fields, ok := e.Extensions["fields"].(map[string]any); ok {
			if _, ok := fields["name"]; ok {
				return true
			}
		}
	}
	return false
}

// createPost creates one post and returns its id.
func (w *writer) createPost(ctx context.Context, title string) (string, error) {
	var out struct {
		CreatePost struct {
			ID string `json:"id"`
		} `json:"createPost"`
	}
	if _, err := w.post(ctx, w.appURL, w.token,
		`mutation($input: PostCreateInput!) { createPost(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"title": title}}, &out); err != nil {
		return "", err
	}
	if out.CreatePost.ID == "" {
		return "", errors.New("createPost returned no id")
	}
	return out.CreatePost.ID, nil
}

// sendEvents makes cfg.events writes at cfg.rate from cfg.writers
// goroutines, recording when each was sent; it returns how many succeeded
// and failed.
func (w *writer) sendEvents(ctx context.Context, cfg *config, st *stats) (sent, failed int) {
	tokens := make(chan int)
	pace := ctx
	if cfg.sendFor > 0 {
		var cancel context.CancelFunc
		pace, cancel = context.WithTimeout(ctx, cfg.sendFor)
		defer cancel()
	}
	go func() { // the pacer; writes in flight finish after it stops
		defer close(tokens)
		// Write i is due at start + i/rate. A write that could not start
		// on time (every writer busy) starts as soon as one is free, so the
		// average rate holds unless the server cannot keep up (a ticker
		// would drop the ticks missed meanwhile).
		start := time.Now()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for i := range cfg.events {
			if cfg.rate > 0 {
				due := start.Add(time.Duration(float64(i) * float64(time.Second) / cfg.rate))
				if wait := time.Until(due); wait > 0 {
					timer.Reset(wait)
					select {
					case <-timer.C:
					case <-pace.Done():
						return
					}
				}
			}
			select {
			case tokens <- i:
			case <-pace.Done():
				return
			}
		}
	}()
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	for range cfg.writers {
		wg.Go(func() {
			for i := range tokens {
				t0 := time.Now()
				var id string
				var err error
				if cfg.owners {
					o := i % len(cfg.ownerList)
					id, err = w.createMemo(ctx, cfg.ownerList[o], fmt.Sprintf("bench %d", i), cfg.broadcast)
					if err == nil && cfg.broadcast {
						st.owners.ownerOf.Store(id, anyOwner)
					} else if err == nil {
						st.owners.ownerOf.Store(id, o)
					}
				} else {
					id, err = w.createPost(ctx, fmt.Sprintf("bench %d", i))
				}
				if err != nil {
					bad.Add(1)
					st.fail("write: " + err.Error())
					continue
				}
				st.sent.Store(id, t0)
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return int(ok.Load()), int(bad.Load())
}
