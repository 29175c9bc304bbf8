//go:build unix

package transport

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestTryWriteStopsAtAFullSocket: tryWrite writes what a socket takes
// without waiting, reports it, and the rest written by writeFrames (as
// finishFlush does) arrives after it, in order.
func TestTryWriteStopsAtAFullSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096) })
	b := &batchConn{Conn: server, raw: raw}

	// The client does not read: the socket fills up.
	want := make([]byte, 0, 8<<20)
	var rest []byte
	for i := 0; len(want) < cap(want); i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 64<<10)
		want = append(want, chunk...)
		start := time.Now()
		n, err := b.tryWrite(chunk)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > time.Second {
			t.Fatal("tryWrite waited for the socket")
		}
		if n < len(chunk) {
			rest = chunk[n:]
			break
		}
	}
	if rest == nil {
		t.Fatal("the socket never filled up")
	}
	more := bytes.Repeat([]byte{'z'}, 100<<10)
	want = append(want, more...)
	done := make(chan error, 1)
	go func() {
		if err := b.writeFrames(rest); err != nil {
			done <- err
			return
		}
		done <- b.writeFrames(more)
	}()
	got, err := io.ReadAll(io.LimitReader(client, int64(len(want))))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written in order", len(got), len(want))
	}
}
