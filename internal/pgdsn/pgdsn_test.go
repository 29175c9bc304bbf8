package pgdsn

import "testing"

func TestComplete(t *testing.T) {
	t.Setenv("PGSSLMODE", "") // empty is unset
	for _, tt := range []struct{ in, want string }{
		{"postgres://u@h:5432/db?search_path=s", "postgres://u@h:5432/db?application_name=n&search_path=s&sslmode=prefer"},
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?application_name=n&sslmode=disable"},
		{"host=h dbname=db", "host=h dbname=db sslmode=prefer application_name='n'"},
		{"host=h sslmode=verify-full", "host=h sslmode=verify-full application_name='n'"},
	} {
		got, err := Complete(tt.in, map[string]string{"application_name": "n"})
		if err != nil || got != tt.want {
			t.Errorf("Complete(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	got, _ := Complete("host=h", map[string]string{"application_name": `it's \ here`})
	if want := `host=h sslmode=prefer application_name='it\'s \\ here'`; got != want {
		t.Errorf("quoting: %q, want %q", got, want)
	}
	t.Setenv("PGSSLMODE", "disable")
	if got, _ := Complete("postgres://u@h/db", nil); got != "postgres://u@h/db" {
		t.Errorf("with PGSSLMODE set: %q", got)
	}
}
