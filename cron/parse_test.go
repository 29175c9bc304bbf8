package cron

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Run("accepts standard expressions and descriptors", func(t *testing.T) {
		for _, expr := range []string{"0 3 * * *", "*/5 * * * *", "0 0 1 1 *", "0 9 * * MON-FRI",
			"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@every 90m", " @every 1s "} {
			if err := Validate(expr); err != nil {
				t.Errorf("Validate(%q) = %v, want nil", expr, err)
			}
		}
	})
	t.Run("refuses invalid expressions with a reason", func(t *testing.T) {
		for expr, want := range map[string]string{
			"":                                      "required",
			"   ":                                   "required",
			"* * * *":                               "invalid cron expression",
			"0 0 * * * *":                           "invalid cron expression", // seconds are not standard
			"61 * * * *":                            "invalid cron expression",
			"*/0 * * * *":                           "invalid cron expression",
			"@often":                                "invalid cron expression",
			"@every soon":                           "invalid cron expression",
			"TZ=UTC":                                "time zones",
			"CRON_TZ=Europe/Paris 0 3 * * *":        "time zones",
			"0 0 30 2 *":                            "never fires",
			strings.Repeat("1,", 150) + "1 * * * *": "at most",
		} {
			err := Validate(expr)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate(%q) = %v, want an error with %q", expr, err, want)
			}
		}
	})
	t.Run("evaluates in UTC", func(t *testing.T) {
		s, err := Parse("0 3 * * *")
		if err != nil {
			t.Fatal(err)
		}
		tokyo := time.FixedZone("UTC+9", 9*3600)
		from := time.Date(2030, 5, 1, 10, 0, 0, 0, tokyo) // 01:00 UTC
		want := time.Date(2030, 5, 1, 3, 0, 0, 0, time.UTC)
		if got := s.Next(from); !got.Equal(want) {
			t.Errorf("Next(%v) = %v, want %v", from, got, want)
		}
	})
	t.Run("@every steps from the last run", func(t *testing.T) {
		s, err := Parse("@every 2m")
		if err != nil {
			t.Fatal(err)
		}
		from := time.Date(2030, 5, 1, 10, 0, 0, 0, time.UTC)
		if got := s.Next(from); !got.Equal(from.Add(2 * time.Minute)) {
			t.Errorf("Next = %v, want %v", got, from.Add(2*time.Minute))
		}
	})
}
