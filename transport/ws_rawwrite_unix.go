//go:build unix

package transport

import (
	"errors"
	"syscall"
)

// tryWrite writes as much of buf as the socket takes now, without
// waiting, and returns how much that was: 0 when the socket's buffer is
// full, or when the connection cannot be written that way (TLS: no raw
// access). Like writeFrames, it holds b.mu, so frames never interleave.
func (b *batchConn) tryWrite(buf []byte) (int, error) {
	if b.raw == nil {
		return 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	written := 0
	var werr error
	err := b.raw.Write(func(fd uintptr) bool {
		for written < len(buf) {
			n, err := syscall.Write(int(fd), buf[written:])
			if n > 0 {
				written += n
			}
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
			case err != nil:
				werr = err
			case n > 0:
				continue
			}
			break
		}
		return true // done: never wait for the socket here
	})
	if werr == nil {
		werr = err
	}
	return written, werr
}
