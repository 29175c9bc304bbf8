// Command fakes3 serves a real S3 protocol server (gofakes3) for the
// end-to-end tests: go run ./internal/s3test/fakes3 -addr 127.0.0.1:9000
// -bucket files -bucket backups (objects are kept in memory). It prints its URL on the first line and
// runs until it is killed.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/monobase/monobase/internal/s3test"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	var buckets list
	flag.Var(&buckets, "bucket", "bucket to create (repeatable)")
	flag.Parse()
	s, err := s3test.StartAt(*addr, buckets...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(s.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	s.Close()
}
