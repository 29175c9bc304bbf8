//go:build !unix

package transport

// tryWrite writes nothing: without raw access to the socket, the flush
// writes from a goroutine of its own (finishFlush).
func (b *batchConn) tryWrite([]byte) (int, error) { return 0, nil }
