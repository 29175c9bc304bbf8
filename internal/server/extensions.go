package server

import "github.com/monobase/monobase/dynschema"

// schema returns the app's custom GraphQL root fields, none without an
// app.
func (m *Main) schema() []dynschema.Extension {
	if m.Ext == nil {
		return nil
	}
	return m.Ext.Schema
}
