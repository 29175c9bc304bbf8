package dynschema

import (
	"fmt"

	"github.com/monobase/monobase/db"
)

// Test builders for collections as db stores them (system fields included).

func ptr[T any](v T) *T { return &v }

func sysFields(auth bool) []*db.Field {
	fs := []*db.Field{
		{ID: "f_id", Name: "id", Type: db.FieldText, Required: true, System: true,
			AutogeneratePattern: "[a-z0-9]{15}", Pattern: "^[a-z0-9]+$", Min: ptr(15.0), Max: ptr(15.0)},
	}
	if auth {
		fs = append(fs,
			&db.Field{ID: "f_email", Name: "email", Type: db.FieldEmail, Required: true, System: true},
			&db.Field{ID: "f_ev", Name: "emailVisibility", Type: db.FieldBool, System: true},
			&db.Field{ID: "f_ver", Name: "verified", Type: db.FieldBool, System: true},
			&db.Field{ID: "f_pw", Name: "password", Type: db.FieldPassword, Required: true, Hidden: true, System: true, Min: ptr(8.0)},
			&db.Field{ID: "f_tk", Name: "tokenKey", Type: db.FieldText, Required: true, Hidden: true, System: true, AutogeneratePattern: "[a-zA-Z0-9]{50}"},
		)
	}
	fs = append(fs,
		&db.Field{ID: "f_created", Name: "created", Type: db.FieldAutodate, System: true, OnCreate: true},
		&db.Field{ID: "f_updated", Name: "updated", Type: db.FieldAutodate, System: true, OnCreate: true, OnUpdate: true},
	)
	return fs
}

func coll(id, name string, typ db.CollectionType, fields ...*db.Field) *db.Collection {
	c := &db.Collection{ID: id, Name: name, Type: typ, Fields: sysFields(typ == db.TypeAuth)}
	for i, f := range fields {
		if f.ID == "" {
			f.ID = fmt.Sprintf("%s_f%d", id, i)
		}
	}
	c.Fields = append(c.Fields, fields...)
	empty := ""
	c.ListRule, c.ViewRule, c.CreateRule, c.UpdateRule, c.DeleteRule = &empty, &empty, &empty, &empty, &empty
	return c
}

// fixtureCollections is the fixture set of the SDL golden test and most
// executor tests.
func fixtureCollections() []*db.Collection {
	users := coll("c_users", "users", db.TypeAuth,
		&db.Field{Name: "name", Type: db.FieldText},
		&db.Field{Name: "avatar", Type: db.FieldFile, MaxSelect: 1},
	)
	tags := coll("c_tags", "tags", db.TypeBase,
		&db.Field{Name: "name", Type: db.FieldText, Required: true},
	)
	posts := coll("c_posts", "posts", db.TypeBase,
		&db.Field{Name: "title", Type: db.FieldText, Required: true},
		&db.Field{Name: "body", Type: db.FieldEditor},
		&db.Field{Name: "views", Type: db.FieldNumber},
		&db.Field{Name: "rank", Type: db.FieldNumber, OnlyInt: true},
		&db.Field{Name: "published", Type: db.FieldBool},
		&db.Field{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
		&db.Field{Name: "labels", Type: db.FieldSelect, Values: []string{"in progress", "done"}, MaxSelect: 3},
		&db.Field{Name: "publishedAt", Type: db.FieldDate},
		&db.Field{Name: "author", Type: db.FieldRelation, Collection: "c_users", MaxSelect: 1},
		&db.Field{Name: "tags", Type: db.FieldRelation, Collection: "c_tags", MaxSelect: 10},
		&db.Field{Name: "cover", Type: db.FieldFile, MaxSelect: 1},
		&db.Field{Name: "attachments", Type: db.FieldFile, MaxSelect: 5},
		&db.Field{Name: "location", Type: db.FieldGeoPoint},
		&db.Field{Name: "meta", Type: db.FieldJSON},
		&db.Field{Name: "website", Type: db.FieldURL},
		&db.Field{Name: "secret", Type: db.FieldText, Hidden: true},
	)
	categories := coll("c_categories", "categories", db.TypeBase,
		&db.Field{Name: "name", Type: db.FieldText},
		&db.Field{Name: "parent", Type: db.FieldRelation, Collection: "c_categories", MaxSelect: 1},
	)
	news := coll("c_news", "news", db.TypeBase,
		&db.Field{Name: "headline", Type: db.FieldText},
	)
	blog := coll("c_blog", "blog_posts", db.TypeBase,
		&db.Field{Name: "title", Type: db.FieldText},
	)
	super := coll("c_super", "_superusers", db.TypeAuth)
	return []*db.Collection{super, users, tags, posts, categories, news, blog}
}
