package querycost

import (
	"context"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"slices"
	"testing"

	"github.com/monobase/monobase/apperr"
)

func TestLimitSettingsValidate(t *testing.T) {
	if err := DefaultLimitSettings().Validate(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
	def := DefaultLimitSettings()
	if def != (LimitSettings{MaxDepth: 12, MaxComplexity: 5000, MaxLimit: 1000, MaxBodySize: 32 << 20, MaxBatch: 20, Introspection: true}) {
		t.Fatalf("the defaults are not today's fixed limits: %+v", def)
	}
	for _, tc := range []struct {
		name string
		edit func(*LimitSettings)
		want []string
	}{
		{"smallest", func(s *LimitSettings) {
			*s = LimitSettings{MaxDepth: 1, MaxComplexity: 1, MaxLimit: 1, MaxBodySize: MinBodySize, MaxBatch: 1}
		}, nil},
		{"largest", func(s *LimitSettings) {
			*s = LimitSettings{MaxDepth: MaxDepthLimit, MaxComplexity: MaxComplexityLimit, MaxLimit: MaxLimitLimit, MaxBodySize: MaxBodySizeLimit, MaxBatch: MaxBatchLimit}
		}, nil},
		{"zeros", func(s *LimitSettings) { *s = LimitSettings{} },
			[]string{"limits.maxBatch", "limits.maxBodySize", "limits.maxComplexity", "limits.maxDepth", "limits.maxLimit"}},
		{"negative depth", func(s *LimitSettings) { s.MaxDepth = -1 }, []string{"limits.maxDepth"}},
		{"absurd depth", func(s *LimitSettings) { s.MaxDepth = MaxDepthLimit + 1 }, []string{"limits.maxDepth"}},
		{"absurd complexity", func(s *LimitSettings) { s.MaxComplexity = MaxComplexityLimit + 1 }, []string{"limits.maxComplexity"}},
		{"negative limit", func(s *LimitSettings) { s.MaxLimit = -5 }, []string{"limits.maxLimit"}},
		{"absurd limit", func(s *LimitSettings) { s.MaxLimit = MaxLimitLimit + 1 }, []string{"limits.maxLimit"}},
		{"tiny body", func(s *LimitSettings) { s.MaxBodySize = MinBodySize - 1 }, []string{"limits.maxBodySize"}},
		{"huge body", func(s *LimitSettings) { s.MaxBodySize = MaxBodySizeLimit + 1 }, []string{"limits.maxBodySize"}},
		{"no batch", func(s *LimitSettings) { s.MaxBatch = 0 }, []string{"limits.maxBatch"}},
		{"huge batch", func(s *LimitSettings) { s.MaxBatch = MaxBatchLimit + 1 }, []string{"limits.maxBatch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultLimitSettings()
			tc.edit(&s)
			err := s.Validate()
			var got []string
			if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
				for k := range e.Fields {
					got = append(got, k)
				}
			} else if err != nil {
				t.Fatalf("not BAD_USER_INPUT: %v", err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("invalid fields %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLimitSettingsLoadSave(t *testing.T) {
	ctx := context.Background()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	def := DefaultLimitSettings()
	if got, err := LoadLimitSettings(ctx, d, def); err != nil || got != def {
		t.Fatalf("never saved: %+v, %v", got, err)
	}
	want := LimitSettings{MaxDepth: 5, MaxComplexity: 300, MaxLimit: 50, MaxBodySize: 1 << 20, MaxBatch: 3, Introspection: false}
	if err := SaveLimitSettings(ctx, d, want); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLimitSettings(ctx, d, def); err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	// A group saved before maxBatch existed keeps the default batch size.
	if err := d.SetParam(ctx, limitsParam, []byte(`{"maxDepth":5,"maxComplexity":300,"maxLimit":50,"maxBodySize":1048576,"introspection":true}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLimitSettings(ctx, d, def); err != nil || got.MaxBatch != 20 || got.MaxDepth != 5 {
		t.Fatalf("an older group: %+v, %v; want maxBatch 20", got, err)
	}
	if err := SaveLimitSettings(ctx, d, LimitSettings{MaxDepth: -1}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("an invalid save: %v", err)
	}
	if err := d.SetParam(ctx, limitsParam, []byte(`{"maxDepth":0}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLimitSettings(ctx, d, def); !errors.Is(err, ErrInvalidLimits) || got != def {
		t.Fatalf("an invalid stored group: %+v, %v; want ErrInvalidLimits and the defaults", got, err)
	}
}
