// Package logs keeps the request logs of a data folder in its
// auxiliary.db (package db writes the SQL): the settings group logs
// (maxDays, minLevel, logIp, logAuthId), the HTTP middleware that queues
// one entry per request, the slog handler that adds the internal errors
// logged while a request ran to that request's entry (and keeps other
// records as entries of their own), the writer goroutine that writes the
// queue in batches, the retention cleanup, and the reads of the admin API.
//
// The request path only fills a struct and sends it on a bounded channel;
// encoding and SQL happen in the writer. A full queue drops entries (they
// are counted and a warning is logged) rather than make a request wait.
// It knows no GraphQL: the engines tell it the operation (SetOperation),
// the wiring who the viewer is (SetAuth).
package logs
