package db

// Temporary bodies, replaced by filtersql.go.

import (
	"github.com/monobase/monobase/db/filter"
)

func (d *DB) compileFilter(c *Collection, alias string, e filter.Expr, req *RequestInfo) (Cond, error) {
	return Cond{}, errTODO
}
func (d *DB) compileSort(c *Collection, alias string, items []filter.SortItem, req *RequestInfo) ([]Cond, error) {
	return nil, errTODO
}
