package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyIsCutOff checks the body read deadline: a client that sends
// its headers and then trickles its body (slowloris) loses the connection
// at BodyTimeout, while a client that sends its body in time is served.
func TestSlowBodyIsCutOff(t *testing.T) {
	c := NewServeCommand(&syncBuffer{}, &syncBuffer{})
	c.Dir = t.TempDir()
	c.HTTP = "127.0.0.1:0"
	c.BodyTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	withTestDB(t, c)
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	t.Run("a trickled body is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", c.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := `{"query":"{ __typename }"}`
		if _, err := conn.Write([]byte("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n" + body[:5])); err != nil {
			t.Fatal(err)
		}
		// Keep sending one byte at a time, slower than the deadline allows.
		done := make(chan error, 1)
		go func() {
			for i := 5; i < len(body); i++ {
				time.Sleep(100 * time.Millisecond)
				if _, err := conn.Write([]byte{body[i]}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server kept the slow connection open: %v", err)
		}
		// A 408 or a closed connection is a refusal.
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout {
				t.Errorf("a body trickled over 2 s: status %d, want 408", res.StatusCode)
			}
		}
		<-done
	})

	t.Run("a body sent in time is served", func(t *testing.T) {
		res, err := http.Post("http://"+c.Addr()+"/graphql", "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("status %d", res.StatusCode)
		}
	})
}
