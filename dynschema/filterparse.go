package dynschema

import (
	"github.com/monobase/monobase/db/filter"
)

// parseFilter and parseSort parse the PocketBase filter and sort syntax;
// filters and rules are cached by their text.
var (
	parseFilter = filter.ParseCached
	parseSort   = filter.ParseSort
)
