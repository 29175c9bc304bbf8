package cron

import (
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// MaxExpressionLen bounds an expression's length.
const MaxExpressionLen = 200

// Schedule tells when a job runs next: the first time strictly after t, or
// the zero time for never.
type Schedule interface {
	Next(t time.Time) time.Time
}

// Parse reads a standard 5-field cron expression ("minute hour day-of-month
// month day-of-week", e.g. "0 3 * * *") or a descriptor (@yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly, or
// "@every <duration>" with a duration of at least 1s, e.g. "@every 90m").
// Expressions are evaluated in UTC. It fails with a message fit for a
// client for an empty, overlong or invalid expression, a time-zone prefix,
// or one that never fires (such as February 30th).
func Parse(expr string) (s Schedule, err error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, fmt.Errorf("a cron expression is required")
	case len(expr) > MaxExpressionLen:
		return nil, fmt.Errorf("a cron expression is at most %d characters", MaxExpressionLen)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, fmt.Errorf("time zones are not supported: expressions are evaluated in UTC")
	}
	defer func() {
		// robfig/cron's parser has panicked on malformed input before.
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("invalid cron expression %q", expr)
		}
	}()
	// The prefix makes robfig/cron evaluate in UTC rather than the
	// server's local zone.
	sched, err := robfig.ParseStandard("CRON_TZ=UTC " + expr)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %v", expr, err)
	}
	if sched.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("the cron expression %q never fires", expr)
	}
	return sched, nil
}

// Validate reports whether expr is an expression Parse accepts; its error
// says why not.
func Validate(expr string) error {
	_, err := Parse(expr)
	return err
}
